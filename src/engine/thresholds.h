// Threshold evaluation on aggregated metrics: live (abort_on_fail) and at the end of a run.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "metrics/shard.h"
#include "plan/threshold.h"

namespace spiker::engine {

using plan::ScopedThreshold;

struct ThresholdResult {
  std::string metric, condition;
  double actual = 0;
  std::string unit;  // of `actual`: "ms", "rate", "/s", "count"
  bool passed = true;
  bool aborted_run = false;  // it failed live and, with abort_on_fail, stopped the run
};

// The metric's current value over `totals`; `seconds` is the measured time (for rates).
double threshold_actual(const ScopedThreshold& s, const metrics::Shard& totals, double seconds);

std::vector<ThresholdResult> evaluate_thresholds(const std::vector<ScopedThreshold>& all,
                                                 const metrics::Shard& totals, double seconds);

}  // namespace spiker::engine
