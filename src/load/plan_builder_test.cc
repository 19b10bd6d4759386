#include "load/plan_builder.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace spiker::load {
namespace {

constexpr int64_t kSec = 1'000'000'000;

TEST(PlanBuilder, PicksTheExecutorFromTheOptions) {
  LoadSpec s;
  EXPECT_EQ(build_plan(s).executor, "constant-vus");
  EXPECT_EQ(build_plan(s).duration_ns, 10 * kSec);
  s.max_requests = 10;
  EXPECT_EQ(build_plan(s).executor, "shared-iterations");
  EXPECT_EQ(build_plan(s).duration_ns, 0);  // bounded by the count
  s = {};
  s.per_vu_iterations = 3;
  EXPECT_EQ(build_plan(s).executor, "per-vu-iterations");
  s = {};
  s.stages = {"10s:5", "10s:0"};
  LoadPlan p = build_plan(s);
  EXPECT_EQ(p.executor, "ramping-vus");
  EXPECT_EQ(p.duration_ns, 20 * kSec);
  EXPECT_EQ(p.max_vus, 5u);
  s = {};
  s.arrival_rate = 100;
  p = build_plan(s);
  EXPECT_EQ(p.executor, "constant-arrival-rate");
  EXPECT_EQ(p.model, Model::kOpen);
  EXPECT_EQ(p.arrivals->total(), 1000u);
  EXPECT_TRUE(p.has_intended_times());
  s = {};
  s.stages = {"10s:100/s"};
  EXPECT_EQ(build_plan(s).executor, "ramping-arrival-rate");
  s = {};
  s.concurrency = 10;
  s.rate = 500;
  p = build_plan(s);
  EXPECT_EQ(p.pace_period_ns, 20'000'000);  // 10 VUs at 500/s: each every 20 ms
  EXPECT_TRUE(p.has_intended_times());
}

TEST(PlanBuilder, RefusesRatesNoMachineCanStart) {
  LoadSpec spec;
  spec.arrival_rate = 1e18;
  spec.duration_ns = 1'000'000'000;
  EXPECT_THROW(build_plan(spec), SetupError);
  spec.arrival_rate = 0;
  spec.duration_ns.reset();
  spec.stages = {"1s:5e7/s"};
  EXPECT_THROW(build_plan(spec), SetupError);
  spec.stages = {"1s:10000000/s"};  // the most one machine is asked to start
  EXPECT_NO_THROW(build_plan(spec));
}

TEST(PlanBuilder, WarmupComesBeforeTheDuration) {
  LoadSpec s;
  s.duration_ns = 5 * kSec;
  s.warmup_ns = 2 * kSec;
  EXPECT_EQ(build_plan(s).duration_ns, 7 * kSec);
  s.ramp_up_ns = 1 * kSec;
  LoadPlan p = build_plan(s);
  EXPECT_EQ(p.executor, "ramping-vus");
  EXPECT_EQ(p.vus->vus_at(0), 0u);
  EXPECT_EQ(p.vus->vus_at(kSec), 50u);
}

TEST(PlanBuilder, RejectsConflicts) {
  auto rejects = [](LoadSpec s) { EXPECT_THROW(build_plan(s), SetupError); };
  LoadSpec s;
  s.rate = 10;
  s.arrival_rate = 10;
  rejects(s);
  s = {};
  s.stages = {"1s:5", "1s:5/s"};
  rejects(s);
  s = {};
  s.stages = {"1s:5"};
  s.duration_ns = kSec;
  rejects(s);
  s = {};
  s.max_requests = 5;
  s.iterations = 5;
  rejects(s);
  s = {};
  s.pipeline = 4;
  s.arrival_rate = 10;
  rejects(s);
  s = {};
  s.ramp_up_ns = 20 * kSec;
  rejects(s);  // longer than the 10 s default
  s = {};
  s.stages = {"1s:0"};
  rejects(s);  // never runs a VU
}

}  // namespace
}  // namespace spiker::load
