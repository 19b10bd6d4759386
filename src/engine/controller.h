// The controller: starts the workers, ends the run (duration, budget, Ctrl-C), merges the
// workers' samples every tick into totals, a per-second timeline and a live window.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "engine/thresholds.h"
#include "engine/worker_config.h"
#include "load/load_plan.h"
#include "metrics/shard.h"
#include "metrics/snapshot.h"

namespace spiker::engine {

// Workers sharing one load plan.
struct LoadGroup {
  WorkerConfig worker;
  load::LoadPlan plan;
};

struct RunConfig {
  WorkerConfig worker;
  load::LoadPlan plan;
  // Set: these run side by side instead of worker + plan (journeys whose scenarios have their
  // own executors). The first one's warmup applies to the run.
  std::vector<LoadGroup> groups;
  // Evaluated every tick; one with abort_on_fail that fails stops the run (results are kept).
  std::vector<ScopedThreshold> thresholds;
  int threads = 1;
  int64_t tick_ns = 250'000'000;
  std::vector<std::shared_ptr<const TlsContext>> tls;  // the origins' contexts, kept alive
};

struct RunResult {
  metrics::Shard totals;
  std::vector<metrics::TimelinePoint> timeline;
  double elapsed_s = 0;   // start to the last worker's end (in-flight drain included)
  double measured_s = 0;  // elapsed_s less the warmup: what rates are computed over
  int64_t started_unix_ms = 0;
  int64_t ended_unix_ms = 0;
  bool interrupted = false;  // stopped by Ctrl-C
  int aborted_by = -1;       // index of the threshold whose abort_on_fail stopped the run
  int threads = 0;
  uint64_t vus_max = 0;  // the most VUs the run may have had (LiveState::vus_max)
};

// Runs the load. `on_tick` is called from this thread every tick and once at the end.
RunResult run_load(const RunConfig& config,
                   const std::function<void(const metrics::LiveState&)>& on_tick);

// Installs SIGINT/SIGTERM handlers: the first asks the run to stop gracefully (in-flight
// requests finish), the second aborts it. Results are still reported in both cases.
void install_stop_signals();

}  // namespace spiker::engine
