#include "config/regex_sample.h"

#include <gtest/gtest.h>

#include <regex>

#include "config/env_interpolate.h"

namespace spiker::config {
namespace {

// Every sample matches the expression (RE2, with the dots escaped as the sampler reads them),
// and the alternatives and ranges are all reached.
TEST(RegexSampler, SamplesMatchTheExpressionAndCoverIt) {
  std::mt19937_64 rng(3);
  RegexSampler s("http://h.test/users/[a-c]{3}[0-9]{2}(/x|/yy)?\\d+", "t");
  std::regex re("http://h\\.test/users/[a-c]{3}[0-9]{2}(/x|/yy)?\\d+");
  bool saw_x = false, saw_yy = false, saw_none = false;
  for (int i = 0; i < 2000; ++i) {
    std::string v = s.sample(rng);
    ASSERT_TRUE(std::regex_match(v, re)) << v;
    saw_x |= v.find("/x") != std::string::npos;
    saw_yy |= v.find("/yy") != std::string::npos;
    saw_none |= v.find("/x") == std::string::npos && v.find("/yy") == std::string::npos;
  }
  EXPECT_TRUE(saw_x && saw_yy && saw_none);
}

TEST(RegexSampler, WhatItCannotGenerateIsAnErrorNamingIt) {
  for (const char* bad : {"a(b", "[z-a]", "[^a]", "x{3,1}", "*a", "\\W", "a)"}) {
    EXPECT_THROW(RegexSampler(bad, "t"), ConfigError) << bad;
  }
  std::mt19937_64 rng(1);
  RegexSampler huge("((a{99}){99}){99}", "t");
  EXPECT_THROW(huge.sample(rng), ConfigError);
}

}  // namespace
}  // namespace spiker::config
