#include "metrics/histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

namespace spiker::metrics {
namespace {

// The value HdrHistogram defines for percentile p over `sorted`: the value at rank
// ceil(p/100 * n), reported as the highest value equivalent to it.
int64_t brute_force(const std::vector<int64_t>& sorted, double p) {
  auto n = static_cast<double>(sorted.size());
  auto rank = static_cast<size_t>(std::max(1.0, std::ceil(p / 100.0 * n - 1e-9)));
  return sorted[rank - 1];
}

TEST(Histogram, LayoutMatchesHdrHistogram) {
  Histogram h;  // 1..3.6e9, 3 digits: 2048 sub-buckets, 22 buckets
  EXPECT_EQ(h.counts_length(), (22 + 1) * 1024);
  EXPECT_EQ(h.lowest_equivalent(2047), 2047);
  EXPECT_EQ(h.highest_equivalent(2048), 2049);
  EXPECT_EQ(h.size_of_equivalent_range(10'000), 8);
  EXPECT_EQ(h.value_at_index(h.index_of(123'456)), h.lowest_equivalent(123'456));
}

TEST(Histogram, PercentilesMatchSortedArrayWithinPrecision) {
  std::mt19937_64 rng(42);
  for (int round = 0; round < 20; ++round) {
    Histogram h;
    std::vector<int64_t> values;
    size_t n = 1 + rng() % 20'000;
    std::lognormal_distribution<double> dist(6 + round % 8, 1.5);
    for (size_t i = 0; i < n; ++i) {
      auto v = static_cast<int64_t>(std::min(dist(rng), 3.5e9));
      values.push_back(v);
      h.record(v);
    }
    std::sort(values.begin(), values.end());
    ASSERT_EQ(h.total_count(), static_cast<int64_t>(n));
    EXPECT_EQ(h.min(), h.lowest_equivalent(values.front()));
    EXPECT_EQ(h.max(), h.highest_equivalent(values.back()));
    for (double p : {0.0, 1.0, 25.0, 50.0, 75.0, 90.0, 95.0, 99.0, 99.9, 99.99, 100.0}) {
      int64_t exact = brute_force(values, p);
      int64_t got = h.value_at_percentile(p);
      // Same equivalence bucket as the exact value; off by no more than 1 part in 10^3.
      EXPECT_EQ(h.lowest_equivalent(got), h.lowest_equivalent(exact)) << "p" << p << " n=" << n;
      EXPECT_LE(std::abs(got - exact), std::max<int64_t>(1, exact / 1000)) << "p" << p;
    }
    double sum = 0;
    for (int64_t v : values) sum += static_cast<double>(v);
    EXPECT_NEAR(h.mean(), sum / static_cast<double>(n), sum / static_cast<double>(n) / 1000 + 1);
  }
}

TEST(Histogram, MergeEqualsRecordingEverythingInOne) {
  std::mt19937_64 rng(7);
  Histogram a, b, all;
  for (int i = 0; i < 50'000; ++i) {
    int64_t v = static_cast<int64_t>(rng() % 5'000'000);
    (i % 3 ? a : b).record(v);
    all.record(v);
  }
  a.merge(b);
  EXPECT_EQ(a.total_count(), all.total_count());
  EXPECT_EQ(a.min(), all.min());
  EXPECT_EQ(a.max(), all.max());
  for (int32_t i = 0; i < all.counts_length(); ++i)
    ASSERT_EQ(a.count_at_index(i), all.count_at_index(i));
  EXPECT_DOUBLE_EQ(a.mean(), all.mean());
}

TEST(Histogram, ClampsAndResets) {
  Histogram h;
  h.record(-5);
  h.record(Histogram::kDefaultHighest * 2);
  EXPECT_EQ(h.total_count(), 2);
  EXPECT_EQ(h.max(), h.highest_equivalent(Histogram::kDefaultHighest));
  h.reset();
  EXPECT_EQ(h.total_count(), 0);
  EXPECT_EQ(h.value_at_percentile(99), 0);
  EXPECT_EQ(h.min(), 0);
}

TEST(Histogram, KnownSmallDistribution) {
  Histogram h;
  for (int v = 1; v <= 100; ++v) h.record(v);
  EXPECT_EQ(h.value_at_percentile(50), 50);
  EXPECT_EQ(h.value_at_percentile(99), 99);
  EXPECT_EQ(h.value_at_percentile(100), 100);
  EXPECT_DOUBLE_EQ(h.mean(), 50.5);
  EXPECT_NEAR(h.stddev(), 28.866, 0.001);
}

// The top bucket of a histogram that reaches INT64_MAX: its highest equivalent value is
// INT64_MAX itself, computed without overflow (UBSan checks this in the sanitizer build).
TEST(Histogram, TopBucketDoesNotOverflow) {
  Histogram h(1, INT64_MAX, 3);
  h.record(INT64_MAX - 1);
  EXPECT_EQ(h.max(), INT64_MAX);
  EXPECT_GT(h.mean(), 0);
}

}  // namespace
}  // namespace spiker::metrics
