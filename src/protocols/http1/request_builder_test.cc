#include "protocols/http1/request_builder.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "core/redact.h"

namespace spiker::http1 {
namespace {

TEST(RequestBuilder, BuildsGetWithDefaults) {
  RequestSpec spec;
  spec.url = parse_url("http://127.0.0.1:8080/x?y=1");
  EXPECT_EQ(build_request(spec),
            "GET /x?y=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: loadspiker/0.1\r\n"
            "Accept: */*\r\n\r\n");
}

TEST(RequestBuilder, BodyHeadersAndClose) {
  RequestSpec spec;
  spec.method = "POST";
  spec.url = parse_url("http://h/");
  spec.headers = {{"Content-Type", "application/json"}, {"Host", "other"}};
  spec.body = "{\"a\":1}";
  spec.keep_alive = false;
  EXPECT_EQ(build_request(spec),
            "POST / HTTP/1.1\r\nUser-Agent: loadspiker/0.1\r\nAccept: */*\r\n"
            "Content-Type: application/json\r\nHost: other\r\nConnection: close\r\n"
            "Content-Length: 7\r\n\r\n{\"a\":1}");
}

TEST(RequestBuilder, ParsesAndRejectsHeaderArgs) {
  EXPECT_EQ(parse_header_arg("X-A:  b c "), (std::pair<std::string, std::string>{"X-A", "b c"}));
  EXPECT_EQ(parse_header_arg("X-Empty:").second, "");
  EXPECT_THROW(parse_header_arg("no colon"), SetupError);
  EXPECT_THROW(parse_header_arg(": v"), SetupError);
  EXPECT_THROW(parse_header_arg("bad name: v"), SetupError);
}

TEST(Redact, KnowsSecrets) {
  EXPECT_TRUE(is_secret_header("Authorization"));
  EXPECT_TRUE(is_secret_header("cookie"));
  EXPECT_TRUE(is_secret_header("X-Auth-Token"));
  EXPECT_TRUE(is_secret_header("X-API-KEY"));
  EXPECT_FALSE(is_secret_header("Accept"));
}

}  // namespace
}  // namespace spiker::http1
