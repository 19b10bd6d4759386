// An HDR histogram (after Gil Tene's HdrHistogram): values from 1 to a highest trackable value
// with a fixed number of significant decimal digits, constant-time record, lossless merge.
//
// Semantics follow HdrHistogram exactly (bucket layout, value_at_percentile, equivalent value
// ranges), so that its V2 encoding (histogram_codec.h) is readable by HdrHistogram tools.
#pragma once

#include <cstdint>
#include <utility>

#include "metrics/zeroed_counts.h"

namespace spiker::metrics {

class Histogram {
 public:
  // Latencies in microseconds: 1 µs to 1 hour, 3 significant digits.
  static constexpr int64_t kDefaultHighest = 3'600'000'000;
  static constexpr int kDefaultDigits = 3;

  Histogram() : Histogram(1, kDefaultHighest, kDefaultDigits) {}
  // `lowest` >= 1, `highest` >= 2 * lowest, `significant_digits` in 1..5.
  Histogram(int64_t lowest, int64_t highest, int significant_digits);

  // Records `value` (clamped to [0, highest]); never allocates.
  void record(int64_t value) noexcept { record_n(value, 1); }
  void record_n(int64_t value, int64_t count) noexcept;
  // Adds all of `other`'s counts (same layout required; values re-recorded otherwise).
  void merge(const Histogram& other);
  void reset() noexcept;

  int64_t total_count() const noexcept { return total_count_; }
  // As HdrHistogram reports them: the lowest value equivalent to the smallest recorded value and
  // the highest equivalent to the largest (so every percentile lies between them); 0 when empty.
  int64_t min() const noexcept;
  int64_t max() const noexcept;
  double mean() const noexcept;
  double stddev() const noexcept;
  // HdrHistogram's getValueAtPercentile: the highest value equivalent to the value at rank
  // ceil(p/100 * count) (the lowest equivalent for p == 0).
  int64_t value_at_percentile(double percentile) const noexcept;

  int64_t lowest_equivalent(int64_t value) const noexcept;
  int64_t highest_equivalent(int64_t value) const noexcept;
  int64_t size_of_equivalent_range(int64_t value) const noexcept;
  int64_t median_equivalent(int64_t value) const noexcept;

  // Layout, for the codec.
  int64_t lowest_trackable() const noexcept { return lowest_; }
  int64_t highest_trackable() const noexcept { return highest_; }
  int significant_digits() const noexcept { return digits_; }
  int32_t counts_length() const noexcept { return static_cast<int32_t>(counts_.size()); }
  int64_t count_at_index(int32_t i) const noexcept { return counts_[i]; }
  int64_t value_at_index(int32_t i) const noexcept;
  int32_t index_of(int64_t value) const noexcept;
  // Sets a count directly (decoder); keeps totals, min and max true.
  void add_at_index(int32_t i, int64_t count) noexcept;

 private:
  int32_t bucket_index(int64_t value) const noexcept;
  // The first and last count index that may be non-zero ({0, -1} when empty).
  std::pair<int32_t, int32_t> used_range() const noexcept;

  int64_t lowest_, highest_;
  int digits_;
  int32_t unit_magnitude_;
  int32_t sub_bucket_half_count_magnitude_;
  int32_t sub_bucket_count_;
  int32_t sub_bucket_half_count_;
  int64_t sub_bucket_mask_;
  int32_t bucket_count_;
  int64_t total_count_ = 0;
  int64_t min_ = INT64_MAX;
  int64_t max_ = 0;
  ZeroedCounts counts_;
};

}  // namespace spiker::metrics
