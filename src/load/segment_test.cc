#include "load/segment.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace spiker::load {
namespace {

std::vector<Stripe> tiles(const char* sequence, std::vector<const char*> segments) {
  std::vector<Stripe> out;
  for (const char* s : segments) out.push_back(Stripe::parse(s, sequence));
  return out;
}

void expect_exact_partition(const std::vector<Stripe>& parts) {
  for (uint64_t n = 0; n <= 5000; n += (n < 100 ? 1 : 37)) {
    uint64_t sum = 0;
    for (const Stripe& s : parts) sum += s.count_below(n);
    ASSERT_EQ(sum, n) << "n=" << n;
  }
  for (uint64_t k = 0; k < 1000; ++k) {
    int owners = 0;
    for (const Stripe& s : parts) owners += s.owns(k);
    ASSERT_EQ(owners, 1) << "k=" << k;
  }
  for (const Stripe& s : parts) {
    for (uint64_t j = 0; j < 300; ++j) {
      uint64_t k = s.global_index(j);
      ASSERT_TRUE(s.owns(k));
      ASSERT_EQ(s.count_below(k), j);
    }
  }
}

TEST(Stripe, ThirdsPartitionExactlyAndInterleave) {
  auto parts = tiles("0,1/3,2/3,1", {"0:1/3", "1/3:2/3", "2/3:1"});
  expect_exact_partition(parts);
  for (uint64_t k = 0; k < 30; ++k) EXPECT_TRUE(parts[k % 3].owns(k)) << k;
  EXPECT_EQ(parts[0].count_below(10), 4u);
  EXPECT_EQ(parts[1].count_below(10), 3u);
  EXPECT_EQ(parts[2].count_below(10), 3u);
}

TEST(Stripe, HalfQuarterQuarter) {
  auto parts = tiles("0,1/2,3/4,1", {"0:1/2", "1/2:3/4", "3/4:1"});
  expect_exact_partition(parts);
  // Pattern over each block of 4: half, quarter, quarter, half: no long runs of one segment.
  std::vector<int> owner;
  for (uint64_t k = 0; k < 8; ++k) {
    for (int i = 0; i < 3; ++i) {
      if (parts[i].owns(k)) owner.push_back(i);
    }
  }
  EXPECT_EQ(owner, (std::vector<int>{0, 1, 2, 0, 0, 1, 2, 0}));
  EXPECT_EQ(parts[0].count_below(1000), 500u);
  EXPECT_EQ(parts[1].count_below(1001), 250u);
}

TEST(Stripe, SegmentWithoutSequenceAndWhole) {
  Stripe whole;
  EXPECT_TRUE(whole.whole());
  EXPECT_EQ(whole.count_below(77), 77u);
  Stripe a = Stripe::parse("0:1/3", ""), b = Stripe::parse("1/3:1", "");
  EXPECT_EQ(a.count_below(900) + b.count_below(900), 900u);
  EXPECT_EQ(a.count_below(900), 300u);
  EXPECT_EQ(Stripe::parse("25%:0.75", "").count_below(100), 50u);
}

TEST(Stripe, RejectsBadSegments) {
  for (auto [seg, seq] : std::vector<std::pair<const char*, const char*>>{{"1/2", ""},
                                                                          {"2/3:1/3", ""},
                                                                          {"0:3/2", ""},
                                                                          {"a:b", ""},
                                                                          {"0:1/2", "0,1/3,1"},
                                                                          {"0:1/2", "0,1/2"},
                                                                          {"0:1/2", "0,2/3,1/2,1"},
                                                                          {"", "0,1"}}) {
    EXPECT_THROW(Stripe::parse(seg, seq), SetupError) << seg << " " << seq;
  }
}

TEST(WorkerShare, SplitsEvenly) {
  EXPECT_EQ(worker_share(10, 0, 3) + worker_share(10, 1, 3) + worker_share(10, 2, 3), 10u);
  EXPECT_EQ(worker_share(10, 0, 3), 4u);
  EXPECT_EQ(worker_share(10, 2, 3), 3u);
}

}  // namespace
}  // namespace spiker::load
