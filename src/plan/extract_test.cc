#include "plan/extract.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace spiker::plan {
namespace {

CapturedResponse parsed(const std::string& raw, std::string* buf) {
  CapturedResponse r;
  EXPECT_TRUE(parse_captured(raw, false, &r, buf));
  return r;
}

TEST(Extract, JsonPathsOnABody) {
  std::string buf;
  std::string raw =
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 71\r\n\r\n"
      "{\"token\":\"abc\",\"n\":42,\"items\":[{\"id\":7},{\"id\":8,\"tag\":\"x\"}],\"z\":null}";
  CapturedResponse r = parsed(raw, &buf);
  ExtractScratch scratch;
  std::string v;
  EXPECT_TRUE(Extractor::compile("json:$.token", 0, "t").extract(r, scratch, &v));
  EXPECT_EQ(v, "abc");
  EXPECT_TRUE(Extractor::compile("$.n", 0, "t").extract(r, scratch, &v));
  EXPECT_EQ(v, "42");
  EXPECT_TRUE(Extractor::compile("json:$.items[1].id", 0, "t").extract(r, scratch, &v));
  EXPECT_EQ(v, "8");
  EXPECT_TRUE(Extractor::compile("json:$['items'][0]", 0, "t").extract(r, scratch, &v));
  EXPECT_EQ(v, "{\"id\":7}");
  EXPECT_TRUE(Extractor::compile("json:$.items[*].tag", 0, "t").extract(r, scratch, &v));
  EXPECT_EQ(v, "x");
  EXPECT_FALSE(Extractor::compile("json:$.missing", 0, "t").extract(r, scratch, &v));
  EXPECT_FALSE(Extractor::compile("json:$.z", 0, "t").extract(r, scratch, &v));
  EXPECT_FALSE(Extractor::compile("json:$.items[5]", 0, "t").extract(r, scratch, &v));
}

TEST(Extract, HeadersCookiesRegexAndChunkedBodies) {
  std::string buf;
  std::string raw =
      "HTTP/1.1 100 Continue\r\n\r\n"
      "HTTP/1.1 201 Created\r\nLocation: /items/9\r\nSet-Cookie: a=1; Path=/\r\n"
      "Set-Cookie: session=s3cr3t; HttpOnly\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5;ext=1\r\nid=12\r\n3\r\n34;\r\n0\r\n\r\n";
  CapturedResponse r = parsed(raw, &buf);
  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(r.body, "id=1234;");
  ExtractScratch scratch;
  std::string v;
  EXPECT_TRUE(Extractor::compile("header:location", 0, "t").extract(r, scratch, &v));
  EXPECT_EQ(v, "/items/9");
  EXPECT_TRUE(Extractor::compile("cookie:session", 0, "t").extract(r, scratch, &v));
  EXPECT_EQ(v, "s3cr3t");
  EXPECT_TRUE(Extractor::compile("regex:id=(\\d+)", 0, "t").extract(r, scratch, &v));
  EXPECT_EQ(v, "1234");
  EXPECT_TRUE(Extractor::compile("regex:(i)d=(\\d)(\\d+):3", 0, "t").extract(r, scratch, &v));
  EXPECT_EQ(v, "234");
  EXPECT_TRUE(Extractor::compile("status", 0, "t").extract(r, scratch, &v));
  EXPECT_EQ(v, "201");
  EXPECT_FALSE(Extractor::compile("header:X-None", 0, "t").extract(r, scratch, &v));
}

TEST(Extract, BadExtractorsAreSetupErrors) {
  EXPECT_THROW(Extractor::compile("xml:/a", 0, "f:1:2"), SetupError);
  EXPECT_THROW(Extractor::compile("json:a.b", 0, "f"), SetupError);
  EXPECT_THROW(Extractor::compile("json:$.a[x]", 0, "f"), SetupError);
  EXPECT_THROW(Extractor::compile("regex:(a", 0, "f"), SetupError);
  EXPECT_THROW(Extractor::compile("regex:(a):2", 0, "f"), SetupError);
  EXPECT_THROW(Extractor::compile("header:", 0, "f"), SetupError);
}

TEST(Check, KaiokenConditions) {
  CapturedResponse r;
  r.status = 201;
  r.body = "hello world";
  r.latency_us = 1500;
  EXPECT_TRUE(Check::compile("status == 201", "t").passes(r));
  EXPECT_FALSE(Check::compile("status == 200", "t").passes(r));
  EXPECT_TRUE(Check::compile("status < 300", "t").passes(r));
  EXPECT_TRUE(Check::compile("status in [200, 201]", "t").passes(r));
  EXPECT_FALSE(Check::compile("status in [200,204]", "t").passes(r));
  EXPECT_TRUE(Check::compile("body contains \"world\"", "t").passes(r));
  EXPECT_TRUE(Check::compile("body not contains 'nope'", "t").passes(r));
  EXPECT_TRUE(Check::compile("body matches \"^hel+o\"", "t").passes(r));
  EXPECT_TRUE(Check::status_regex("2..", "t").passes(r));
  EXPECT_FALSE(Check::latency_below(1000).passes(r));
  EXPECT_THROW(Check::compile("status = 200", "t"), SetupError);
  EXPECT_THROW(Check::compile("body contains world", "t"), SetupError);
  EXPECT_THROW(Check::compile("latency < 3", "t"), SetupError);
}

}  // namespace
}  // namespace spiker::plan
