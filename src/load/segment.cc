#include "load/segment.h"

#include <fmt/format.h>

#include <algorithm>
#include <numeric>

#include "core/error.h"

namespace spiker::load {
namespace {

constexpr uint64_t kMaxPeriod = 1'000'000;

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t at = 0;
  for (;;) {
    size_t next = s.find(sep, at);
    out.push_back(s.substr(at, next == std::string_view::npos ? next : next - at));
    if (next == std::string_view::npos) return out;
    at = next + 1;
  }
}

}  // namespace

Stripe::Stripe(std::vector<Rational> points, size_t index)
    : from_(points.at(index)), to_(points.at(index + 1)) {
  uint64_t lcd = 1;
  for (const Rational& p : points) {
    lcd = std::lcm(lcd, static_cast<uint64_t>(p.den));
    if (lcd > kMaxPeriod) {
      throw SetupError(
          "--segment-sequence: denominators too large (their least common multiple "
          "must stay under 1,000,000)");
    }
  }
  period_ = lcd;
  size_t n = points.size() - 1;
  std::vector<int64_t> weight(n), current(n, 0);
  for (size_t i = 0; i < n; ++i) {
    weight[i] = (points[i + 1].num * static_cast<int64_t>(lcd) / points[i + 1].den) -
                (points[i].num * static_cast<int64_t>(lcd) / points[i].den);
  }
  for (uint64_t pos = 0; pos < period_; ++pos) {  // smooth weighted round robin
    size_t best = 0;
    for (size_t i = 0; i < n; ++i) {
      current[i] += weight[i];
      if (current[i] > current[best]) best = i;
    }
    current[best] -= static_cast<int64_t>(lcd);
    if (best == index) owned_.push_back(static_cast<uint32_t>(pos));
  }
}

Stripe Stripe::parse(std::string_view segment, std::string_view sequence) {
  if (segment.empty()) {
    if (!sequence.empty()) throw SetupError("--segment-sequence needs --segment");
    return Stripe();
  }
  auto ends = split(segment, ':');
  if (ends.size() != 2) {
    throw SetupError(fmt::format(
        "--segment: '{}' is not a segment; write FROM:TO, e.g. 0:1/3 or 1/3:2/3", segment));
  }
  Rational from = parse_rational(ends[0], "--segment");
  Rational to = parse_rational(ends[1], "--segment");
  if (!(from < to)) throw SetupError(fmt::format("--segment: '{}' is empty or reversed", segment));
  std::vector<Rational> points;
  if (sequence.empty()) {
    if (!(from == Rational{0, 1})) points.push_back({0, 1});
    points.push_back(from);
    points.push_back(to);
    if (!(to == Rational{1, 1})) points.push_back({1, 1});
  } else {
    for (std::string_view p : split(sequence, ',')) {
      points.push_back(parse_rational(p, "--segment-sequence"));
    }
    if (!(points.front() == Rational{0, 1}) || !(points.back() == Rational{1, 1})) {
      throw SetupError("--segment-sequence: must start at 0 and end at 1, e.g. 0,1/3,2/3,1");
    }
  }
  for (size_t i = 1; i < points.size(); ++i) {
    if (!(points[i - 1] < points[i])) {
      throw SetupError("--segment-sequence: points must increase, e.g. 0,1/3,2/3,1");
    }
  }
  auto it = std::find(points.begin(), points.end(), from);
  if (it == points.end() || it + 1 == points.end() || !(*(it + 1) == to)) {
    throw SetupError(
        fmt::format("--segment {} is not one of the segments of the sequence", segment));
  }
  return Stripe(points, static_cast<size_t>(it - points.begin()));
}

bool Stripe::owns(uint64_t k) const {
  return std::binary_search(owned_.begin(), owned_.end(), static_cast<uint32_t>(k % period_));
}

uint64_t Stripe::count_below(uint64_t n) const {
  uint64_t blocks = n / period_;
  auto rest = static_cast<uint32_t>(n % period_);
  auto partial =
      static_cast<uint64_t>(std::lower_bound(owned_.begin(), owned_.end(), rest) - owned_.begin());
  return blocks * owned_.size() + partial;
}

uint64_t Stripe::global_index(uint64_t j) const {
  uint64_t w = owned_.size();
  return (j / w) * period_ + owned_[j % w];
}

}  // namespace spiker::load
