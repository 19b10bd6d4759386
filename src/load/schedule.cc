#include "load/schedule.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <string>

#include "core/duration.h"
#include "core/error.h"

namespace spiker::load {

Stage parse_stage(std::string_view text, bool* is_rate) {
  size_t colon = text.rfind(':');
  auto bad = [&] {
    return SetupError(fmt::format(
        "--stage: '{}' is not a stage; write DURATION:VUS (e.g. 30s:100) or DURATION:RATE/s "
        "(e.g. 1m:500/s)",
        text));
  };
  if (colon == std::string_view::npos) throw bad();
  Stage s;
  s.duration_ns = parse_duration(text.substr(0, colon), "--stage").count();
  std::string_view target = text.substr(colon + 1);
  *is_rate = target.ends_with("/s");
  if (*is_rate) target.remove_suffix(2);
  auto [p, ec] = std::from_chars(target.data(), target.data() + target.size(), s.target);
  if (target.empty() || ec != std::errc() || p != target.data() + target.size() || s.target < 0 ||
      !std::isfinite(s.target) || s.duration_ns <= 0) {
    throw bad();
  }
  return s;
}

StageCurve::StageCurve(double start, std::vector<Stage> stages)
    : start_(start), stages_(std::move(stages)) {
  for (const Stage& s : stages_) total_ns_ += s.duration_ns;
}

double StageCurve::value_at(int64_t t_ns) const {
  double from = start_;
  for (const Stage& s : stages_) {
    if (t_ns < s.duration_ns) {
      return from +
             (s.target - from) * static_cast<double>(t_ns) / static_cast<double>(s.duration_ns);
    }
    t_ns -= s.duration_ns;
    from = s.target;
  }
  return from;
}

double StageCurve::peak() const {
  double p = start_;
  for (const Stage& s : stages_) p = std::max(p, s.target);
  return p;
}

VuSchedule VuSchedule::constant(uint64_t vus, int64_t duration_ns) {
  return VuSchedule(
      StageCurve(static_cast<double>(vus), {{duration_ns, static_cast<double>(vus)}}));
}

uint64_t VuSchedule::vus_at(int64_t t_ns) const {
  return static_cast<uint64_t>(std::floor(curve_.value_at(t_ns) + 1e-9));
}

uint64_t VuSchedule::max_vus() const {
  return static_cast<uint64_t>(std::floor(curve_.peak() + 1e-9));
}

bool VuSchedule::ramping() const {
  for (const Stage& s : curve_.stages()) {
    if (s.target != curve_.start()) return true;
  }
  return false;
}

ArrivalSchedule ArrivalSchedule::constant(double rate, int64_t duration_ns) {
  return ArrivalSchedule(StageCurve(rate, {{duration_ns, rate}}));
}

ArrivalSchedule::ArrivalSchedule(StageCurve rate_curve) : curve_(std::move(rate_curve)) {
  double sum = 0, from = curve_.start();
  for (const Stage& s : curve_.stages()) {
    before_.push_back(sum);
    sum += (from + s.target) / 2 * static_cast<double>(s.duration_ns) / 1e9;
    from = s.target;
  }
  before_.push_back(sum);
  // Arrivals k with k < N(end); an integral that lands on a whole number excludes that one.
  total_ = static_cast<uint64_t>(std::max(0.0, std::ceil(sum - 1e-9)));
}

ArrivalSchedule ArrivalSchedule::bursts(uint64_t size, int64_t period_ns, int64_t duration_ns) {
  double rate = static_cast<double>(size) * 1e9 / static_cast<double>(period_ns);
  ArrivalSchedule s(StageCurve(rate, {{duration_ns, rate}}));
  s.burst_size_ = size;
  s.burst_period_ns_ = period_ns;
  s.total_ = static_cast<uint64_t>((duration_ns + period_ns - 1) / period_ns) * size;
  return s;
}

int64_t ArrivalSchedule::time_of(uint64_t k) const {
  if (k >= total_) return -1;
  if (burst_size_ > 0) return static_cast<int64_t>(k / burst_size_) * burst_period_ns_;
  auto m_total = static_cast<double>(k);
  double from = curve_.start();
  int64_t offset = 0;
  const auto& stages = curve_.stages();
  for (size_t i = 0; i < stages.size(); ++i) {
    const Stage& s = stages[i];
    if (m_total < before_[i + 1] || i + 1 == stages.size()) {
      double m = m_total - before_[i];  // arrivals into this stage
      double d = static_cast<double>(s.duration_ns) / 1e9;
      double a = (s.target - from) / (2 * d);  // N(tau) = a tau^2 + from tau
      double tau;
      if (m <= 0) {
        tau = 0;
      } else if (std::abs(a) < 1e-12) {
        tau = from > 0 ? m / from : 0;
      } else {
        double disc = std::max(0.0, from * from + 4 * a * m);
        tau = 2 * m / (from + std::sqrt(disc));  // the stable root of a tau^2 + from tau - m
      }
      return offset + std::min(s.duration_ns, static_cast<int64_t>(std::llround(tau * 1e9)));
    }
    offset += s.duration_ns;
    from = s.target;
  }
  return -1;
}

}  // namespace spiker::load
