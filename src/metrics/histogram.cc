#include "metrics/histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <stdexcept>

namespace spiker::metrics {

Histogram::Histogram(int64_t lowest, int64_t highest, int significant_digits)
    : lowest_(lowest), highest_(highest), digits_(significant_digits) {
  if (lowest < 1 || highest / 2 < lowest || significant_digits < 1 || significant_digits > 5) {
    throw std::invalid_argument("histogram: bad range or precision");
  }
  int64_t single_unit_resolution = 2 * static_cast<int64_t>(std::pow(10, significant_digits));
  int32_t sub_bucket_count_magnitude =
      static_cast<int32_t>(std::ceil(std::log2(static_cast<double>(single_unit_resolution))));
  sub_bucket_half_count_magnitude_ = std::max(sub_bucket_count_magnitude, 1) - 1;
  unit_magnitude_ = static_cast<int32_t>(std::floor(std::log2(static_cast<double>(lowest))));
  if (unit_magnitude_ + sub_bucket_half_count_magnitude_ > 61) {  // its buckets would not fit
    throw std::invalid_argument("histogram: lowest value too large for the precision");
  }
  sub_bucket_count_ = 1 << (sub_bucket_half_count_magnitude_ + 1);
  sub_bucket_half_count_ = sub_bucket_count_ / 2;
  sub_bucket_mask_ = (int64_t{sub_bucket_count_} - 1) << unit_magnitude_;
  int64_t smallest_untrackable = int64_t{sub_bucket_count_} << unit_magnitude_;
  int32_t buckets = 1;
  while (smallest_untrackable <= highest) {
    if (smallest_untrackable > INT64_MAX / 2) {
      ++buckets;
      break;
    }
    smallest_untrackable <<= 1;
    ++buckets;
  }
  bucket_count_ = buckets;
  counts_ = ZeroedCounts(static_cast<size_t>((bucket_count_ + 1) * sub_bucket_half_count_));
}

int32_t Histogram::bucket_index(int64_t value) const noexcept {
  int32_t pow2ceiling = 64 - std::countl_zero(static_cast<uint64_t>(value | sub_bucket_mask_));
  return pow2ceiling - unit_magnitude_ - (sub_bucket_half_count_magnitude_ + 1);
}

int32_t Histogram::index_of(int64_t value) const noexcept {
  int32_t b = bucket_index(value);
  int32_t sub = static_cast<int32_t>(value >> (b + unit_magnitude_));
  int32_t base = (b + 1) << sub_bucket_half_count_magnitude_;
  return base + (sub - sub_bucket_half_count_);
}

int64_t Histogram::value_at_index(int32_t index) const noexcept {
  int32_t b = (index >> sub_bucket_half_count_magnitude_) - 1;
  int32_t sub = (index & (sub_bucket_half_count_ - 1)) + sub_bucket_half_count_;
  if (b < 0) {
    sub -= sub_bucket_half_count_;
    b = 0;
  }
  return int64_t{sub} << (b + unit_magnitude_);
}

void Histogram::record_n(int64_t value, int64_t count) noexcept {
  value = std::clamp<int64_t>(value, 0, highest_);
  counts_[static_cast<size_t>(index_of(value))] += count;
  total_count_ += count;
  min_ = std::min(min_, value);
  max_ = std::max(max_, value);
}

void Histogram::add_at_index(int32_t i, int64_t count) noexcept {
  if (count == 0) return;
  counts_[static_cast<size_t>(i)] += count;
  total_count_ += count;
  int64_t v = value_at_index(i);
  min_ = std::min(min_, v == 0 ? 0 : lowest_equivalent(v));
  max_ = std::max(max_, highest_equivalent(v));
}

void Histogram::merge(const Histogram& other) {
  if (other.total_count_ == 0) return;
  if (other.counts_.size() == counts_.size() && other.unit_magnitude_ == unit_magnitude_ &&
      other.sub_bucket_count_ == sub_bucket_count_) {
    // Only the indexes between other's smallest and largest value can hold counts.
    auto [from, to] = other.used_range();
    for (int32_t i = from; i <= to; ++i) counts_[i] += other.counts_[i];
    total_count_ += other.total_count_;
  } else {
    for (int32_t i = 0; i < other.counts_length(); ++i) {
      if (other.counts_[i] != 0) record_n(other.value_at_index(i), other.counts_[i]);
    }
  }
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
}

std::pair<int32_t, int32_t> Histogram::used_range() const noexcept {
  if (total_count_ == 0) return {0, -1};
  return {index_of(min_), index_of(max_)};
}

void Histogram::reset() noexcept {
  auto [from, to] = used_range();
  if (to >= from) std::fill(counts_.begin() + from, counts_.begin() + to + 1, int64_t{0});
  total_count_ = 0;
  min_ = INT64_MAX;
  max_ = 0;
}

int64_t Histogram::min() const noexcept {
  return total_count_ == 0 || min_ == 0 ? 0 : lowest_equivalent(min_);
}
int64_t Histogram::max() const noexcept {
  return total_count_ == 0 || max_ == 0 ? 0 : highest_equivalent(max_);
}

int64_t Histogram::size_of_equivalent_range(int64_t value) const noexcept {
  int32_t b = bucket_index(value);
  int32_t sub = static_cast<int32_t>(value >> (b + unit_magnitude_));
  int32_t adjusted = sub >= sub_bucket_count_ ? b + 1 : b;
  return int64_t{1} << (unit_magnitude_ + adjusted);
}

int64_t Histogram::lowest_equivalent(int64_t value) const noexcept {
  int32_t b = bucket_index(value);
  int32_t sub = static_cast<int32_t>(value >> (b + unit_magnitude_));
  return int64_t{sub} << (b + unit_magnitude_);
}

int64_t Histogram::highest_equivalent(int64_t value) const noexcept {
  return lowest_equivalent(value) +
         (size_of_equivalent_range(value) - 1);  // no overflow at the top
}

int64_t Histogram::median_equivalent(int64_t value) const noexcept {
  return lowest_equivalent(value) + (size_of_equivalent_range(value) >> 1);
}

double Histogram::mean() const noexcept {
  if (total_count_ == 0) return 0;
  double sum = 0;
  auto [from, to] = used_range();
  for (int32_t i = from; i <= to; ++i) {
    if (counts_[i] != 0)
      sum += static_cast<double>(median_equivalent(value_at_index(i))) *
             static_cast<double>(counts_[i]);
  }
  return sum / static_cast<double>(total_count_);
}

double Histogram::stddev() const noexcept {
  if (total_count_ == 0) return 0;
  double m = mean();
  double sq = 0;
  auto [from, to] = used_range();
  for (int32_t i = from; i <= to; ++i) {
    if (counts_[i] != 0) {
      double d = static_cast<double>(median_equivalent(value_at_index(i))) - m;
      sq += d * d * static_cast<double>(counts_[i]);
    }
  }
  return std::sqrt(sq / static_cast<double>(total_count_));
}

int64_t Histogram::value_at_percentile(double percentile) const noexcept {
  if (total_count_ == 0) return 0;
  // One ulp below the request, as HdrHistogram does, so that round-off in p/100 * count never
  // overruns into the next rank.
  double p = std::clamp(std::nextafter(percentile, -1.0), 0.0, 100.0);
  auto rank = static_cast<int64_t>(std::ceil(p / 100.0 * static_cast<double>(total_count_)));
  rank = std::max<int64_t>(rank, 1);
  int64_t seen = 0;
  auto [from, to] = used_range();
  for (int32_t i = from; i <= to; ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      int64_t v = value_at_index(i);
      return percentile == 0.0 ? lowest_equivalent(v) : highest_equivalent(v);
    }
  }
  return 0;
}

}  // namespace spiker::metrics
