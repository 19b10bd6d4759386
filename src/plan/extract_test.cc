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

TEST(Extract, QueryResultsRowsColumnsAndErrors) {
  CapturedResponse r;
  r.body = R"([{"id":7,"name":"a"},{"id":8,"name":"b"}])";
  r.rows = 2;
  ExtractScratch scratch;
  std::string v;
  EXPECT_TRUE(Extractor::compile("row:1.name", 0, "t").extract(r, scratch, &v));
  EXPECT_EQ(v, "b");
  EXPECT_TRUE(Extractor::compile("column:id", 0, "t").extract(r, scratch, &v));
  EXPECT_EQ(v, "7");
  EXPECT_TRUE(Extractor::compile("rows", 0, "t").extract(r, scratch, &v));
  EXPECT_EQ(v, "2");
  EXPECT_FALSE(Extractor::compile("row:2.id", 0, "t").extract(r, scratch, &v));
  EXPECT_FALSE(Extractor::compile("error", 0, "t").extract(r, scratch, &v));
  EXPECT_THROW(Extractor::compile("row:x.id", 0, "t"), SetupError);
  EXPECT_THROW(Extractor::compile("row:0", 0, "t"), SetupError);
  EXPECT_TRUE(Check::compile("rows == 2", "t").passes(r, scratch));
  EXPECT_TRUE(Check::compile("rows > 1", "t").passes(r, scratch));
  EXPECT_FALSE(Check::compile("rows < 2", "t").passes(r, scratch));
  EXPECT_FALSE(Check::compile("error exists", "t").passes(r, scratch));
  CapturedResponse refused;
  refused.headers = {{"error", "23505"}};
  EXPECT_TRUE(Check::compile("error == \"23505\"", "t").passes(refused, scratch));
  EXPECT_FALSE(Check::compile("rows >= 0", "t").passes(refused, scratch));  // no rows at all
  EXPECT_TRUE(Extractor::compile("error", 0, "t").extract(refused, scratch, &v));
  EXPECT_EQ(v, "23505");
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

TEST(Check, ConditionsOnStatusHeadersBodyJsonAndLatency) {
  std::string buf;
  std::string raw =
      "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nX-Id: 42\r\n"
      "Content-Length: 45\r\n\r\n{\"id\":7,\"name\":\"widget\",\"ok\":true,\"tags\":[1]}";
  CapturedResponse r;
  ASSERT_TRUE(parse_captured(raw, false, &r, &buf));
  r.latency_us = 1500;
  ExtractScratch x;
  auto pass = [&](const char* text) { return Check::compile(text, "t").passes(r, x); };
  EXPECT_TRUE(pass("status == 201"));
  EXPECT_FALSE(pass("status == 200"));
  EXPECT_TRUE(pass("status < 300"));
  EXPECT_TRUE(pass("status != 500"));
  EXPECT_TRUE(pass("status in [200, 201]"));
  EXPECT_FALSE(pass("status in [200,204]"));
  EXPECT_TRUE(pass("status == 2xx"));
  EXPECT_FALSE(pass("status == 4xx"));
  EXPECT_TRUE(pass("body == '{\"id\":7,\"name\":\"widget\",\"ok\":true,\"tags\":[1]}'"));
  EXPECT_FALSE(pass("body == \"widget\""));  // the whole body, not a part
  EXPECT_TRUE(pass("value != \"widget\""));
  EXPECT_TRUE(pass("status != 5xx"));
  EXPECT_TRUE(pass("status matches \"2..\""));
  // Regexes search (RE2 PartialMatch), as Kaioken's status_regex and body matches do.
  EXPECT_TRUE(pass("status matches \"^[1-4]\""));
  EXPECT_TRUE(pass("status matches \"2\""));
  EXPECT_TRUE(pass("status matches \"01$\""));
  EXPECT_FALSE(pass("status matches \"^[3-5]\""));
  EXPECT_TRUE(pass("header content-type exists"));
  EXPECT_FALSE(pass("header Set-Cookie exists"));
  EXPECT_TRUE(pass("header X-Id == \"42\""));
  EXPECT_TRUE(pass("header Content-Type contains \"json\""));
  EXPECT_TRUE(pass("header Content-Type matches \"^application/\""));
  EXPECT_TRUE(pass("body contains \"widget\""));
  EXPECT_TRUE(pass("body not contains 'nope'"));
  EXPECT_TRUE(pass("body matches \"\\\"id\\\":[0-9]+\""));
  EXPECT_TRUE(pass("body size == 45"));
  EXPECT_FALSE(pass("body size > 100"));
  EXPECT_TRUE(pass("json $.id exists"));
  EXPECT_FALSE(pass("json $.missing exists"));
  EXPECT_TRUE(pass("json $.id == 7"));
  EXPECT_TRUE(pass("json $.id > 6.5"));
  EXPECT_FALSE(pass("json $.id < 7"));
  EXPECT_TRUE(pass("json $.name == \"widget\""));
  EXPECT_TRUE(pass("json $.name != 'gadget'"));
  EXPECT_TRUE(pass("json $.ok == true"));
  EXPECT_TRUE(pass("json $.tags[0] == 1"));
  EXPECT_TRUE(pass("latency < 2ms"));
  EXPECT_FALSE(pass("latency < 1ms"));
  EXPECT_TRUE(pass("status == 201 && body contains \"widget\""));
  EXPECT_FALSE(pass("status == 201 && body contains \"gadget\""));
  EXPECT_TRUE(pass("status == 500 || json $.id == 7"));
  EXPECT_TRUE(pass("status == 500 || status == 404 || body contains \"a && b\" || status == 201"));
  EXPECT_TRUE(Check::compile("body contains \"x\"", "t").needs_body());
  EXPECT_FALSE(Check::compile("status == 2xx || latency < 1s", "t").needs_body());
  EXPECT_TRUE(Check::compile("status == 1 && header A exists", "t").needs_headers());
}

TEST(Check, MistakesAreSetupErrors) {
  for (const char* bad :
       {"status = 200", "body contains world", "latency < 3", "json a exists", "json $.a < \"x\"",
        "header exists", "status in 200", "speed > 3", "status == 200 &&"}) {
    EXPECT_THROW(Check::compile(bad, "t"), SetupError) << bad;
  }
}

}  // namespace
}  // namespace spiker::plan
