#include "config/env_interpolate.h"

#include <gtest/gtest.h>

#include <map>

#include "core/error.h"

namespace spiker::config {
namespace {

EnvLookup env_from(std::map<std::string, std::string> vars) {
  return [vars](const std::string& n) -> std::optional<std::string> {
    auto it = vars.find(n);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(EnvInterpolate, SubstitutesUpperAndMixedCaseNames) {
  auto env = env_from({{"HOST", "h.test"}, {"Api_Key", "k1"}});
  EXPECT_EQ(interpolate_env("url = \"http://${HOST}/x\"", "f", env), "url = \"http://h.test/x\"");
  EXPECT_EQ(interpolate_env("${Api_Key}", "f", env), "k1");
  EXPECT_EQ(interpolate_env("${PORT:-8080}", "f", env), "8080");
  EXPECT_EQ(interpolate_env("${HOST:-other}", "f", env), "h.test");
}

TEST(EnvInterpolate, KeepsRuntimeVariablesAndBuiltins) {
  auto env = env_from({});
  EXPECT_EQ(interpolate_env("Bearer ${token}", "f", env), "Bearer ${token}");
  EXPECT_EQ(interpolate_env("id=${REQUEST_ID}&t=${TIMESTAMP_MS}", "f", env),
            "id=${REQUEST_ID}&t=${TIMESTAMP_MS}");
  EXPECT_EQ(interpolate_env("${RANDOM_INT:1:9}", "f", env), "${RANDOM_INT:1:9}");
  EXPECT_EQ(interpolate_env("unterminated ${X", "f", env), "unterminated ${X");
}

TEST(EnvInterpolate, LeavesCommentsAlone) {
  auto env = env_from({{"A", "1"}});
  EXPECT_EQ(interpolate_env("x = \"${A}\" # uses ${UNSET}\n# ${UNSET} too\n", "f", env),
            "x = \"1\" # uses ${UNSET}\n# ${UNSET} too\n");
  EXPECT_EQ(interpolate_env("x = \"a#${A}\"\ny = '#${A}'\n", "f", env), "x = \"a#1\"\ny = '#1'\n");
  EXPECT_EQ(interpolate_env("x = \"\"\"\n# ${A}\n\"\"\"\n", "f", env), "x = \"\"\"\n# 1\n\"\"\"\n");
}

TEST(EnvInterpolate, MissingVariableNamesFileAndLine) {
  try {
    interpolate_env("a = 1\nb = \"${MISSING}\"\n", "load.toml", env_from({}));
    FAIL();
  } catch (const SetupError& e) {
    EXPECT_NE(std::string(e.what()).find("load.toml:2"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("MISSING"), std::string::npos);
  }
}

}  // namespace
}  // namespace spiker::config
