// Schedules: pure functions of time that say how many VUs should run (closed models) or when
// arrival k is due (open models). Tested in virtual time.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace spiker::load {

// A stage ramps linearly from the previous stage's target (or the start value) to `target`
// over `duration_ns`.
struct Stage {
  int64_t duration_ns = 0;
  double target = 0;  // VUs, or arrivals per second
};

// Parses --stage "30s:100" (VUs) or "30s:100/s" (arrival rate); `*is_rate` tells which.
Stage parse_stage(std::string_view text, bool* is_rate);

// A piecewise-linear curve through stages.
class StageCurve {
 public:
  StageCurve(double start, std::vector<Stage> stages);
  double value_at(int64_t t_ns) const;  // the last target after the end
  int64_t total_ns() const { return total_ns_; }
  double peak() const;
  const std::vector<Stage>& stages() const { return stages_; }
  double start() const { return start_; }

 private:
  double start_;
  std::vector<Stage> stages_;
  int64_t total_ns_ = 0;
};

// Closed models: how many VUs run at time t (floor of the curve).
class VuSchedule {
 public:
  explicit VuSchedule(StageCurve curve) : curve_(std::move(curve)) {}
  static VuSchedule constant(uint64_t vus, int64_t duration_ns);
  uint64_t vus_at(int64_t t_ns) const;
  uint64_t max_vus() const;
  int64_t total_ns() const { return curve_.total_ns(); }
  bool ramping() const;

 private:
  StageCurve curve_;
};

// Open models: arrival k (0-based) is due when the integral of the rate from 0 reaches k.
class ArrivalSchedule {
 public:
  explicit ArrivalSchedule(StageCurve rate_curve);
  static ArrivalSchedule constant(double rate, int64_t duration_ns);
  // Kaioken's burst mode: `size` arrivals at once every `period_ns`, from 0 to the end.
  static ArrivalSchedule bursts(uint64_t size, int64_t period_ns, int64_t duration_ns);
  // Nanoseconds since the schedule's start, or -1 when arrival k falls after the end.
  int64_t time_of(uint64_t k) const;
  // Arrivals due before the end.
  uint64_t total() const { return total_; }
  double peak_rate() const { return curve_.peak(); }
  int64_t total_ns() const { return curve_.total_ns(); }

 private:
  StageCurve curve_;
  std::vector<double> before_;  // arrivals due before each stage starts (the integral)
  uint64_t total_ = 0;
  uint64_t burst_size_ = 0;  // > 0: bursts instead of the curve
  int64_t burst_period_ns_ = 0;
};

}  // namespace spiker::load
