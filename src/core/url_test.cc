#include "core/url.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace spiker {
namespace {

TEST(Url, ParsesPlainHttp) {
  Url u = parse_url("http://127.0.0.1:8080/a/b?x=1");
  EXPECT_EQ(u.scheme, "http");
  EXPECT_EQ(u.host, "127.0.0.1");
  EXPECT_EQ(u.port, 8080);
  EXPECT_EQ(u.target, "/a/b?x=1");
  EXPECT_EQ(u.host_header, "127.0.0.1:8080");
  EXPECT_FALSE(u.tls());
}

TEST(Url, DefaultsPortAndPath) {
  Url u = parse_url("HTTPS://localhost");
  EXPECT_EQ(u.port, 443);
  EXPECT_EQ(u.target, "/");
  EXPECT_EQ(u.host_header, "localhost");
  EXPECT_TRUE(u.tls());
  EXPECT_EQ(parse_url("http://h?q=1").target, "/?q=1");
  EXPECT_EQ(parse_url("http://h/p#frag").target, "/p");
}

TEST(Url, ParsesIpv6) {
  Url u = parse_url("http://[::1]:9000/x");
  EXPECT_EQ(u.host, "::1");
  EXPECT_EQ(u.port, 9000);
  EXPECT_EQ(u.host_header, "[::1]:9000");
  EXPECT_EQ(parse_url("http://[::1]/").host_header, "[::1]");
}

TEST(Url, RejectsBadInputWithReason) {
  for (const char* bad :
       {"localhost:8080", "ftp://h/", "http://", "http://h:0/", "http://h:70000/", "http://h:abc/",
        "http://[::1/", "http://u:p@h/", "http://h/a b", "http://h:/"}) {
    try {
      parse_url(bad);
      ADD_FAILURE() << "accepted " << bad;
    } catch (const SetupError& e) {
      EXPECT_NE(std::string(e.what()).find("expected e.g."), std::string::npos);
    }
  }
}

}  // namespace
}  // namespace spiker
