#include "engine/thresholds.h"

namespace spiker::engine {
namespace {

bool all(uint64_t mask) { return mask == ~uint64_t{0}; }

double ratio(uint64_t a, uint64_t b) {
  return b == 0 ? 0 : static_cast<double>(a) / static_cast<double>(b);
}

}  // namespace

double threshold_actual(const ScopedThreshold& s, const metrics::Shard& t, double seconds) {
  using M = plan::Threshold::Metric;
  using S = plan::Threshold::Stat;
  const plan::Threshold& th = s.t;
  uint64_t requests = 0, failed = 0;
  if (all(s.mask)) {
    requests = t.requests;
    failed = t.failed;
  } else {
    for (size_t i = 0; i < 64; ++i) {
      if (!(s.mask >> i & 1)) continue;
      requests += t.scenario_requests[i];
      failed += t.step_failed[i];
    }
  }
  switch (th.metric) {
    case M::kDuration: {
      metrics::Histogram merged;
      const metrics::Histogram* h = &t.latency_us;
      if (!all(s.mask)) {
        for (size_t i = 0; i < t.step_latency_us.size(); ++i) {
          if ((s.mask >> i & 1) && t.step_latency_us[i].total_count() > 0) {
            merged.merge(t.step_latency_us[i]);
          }
        }
        h = &merged;
      }
      double us = 0;
      switch (th.stat) {
        case S::kPercentile:
          us = static_cast<double>(h->value_at_percentile(th.percentile));
          break;
        case S::kMed:
          us = static_cast<double>(h->value_at_percentile(50));
          break;
        case S::kAvg:
          us = h->mean();
          break;
        case S::kMin:
          us = static_cast<double>(h->min());
          break;
        case S::kMax:
          us = static_cast<double>(h->max());
          break;
        default:
          break;
      }
      return us / 1000.0;  // ms
    }
    case M::kFailed:
      return ratio(failed, requests);
    case M::kRequests:
      return th.stat == S::kCount ? static_cast<double>(requests)
                                  : (seconds > 0 ? static_cast<double>(requests) / seconds : 0);
    case M::kChecks: {
      uint64_t passed = 0, total = 0;
      for (size_t i = 0; i < t.check_total.size(); ++i) {
        passed += t.check_passed[i];
        total += t.check_total[i];
      }
      return total == 0 ? 1.0 : ratio(passed, total);
    }
    case M::kIterations: {
      uint64_t n = t.iterations > 0 ? t.iterations : t.requests;
      return th.stat == S::kCount ? static_cast<double>(n)
                                  : (seconds > 0 ? static_cast<double>(n) / seconds : 0);
    }
  }
  return 0;
}

std::vector<ThresholdResult> evaluate_thresholds(const std::vector<ScopedThreshold>& list,
                                                 const metrics::Shard& totals, double seconds) {
  std::vector<ThresholdResult> out;
  for (const ScopedThreshold& s : list) {
    ThresholdResult r;
    r.metric = s.t.metric_text;
    r.condition = s.t.condition_text;
    r.unit = std::string(s.t.unit());
    r.actual = threshold_actual(s, totals, seconds);
    r.passed = s.t.holds(r.actual);
    out.push_back(r);
  }
  return out;
}

}  // namespace spiker::engine
