#include "load/schedule.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"

namespace spiker::load {
namespace {

constexpr int64_t kSec = 1'000'000'000;

TEST(ArrivalSchedule, ConstantRateIsEvenlySpaced) {
  auto s = ArrivalSchedule::constant(2000, 5 * kSec);
  EXPECT_EQ(s.total(), 10'000u);
  EXPECT_EQ(s.time_of(0), 0);
  EXPECT_EQ(s.time_of(1), 500'000);
  EXPECT_EQ(s.time_of(9'999), int64_t{9'999} * 500'000);
  EXPECT_EQ(s.time_of(10'000), -1);
}

// N(t) = integral of the rate; arrival k is due at the t where N(t) = k.
TEST(ArrivalSchedule, RampingRateMatchesTheClosedFormIntegral) {
  // 0 -> 100/s over 10 s, hold 100/s for 5 s, 100 -> 20/s over 4 s.
  ArrivalSchedule s(StageCurve(0, {{10 * kSec, 100}, {5 * kSec, 100}, {4 * kSec, 20}}));
  // Total = 500 + 500 + (100 + 20) / 2 * 4 = 1240.
  EXPECT_EQ(s.total(), 1240u);
  auto n_of = [](double t) {  // the closed-form integral
    if (t <= 10) return 5 * t * t;
    if (t <= 15) return 500 + 100 * (t - 10);
    double u = t - 15;
    return 1000 + 100 * u - 10 * u * u;
  };
  int64_t prev = -1;
  for (uint64_t k = 0; k < s.total(); ++k) {
    int64_t t = s.time_of(k);
    ASSERT_GE(t, prev);  // non-decreasing
    prev = t;
    EXPECT_NEAR(n_of(static_cast<double>(t) / 1e9), static_cast<double>(k), 1e-3) << k;
  }
  EXPECT_NEAR(static_cast<double>(s.time_of(500)) / 1e9, 10.0, 1e-6);
  EXPECT_NEAR(static_cast<double>(s.time_of(125)) / 1e9, 5.0, 1e-6);  // 5 t^2 = 125
  EXPECT_EQ(s.time_of(1240), -1);
}

TEST(ArrivalSchedule, ZeroRateStagesHaveNoArrivals) {
  ArrivalSchedule s(StageCurve(0, {{2 * kSec, 0}, {kSec, 10}}));
  EXPECT_EQ(s.total(), 5u);
  EXPECT_GE(s.time_of(0), 2 * kSec);
}

TEST(VuSchedule, FollowsStagesUpAndDown) {
  VuSchedule v(StageCurve(0, {{10 * kSec, 10}, {5 * kSec, 10}, {5 * kSec, 0}}));
  EXPECT_EQ(v.vus_at(0), 0u);
  EXPECT_EQ(v.vus_at(kSec), 1u);
  EXPECT_EQ(v.vus_at(5 * kSec), 5u);
  EXPECT_EQ(v.vus_at(10 * kSec), 10u);
  EXPECT_EQ(v.vus_at(12 * kSec), 10u);
  EXPECT_EQ(v.vus_at(17 * kSec + kSec / 2), 5u);
  EXPECT_EQ(v.vus_at(20 * kSec), 0u);
  EXPECT_EQ(v.max_vus(), 10u);
  EXPECT_TRUE(v.ramping());
  EXPECT_FALSE(VuSchedule::constant(7, kSec).ramping());
  EXPECT_EQ(VuSchedule::constant(7, kSec).vus_at(0), 7u);
}

TEST(Stage, Parses) {
  bool rate = false;
  Stage s = parse_stage("30s:100", &rate);
  EXPECT_FALSE(rate);
  EXPECT_EQ(s.duration_ns, 30 * kSec);
  EXPECT_EQ(s.target, 100);
  s = parse_stage("1m:2.5/s", &rate);
  EXPECT_TRUE(rate);
  EXPECT_EQ(s.target, 2.5);
  for (const char* bad : {"30s", "30s:", "x:5", "10s:-1", "0s:5", "10s:abc/s"}) {
    EXPECT_THROW(parse_stage(bad, &rate), SetupError) << bad;
  }
}

}  // namespace
}  // namespace spiker::load
