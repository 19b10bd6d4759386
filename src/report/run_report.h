// Everything an end-of-run output needs: what was run and what was measured.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "metrics/shard.h"
#include "metrics/snapshot.h"

namespace spiker::report {

// A Kaioken scenario as reported (its requests are counted in Shard::scenario_requests).
struct ScenarioInfo {
  std::string name, url, method;
  std::string scenario;  // journeys: the scenario the step belongs to
  uint32_t weight = 1;
  std::vector<std::pair<std::string, std::string>> tags;  // array-form tags have empty values
  std::string protocol;  // http/1.1, h2c, h2, ws or wss (empty: the run's)
};

struct RunInfo {
  std::string title;  // the run in one line (plan::RunDescription::title)
  std::string url;
  std::string method = "GET";
  std::vector<std::pair<std::string, std::string>> headers;  // as given; redacted on output
  int concurrency = 0;
  int threads = 0;
  int pipeline = 1;
  std::string protocol = "http/1.1";  // of the first origin: http/1.1, h2c or h2
  int max_streams = 1;
  bool websocket = false;  // ws:// or wss://: messages, not requests
  // Facts of the run for a protocol's stat block section, by block name ("websocket": mode,
  // message_interval_ms; "http2": protocol, max_streams). A block with facts has its section
  // even when it counted nothing.
  std::map<std::string, std::vector<std::pair<std::string, std::string>>> block_facts;
  double rate = 0;  // requests/s cap; 0 = unlimited
  double ramp_up_secs = 0;
  double warmup_secs = 0;
  int64_t timeout_ms = 0;
  int64_t connect_timeout_ms = 0;
  double duration_secs = 0;   // as asked, warmup excluded; 0 = bounded by count
  uint64_t max_requests = 0;  // shared iterations (-n, --iterations); 0 = none
  std::string executor = "constant-vus";
  bool open_model = false;
  uint64_t max_vus = 0;
  double arrival_rate = 0;          // --arrival-rate as given (0: ramping or closed)
  uint64_t target_iterations = 0;   // open: arrivals this instance was due to start
  bool has_intended_times = false;  // corrected latency and queue time were recorded
  std::string think_time;
  std::vector<std::string> stages;
  std::string segment;                  // empty: the whole test
  std::vector<ScenarioInfo> scenarios;  // empty: one URL; journeys: one per step, by step id
  bool journeys = false;                // scenarios are steps of journeys
  // Journey scenarios with their own executor: name, executor, the load in words.
  struct ScenarioLoad {
    std::string scenario, executor, shape;
  };
  std::vector<ScenarioLoad> scenario_loads;
  std::vector<std::string> check_names;  // by check id (Shard::check_passed/check_total)
};

// A threshold's verdict.
struct ThresholdOutcome {
  std::string metric, condition;
  double actual = 0;
  std::string unit;  // of `actual`: "ms", "rate", "/s", "count"
  bool passed = true;
  bool aborted_run = false;  // abort_on_fail: it stopped the run when it failed
};

struct RunReport {
  RunInfo info;
  std::vector<ThresholdOutcome> thresholds;
  const metrics::Shard* totals = nullptr;
  const std::vector<metrics::TimelinePoint>* timeline = nullptr;
  double elapsed_s = 0;
  double measured_s = 0;  // elapsed less the warmup
  int64_t started_unix_ms = 0;
  int64_t ended_unix_ms = 0;
  bool interrupted = false;

  bool thresholds_passed() const {
    for (const ThresholdOutcome& t : thresholds) {
      if (!t.passed) return false;
    }
    return true;
  }
  double error_rate() const {
    return totals->requests == 0
               ? 0
               : static_cast<double>(totals->failed) / static_cast<double>(totals->requests);
  }
  double rps() const {
    return measured_s > 0 ? static_cast<double>(totals->requests) / measured_s : 0;
  }
};

}  // namespace spiker::report
