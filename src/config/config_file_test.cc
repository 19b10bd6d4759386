#include "config/config_file.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace spiker::config {
namespace {

std::string error_of(const std::string& text) {
  try {
    parse_config(text, "t.toml");
  } catch (const SetupError& e) {
    return e.what();
  }
  return "";
}

TEST(ConfigFile, DeepNestingIsRefusedBeforeTheParserRecurses) {
  std::string deep_key = "a";
  for (int i = 0; i < 50'000; ++i) deep_key += ".a";
  EXPECT_NE(error_of(deep_key + " = 1\n").find("t.toml:1:"), std::string::npos);
  EXPECT_NE(error_of("[" + deep_key + "]\n").find("nested more than 64 deep"), std::string::npos);
  std::string deep_array = "x = " + std::string(50'000, '[') + std::string(50'000, ']') + "\n";
  EXPECT_NE(error_of(deep_array).find("t.toml:1:"), std::string::npos);
  std::string deep_inline = "[target]\nx = ";
  for (int i = 0; i < 1000; ++i) deep_inline += "{a = ";
  EXPECT_NE(error_of(deep_inline + "1" + std::string(1000, '}')).find("t.toml:2:"),
            std::string::npos);
  // Dots in strings, comments and numbers are not nesting.
  std::string fine = "# " + std::string(500, '.') + "\n[target]\nurl = \"http://h/" +
                     std::string(500, '.') + "\"\n";
  EXPECT_EQ(error_of(fine), "");
}

TEST(ConfigFile, ReadsKaiokenTargetLoadAndStages) {
  ConfigFile c = parse_config(R"(
[target]
url = "http://127.0.0.1:8080/api"
method = "POST"
timeout = "2s"
headers = { Accept = "application/json", "X-Trace" = "1" }
body = '{"a":1}'
basic_auth = "ana:secret"
insecure = true
follow_redirects = false

[load]
concurrency = 20
duration = "30s"
rate = 100
warmup = "2s"
max_vus = 300

[[stages]]
duration = "10s"
target = 50

[[stages]]
duration = "20s"
target = 0
)",
                              "t.toml");
  EXPECT_EQ(c.target.url, "http://127.0.0.1:8080/api");
  EXPECT_EQ(c.target.method, "POST");
  EXPECT_EQ(c.target.timeout, "2s");
  ASSERT_EQ(c.target.headers.size(), 3u);
  EXPECT_EQ(c.target.headers[0].first, "Accept");
  EXPECT_EQ(c.target.headers[2].second, "Basic YW5hOnNlY3JldA==");
  EXPECT_EQ(c.target.insecure, true);
  EXPECT_EQ(c.load.concurrency, 20);
  EXPECT_EQ(c.load.duration, "30s");
  EXPECT_EQ(c.load.rate, 100);
  EXPECT_EQ(c.load.max_vus, 300);
  EXPECT_EQ(c.stages, (std::vector<std::string>{"10s:50", "20s:0"}));
}

TEST(ConfigFile, RateStagesAndAliases) {
  ConfigFile c = parse_config(
      "[load]\nvus = 3\narrival_rate = 50\n[[stages]]\nduration = \"1m\"\ntarget_rate = 200\n",
      "t.toml");
  EXPECT_EQ(c.load.concurrency, 3);
  EXPECT_EQ(c.stages, (std::vector<std::string>{"1m:200/s"}));
}

TEST(ConfigFile, UnknownKeysAreErrorsWithWhereAndASuggestion) {
  std::string e = error_of("[target]\nurl = \"http://h/\"\nmethd = \"GET\"\n");
  EXPECT_NE(e.find("t.toml:3:1"), std::string::npos) << e;
  EXPECT_NE(e.find("methd"), std::string::npos) << e;
  EXPECT_NE(e.find("did you mean 'method'"), std::string::npos) << e;
  e = error_of("[laod]\nconcurrency = 1\n");
  EXPECT_NE(e.find("did you mean 'load'"), std::string::npos) << e;
}

TEST(ConfigFile, WrongTypesAndBadStagesAreErrors) {
  EXPECT_NE(error_of("[load]\nconcurrency = \"ten\"\n").find("expected a whole number"),
            std::string::npos);
  EXPECT_NE(error_of("[target]\nheaders = \"x\"\n").find("expected a table"), std::string::npos);
  EXPECT_NE(error_of("[[stages]]\nduration = \"1s\"\n").find("target"), std::string::npos);
  EXPECT_NE(error_of("[[stages]]\nduration = \"1s\"\ntarget = 1\n[[stages]]\nduration = \"1s\"\n"
                     "target_rate = 1\n")
                .find("mix"),
            std::string::npos);
  EXPECT_NE(error_of("[target\nurl = 1\n").find("t.toml:1"), std::string::npos);
}

TEST(ConfigFile, KaiokenFeaturesNotRunYetAreSaidPlainly) {
  // proxy is read (and refused by name when a run is compiled: -x/--proxy or [target] proxy).
  EXPECT_EQ(parse_config("[target]\nproxy = \"http://p\"\n", "t.toml").target.proxy, "http://p");
  EXPECT_NE(
      error_of("[[scenarios]]\nname = \"a\"\nurl = \"http://h/\"\nweight = 0\n").find("weight = 0"),
      std::string::npos);
  EXPECT_NE(error_of("[[scenarios]]\nurl = \"http://h/\"\n").find("needs name and url"),
            std::string::npos);
}

TEST(ConfigFile, ReadsWeightedScenarios) {
  ConfigFile c = parse_config(R"(
[target]
headers = { Accept = "application/json" }
[[scenarios]]
name = "list"
url = "http://h/items"
weight = 3
tags = { kind = "read" }
[[scenarios]]
name = "create"
url = "http://h/items"
method = "POST"
body = '{"a":1}'
headers = { "Content-Type" = "application/json" }
tags = ["write", "slow"]
)",
                              "t.toml");
  ASSERT_EQ(c.scenarios.size(), 2u);
  EXPECT_EQ(c.scenarios[0].name, "list");
  EXPECT_EQ(c.scenarios[0].weight, 3u);
  EXPECT_EQ(c.scenarios[0].tags[0], (std::pair<std::string, std::string>{"kind", "read"}));
  EXPECT_EQ(c.scenarios[1].method, "POST");
  EXPECT_EQ(c.scenarios[1].weight, 1u);
  EXPECT_EQ(c.scenarios[1].tags.size(), 2u);
  EXPECT_EQ(c.scenarios[1].headers[0].first, "Content-Type");
}

}  // namespace
}  // namespace spiker::config
