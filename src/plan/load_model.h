// The load model as a front end describes it (flags, a [load] table, a scenario's executor):
// plain data in the run plan. load::build_plan() compiles it into schedules and checks the
// combination.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace spiker::plan {

struct LoadModel {
  uint64_t concurrency = 50;              // -c: VUs of closed models
  std::optional<int64_t> duration_ns;     // -d (default 10s unless bounded by a count)
  uint64_t max_requests = 0;              // -n
  uint64_t iterations = 0;                // --iterations (shared by all VUs)
  uint64_t per_vu_iterations = 0;         // --per-vu-iterations
  double rate = 0;                        // -r: closed model paced to this total rate
  double arrival_rate = 0;                // --arrival-rate: open model
  uint64_t max_vus = 100;                 // --max-vus
  int64_t ramp_up_ns = 0;                 // --ramp-up
  int64_t warmup_ns = 0;                  // --warmup
  std::string think_time;                 // --think-time
  std::vector<std::string> stages;        // --stage
  bool latency_correction = true;         // --no-latency-correction turns it off
  std::string segment, segment_sequence;  // --segment, --segment-sequence
  int pipeline = 1;                       // --pipeline
  uint64_t burst_rate = 0;                // --burst-rate: requests started at once ...
  int64_t burst_delay_ns = 0;             // ... every --burst-delay (open model)
};

}  // namespace spiker::plan
