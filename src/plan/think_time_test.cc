#include "plan/think_time.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace spiker::plan {
namespace {

TEST(ThinkTime, ParsesTheThreeForms) {
  std::mt19937_64 rng(3);
  ThinkTime fixed = ThinkTime::parse("250ms");
  EXPECT_EQ(fixed.sample(rng), 250'000'000);
  ThinkTime uniform = ThinkTime::parse("1s..3s");
  double sum = 0;
  for (int i = 0; i < 20'000; ++i) {
    int64_t v = uniform.sample(rng);
    ASSERT_GE(v, 1'000'000'000);
    ASSERT_LE(v, 3'000'000'000);
    sum += static_cast<double>(v);
  }
  EXPECT_NEAR(sum / 20'000 / 1e9, 2.0, 0.02);
  ThinkTime exp = ThinkTime::parse("exp:100ms");
  sum = 0;
  for (int i = 0; i < 50'000; ++i) sum += static_cast<double>(exp.sample(rng));
  EXPECT_NEAR(sum / 50'000 / 1e6, 100.0, 2.0);
  EXPECT_TRUE(ThinkTime::parse("").none());
  EXPECT_TRUE(ThinkTime::parse("0s").none());
  EXPECT_EQ(uniform.to_string(), "1s..3s");
}

TEST(ThinkTime, RejectsBadInput) {
  for (const char* bad : {"soon", "3s..1s", "exp:", "1s..x"}) {
    EXPECT_THROW(ThinkTime::parse(bad), SetupError) << bad;
  }
}

}  // namespace
}  // namespace spiker::plan
