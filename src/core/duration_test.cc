#include "core/duration.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace spiker {
namespace {

using std::chrono::nanoseconds;
using namespace std::chrono_literals;

TEST(Duration, ParsesUnits) {
  EXPECT_EQ(parse_duration("500ms", "-d"), nanoseconds(500ms));
  EXPECT_EQ(parse_duration("10s", "-d"), nanoseconds(10s));
  EXPECT_EQ(parse_duration("2m", "-d"), nanoseconds(2min));
  EXPECT_EQ(parse_duration("1h30m", "-d"), nanoseconds(90min));
  EXPECT_EQ(parse_duration("1.5s", "-d"), nanoseconds(1500ms));
  EXPECT_EQ(parse_duration("250us", "-d"), nanoseconds(250us));
  EXPECT_EQ(parse_duration("7", "-d"), nanoseconds(7s));
  EXPECT_EQ(parse_duration("1m30s", "-d"), nanoseconds(90s));
}

TEST(Duration, RejectsGarbageNamingTheFlag) {
  for (const char* bad : {"", "s", "10x", "ten", "10s5", "-5s", "1..2s", "5 s"}) {
    try {
      parse_duration(bad, "--duration");
      ADD_FAILURE() << "accepted " << bad;
    } catch (const SetupError& e) {
      EXPECT_NE(std::string(e.what()).find("--duration"), std::string::npos) << e.what();
    }
  }
}

TEST(Duration, FormatsShortest) {
  EXPECT_EQ(format_duration(90min), "1h30m");
  EXPECT_EQ(format_duration(10s), "10s");
  EXPECT_EQ(format_duration(250ms), "250ms");
  EXPECT_EQ(format_duration(0s), "0s");
}

TEST(Count, ParsesSuffixes) {
  EXPECT_EQ(parse_count("1000", "-n"), 1000u);
  EXPECT_EQ(parse_count("10k", "-n"), 10000u);
  EXPECT_EQ(parse_count("2M", "-n"), 2000000u);
  EXPECT_THROW(parse_count("abc", "-n"), SetupError);
  EXPECT_THROW(parse_count("", "-n"), SetupError);
  EXPECT_THROW(parse_count("-1", "-n"), SetupError);
}

}  // namespace
}  // namespace spiker
