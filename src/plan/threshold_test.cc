#include "plan/threshold.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace spiker::plan {
namespace {

TEST(Threshold, KaiokenKeysStrictAndDocumented) {
  Threshold t = parse_kaioken_threshold("p95_latency_ms", "< 300", "f");
  EXPECT_EQ(t.metric, Threshold::Metric::kDuration);
  EXPECT_EQ(t.stat, Threshold::Stat::kPercentile);
  EXPECT_EQ(t.percentile, 95);
  EXPECT_EQ(t.value, 300);
  EXPECT_TRUE(t.holds(299.9));
  EXPECT_FALSE(t.holds(300));
  t = parse_kaioken_threshold("p999_latency", "<= 1.5s", "f");
  EXPECT_DOUBLE_EQ(t.percentile, 99.9);
  EXPECT_DOUBLE_EQ(t.value, 1500);
  EXPECT_EQ(t.op, Threshold::Op::kLe);
  t = parse_kaioken_threshold("error_rate", "< 1%", "f");
  EXPECT_DOUBLE_EQ(t.value, 0.01);
  EXPECT_EQ(parse_kaioken_threshold("mean_latency_ms", "< 5", "f").stat, Threshold::Stat::kAvg);
  EXPECT_EQ(parse_kaioken_threshold("rps", ">= 100", "f").metric, Threshold::Metric::kRequests);
  EXPECT_EQ(parse_kaioken_threshold("check_pass_rate", "> 0.9", "f").metric,
            Threshold::Metric::kChecks);
  EXPECT_THROW(parse_kaioken_threshold("p95_latency_ms", "300", "f"), SetupError);
  EXPECT_THROW(parse_kaioken_threshold("p95_latencyms", "< 3", "f"), SetupError);
  EXPECT_THROW(parse_kaioken_threshold("rps", "> fast", "f"), SetupError);
}

TEST(Threshold, K6Expressions) {
  Threshold t = parse_k6_threshold("http_req_duration{scenario:checkout}", "p(99.9)<1000", "f");
  EXPECT_EQ(t.tag_key, "scenario");
  EXPECT_EQ(t.tag_value, "checkout");
  EXPECT_DOUBLE_EQ(t.percentile, 99.9);
  EXPECT_EQ(t.describe(), "p(99.9)<1000");
  t = parse_k6_threshold("http_req_failed", "rate<0.01", "f");
  EXPECT_EQ(t.metric, Threshold::Metric::kFailed);
  EXPECT_EQ(parse_k6_threshold("http_reqs", "count>=10", "f").stat, Threshold::Stat::kCount);
  EXPECT_EQ(parse_k6_threshold("http_req_duration", "med < 20", "f").stat, Threshold::Stat::kMed);
  for (const char* bad : {"p(95)", "rate<0.1", "p(101)<3", "avg<x"}) {
    EXPECT_THROW(parse_k6_threshold("http_req_duration", bad, "f"), SetupError) << bad;
  }
  EXPECT_THROW(parse_k6_threshold("http_req_failed", "p(95)<3", "f"), SetupError);
  EXPECT_THROW(parse_k6_threshold("vus", "count<3", "f"), SetupError);
  EXPECT_THROW(parse_k6_threshold("http_reqs{region:eu}", "count<3", "f"), SetupError);
}

}  // namespace
}  // namespace spiker::plan
