#include "plan/template.h"

#include <gtest/gtest.h>

#include <regex>
#include <set>

#include "core/error.h"

namespace spiker::plan {
namespace {

TEST(Template, StaticTextStaysStatic) {
  Template t = Template::compile("/api/items?x=1", "url");
  EXPECT_TRUE(t.is_static());
  EXPECT_EQ(t.static_text(), "/api/items?x=1");
  EXPECT_TRUE(Template::compile("", "body").is_static());
}

TEST(Template, DoubleDollarIsALiteralPlaceholder) {
  Template t = Template::compile("a $${x} b $${REQUEST_ID}", "body");
  EXPECT_TRUE(t.is_static());
  EXPECT_EQ(t.static_text(), "a ${x} b ${REQUEST_ID}");
}

TEST(Template, RendersBuiltins) {
  std::mt19937_64 rng(5);
  RenderContext ctx{41, 7, 3, &rng};
  Template t = Template::compile("/r/${REQUEST_ID}/${VU_ID}/${ITERATION}?n=${RANDOM_INT:5:6}", "u");
  EXPECT_FALSE(t.is_static());
  std::string out;
  t.render(out, ctx);
  EXPECT_TRUE(out == "/r/41/7/3?n=5" || out == "/r/41/7/3?n=6") << out;

  std::string s;
  Template::compile("${RANDOM_STRING:12}", "b").render(s, ctx);
  EXPECT_TRUE(std::regex_match(s, std::regex("[A-Za-z0-9]{12}"))) << s;

  std::set<std::string> uuids;
  for (int i = 0; i < 100; ++i) {
    std::string u;
    Template::compile("${UUID}", "h").render(u, ctx);
    EXPECT_TRUE(std::regex_match(
        u, std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")))
        << u;
    uuids.insert(u);
  }
  EXPECT_EQ(uuids.size(), 100u);

  std::string ts;
  Template::compile("${TIMESTAMP_MS}", "h").render(ts, ctx);
  EXPECT_GT(std::stoll(ts), 1'700'000'000'000LL);
}

TEST(Template, RejectsUnknownAndMalformed) {
  for (const char* bad : {"${token}", "${RANDOM_INT:9:1}", "${RANDOM_INT:x}", "${RANDOM_STRING:0}",
                          "${REQUEST_ID:1}", "${open"}) {
    EXPECT_THROW(Template::compile(bad, "url"), SetupError) << bad;
  }
}

}  // namespace
}  // namespace spiker::plan
