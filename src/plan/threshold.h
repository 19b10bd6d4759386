// Thresholds: pass/fail criteria on the run's aggregates, in Kaioken's keys
// (p95_latency_ms = "< 300", error_rate = "< 0.01", documented p95_latency = "< 300ms") and k6's
// expressions ("http_req_duration{scenario:checkout}" = ["p(95)<300"]). Parsed once; the engine
// evaluates them live (abort_on_fail) and at the end.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace spiker::plan {

struct Threshold {
  enum class Metric : uint8_t {
    kDuration,    // request latency (service time), ms
    kFailed,      // requests that failed (status >= 400 or transport error): rate
    kRequests,    // requests: count or rate (per second)
    kChecks,      // checks that passed: rate
    kIterations,  // iterations: count or rate
  };
  enum class Stat : uint8_t { kPercentile, kAvg, kMin, kMax, kMed, kRate, kCount };
  enum class Op : uint8_t { kLt, kLe, kGt, kGe, kEq, kNe };

  std::string metric_text;     // as written, for reports: "p95_latency_ms", "http_req_duration"
  std::string condition_text;  // as written: "< 300", "p(95)<300"
  Metric metric = Metric::kDuration;
  Stat stat = Stat::kPercentile;
  double percentile = 95;
  Op op = Op::kLt;
  double value = 0;                // in the metric's unit (ms for durations, 0..1 for rates)
  std::string tag_key, tag_value;  // {scenario:checkout}: only those requests
  bool abort_on_fail = false;
  int64_t delay_abort_ns = 0;  // abort only after this much of the run

  bool holds(double actual) const;
  // The unit of the value compared: "ms", "rate" (0..1), "/s" or "count".
  std::string_view unit() const;
  // "p(95) < 300" style text of the condition, in k6's words.
  std::string describe() const;
};

// Kaioken's key = "op value" (strict, or documented with a unit: "< 300ms", "< 1%").
// Throws SetupError naming `where` with what is accepted.
Threshold parse_kaioken_threshold(std::string_view key, std::string_view value,
                                  std::string_view where);
// k6's metric{tag:value} and one expression such as "p(95)<300", "avg<200", "rate<0.01",
// "count>100". Throws SetupError.
Threshold parse_k6_threshold(std::string_view metric, std::string_view expression,
                             std::string_view where);

// A threshold with the requests it looks at: a mask of variant or step indices (all bits: every
// request, read from the run's totals).
struct ScopedThreshold {
  Threshold t;
  uint64_t mask = ~uint64_t{0};
};

}  // namespace spiker::plan
