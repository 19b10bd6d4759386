// The load model of a run as plain data: schedule x driver x stop condition. Built once from
// the command line (or a file), validated, then read by every worker.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "load/schedule.h"
#include "load/segment.h"
#include "plan/think_time.h"

namespace spiker::load {

enum class Model { kClosed, kOpen };

struct LoadPlan {
  // k6's executor name: constant-vus, ramping-vus, constant-arrival-rate, ramping-arrival-rate,
  // per-vu-iterations or shared-iterations.
  std::string executor = "constant-vus";
  Model model = Model::kClosed;
  std::optional<VuSchedule> vus;            // closed models: VUs over time
  std::optional<ArrivalSchedule> arrivals;  // open models: when each iteration starts
  int64_t pace_period_ns = 0;  // closed, -r: each VU starts an iteration this often (wrk2)
  double rate = 0;             // -r as given (requests/s for the whole test)
  // Open: the most VUs. All of them are allocated before the run (a VU is ~150 bytes: k6's
  // preAllocatedVUs = maxVUs); each opens its connection on first use.
  uint64_t max_vus = 0;
  uint64_t shared_iterations = 0;  // all VUs together stop after this many (0: no limit)
  uint64_t per_vu_iterations = 0;  // each VU stops after this many (0: no limit)
  int64_t duration_ns = 0;         // the schedule's length, warmup included (0: until done)
  int64_t warmup_ns = 0;           // metrics of this first part are discarded
  plan::ThinkTime think;
  Stripe stripe;                // this instance's execution segment
  bool correct_latency = true;  // record corrected latency and queue time when paced/open

  // True when requests have intended start times (open model or -r pacing).
  bool has_intended_times() const { return model == Model::kOpen || pace_period_ns > 0; }
};

}  // namespace spiker::load
