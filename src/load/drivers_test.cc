// The drivers in virtual time: no clock, no threads; time is a number the test moves.
#include "load/drivers.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

namespace spiker::load {
namespace {

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kSec = 1'000'000'000;

// An open-model VU pool: `cap` VUs; an iteration started at t ends at t + 1 ms, except that the
// server stalls during [stall_from, stall_to): what starts then ends at stall_to + 1 ms.
struct Pool {
  size_t cap;
  int64_t stall_from, stall_to;
  std::vector<int64_t> busy_until;
  bool start(int64_t t) {
    std::erase_if(busy_until, [&](int64_t u) { return u <= t; });
    if (busy_until.size() >= cap) return false;
    int64_t end = t + kMs;
    if (t >= stall_from && t < stall_to) end = stall_to + kMs;
    busy_until.push_back(end);
    return true;
  }
};

TEST(ArrivalStream, DueIsAlwaysStartedPlusDroppedUnderAStall) {
  ArrivalSchedule schedule = ArrivalSchedule::constant(5000, kSec);
  Stripe whole;
  ArrivalStream s(schedule, whole, 0, 1, 0);
  Pool pool{20, 300 * kMs, 600 * kMs, {}};
  uint64_t started = 0, dropped = 0;
  // Steps that do not fall on arrival times, past the deadline.
  for (int64_t now = 0; now <= kSec + 5 * kMs; now += 37'000) {
    int64_t until = std::min(now, kSec - 1);  // only arrivals due before the end
    while (s.next_ns() >= 0 && s.next_ns() <= until) {
      if (!pool.start(now)) {
        dropped += s.skip_until(until);
        break;
      }
      s.take();
      ++started;
    }
    ASSERT_EQ(s.due_by(until), started + dropped) << "at " << now;
    ASSERT_EQ(s.taken(), started + dropped);
  }
  EXPECT_EQ(started + dropped, 5000u);  // the last arrivals before the deadline too
  EXPECT_EQ(s.total(), 5000u);
  EXPECT_EQ(s.next_ns(), -1);
  // 20 VUs are stuck for the 300 ms stall (1,500 arrivals due): all but those 20 are dropped.
  EXPECT_GE(dropped, 1470u);
  EXPECT_LE(dropped, 1500u);
}

TEST(ArrivalStream, DropsAreCountedArithmeticallyAtAnyRate) {
  ArrivalSchedule schedule = ArrivalSchedule::constant(1e9, kSec);
  Stripe whole;
  ArrivalStream s(schedule, whole, 0, 1, 0);
  s.take();
  EXPECT_EQ(s.skip_until(kSec / 2), 500'000'000u);  // bisection, not a loop per arrival
  EXPECT_EQ(s.skip_until(kSec), s.total() - 500'000'001u);
  EXPECT_EQ(s.next_ns(), -1);
  EXPECT_EQ(s.skip_until(2 * kSec), 0u);
}

TEST(ArrivalStream, WorkersAndSegmentsStripeExactly) {
  ArrivalSchedule schedule = ArrivalSchedule::constant(997, kSec);  // a prime: uneven shares
  std::vector<int64_t> times;
  uint64_t sum = 0;
  for (const char* seg : {"0:1/3", "1/3:2/3", "2/3:1"}) {
    Stripe stripe = Stripe::parse(seg, "0,1/3,2/3,1");
    for (int w = 0; w < 3; ++w) {
      ArrivalStream s(schedule, stripe, w, 3, 0);
      sum += s.total();
      for (; s.next_ns() >= 0; s.take()) times.push_back(s.next_ns());
    }
  }
  EXPECT_EQ(sum, schedule.total());
  std::sort(times.begin(), times.end());
  ASSERT_EQ(times.size(), schedule.total());
  for (uint64_t k = 0; k < schedule.total(); ++k) ASSERT_EQ(times[k], schedule.time_of(k));
}

TEST(IterationBudget, SharedIterationsAreClaimedExactly) {
  uint64_t claimed = 0, budgets = 0;
  for (const char* seg : {"0:1/3", "1/3:2/3", "2/3:1"}) {
    Stripe stripe = Stripe::parse(seg, "0,1/3,2/3,1");
    for (int w = 0; w < 3; ++w) {
      IterationBudget b(1000, stripe, w, 3);
      budgets += b.budget();
      for (uint64_t n; (n = b.claim(7)) > 0;) claimed += n;
      EXPECT_TRUE(b.exhausted());
      EXPECT_EQ(b.claim(1), 0u);
    }
  }
  EXPECT_EQ(budgets, 1000u);
  EXPECT_EQ(claimed, 1000u);
  IterationBudget unlimited;
  EXPECT_EQ(unlimited.claim(16), 16u);
  EXPECT_FALSE(unlimited.exhausted());
}

TEST(VuTarget, RampingSharesAddUpToTheSchedule) {
  VuSchedule schedule(StageCurve(0, {{10 * kSec, 10}, {10 * kSec, 0}}));
  Stripe whole;
  std::vector<VuTarget> workers;
  for (int w = 0; w < 3; ++w) workers.emplace_back(schedule, whole, w, 3, 5 * kSec, 100);
  uint64_t last = 0;
  for (int64_t t = 5 * kSec; t <= 25 * kSec; t += 250 * kMs) {
    uint64_t sum = 0;
    for (const VuTarget& v : workers) sum += v.at(t);
    EXPECT_EQ(sum, schedule.vus_at(t - 5 * kSec)) << t;
    if (t <= 15 * kSec) {
      EXPECT_GE(sum, last);
    }
    last = sum;
  }
  EXPECT_EQ(workers[0].at(15 * kSec) + workers[1].at(15 * kSec) + workers[2].at(15 * kSec), 10u);
  VuTarget capped(schedule, whole, 0, 1, 0, 4);
  EXPECT_EQ(capped.at(10 * kSec), 4u);
}

}  // namespace
}  // namespace spiker::load

namespace spiker::load {
namespace {

// HTTP/2 VUs go to workers in whole connection groups: 50 VUs, 10 a connection, 2 workers ->
// 30 + 20 (5 connections, not 3 + 3); 45 -> 30 + 15; 5 -> 5 + 0.
TEST(WorkerShare, WholeGroupsSoConnectionsAreCeilOfVusOverStreams) {
  auto shares = [](uint64_t total, int n, uint64_t group) {
    std::vector<uint64_t> out;
    uint64_t sum = 0, connections = 0;
    for (int w = 0; w < n; ++w) {
      out.push_back(worker_share(total, w, n, group));
      sum += out.back();
      connections += (out.back() + group - 1) / group;
    }
    EXPECT_EQ(sum, total);
    EXPECT_EQ(connections, (total + group - 1) / group);
    return out;
  };
  EXPECT_EQ(shares(50, 2, 10), (std::vector<uint64_t>{30, 20}));
  EXPECT_EQ(shares(45, 2, 10), (std::vector<uint64_t>{30, 15}));
  EXPECT_EQ(shares(5, 2, 10), (std::vector<uint64_t>{5, 0}));
  EXPECT_EQ(shares(95, 4, 10), (std::vector<uint64_t>{30, 30, 20, 15}));
  EXPECT_EQ(shares(7, 3, 1), (std::vector<uint64_t>{3, 2, 2}));  // no grouping: as before
}

}  // namespace
}  // namespace spiker::load
