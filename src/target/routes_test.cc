#include "target/routes.h"

#include <gtest/gtest.h>

namespace spiker::target {
namespace {

Response call(RouteContext& ctx, const std::string& wire, int64_t now = 0) {
  Request r;
  size_t used = 0;
  EXPECT_EQ(read_request(wire, &r, &used), ReadStatus::kComplete) << wire;
  return route(r, ctx, now);
}

TEST(Routes, Endpoints) {
  RouteContext ctx;
  ctx.secret = 1234;
  EXPECT_EQ(call(ctx, "GET / HTTP/1.1\r\n\r\n").status, 200);
  EXPECT_EQ(call(ctx, "GET /bytes/1000 HTTP/1.1\r\n\r\n").body.size(), 1000u);
  EXPECT_EQ(call(ctx, "GET /bytes/x HTTP/1.1\r\n\r\n").status, 400);
  EXPECT_EQ(call(ctx, "GET /status/503 HTTP/1.1\r\n\r\n").status, 503);
  EXPECT_EQ(call(ctx, "GET /delay/250 HTTP/1.1\r\n\r\n").delay_ms, 250);
  EXPECT_EQ(call(ctx, "GET /nope HTTP/1.1\r\n\r\n").status, 404);
  Response echo = call(ctx, "PUT /echo?q=1 HTTP/1.1\r\nX-A: b\r\nContent-Length: 2\r\n\r\nhi");
  EXPECT_NE(echo.body.find("\"method\":\"PUT\""), std::string::npos);
  EXPECT_NE(echo.body.find("\"X-A\":\"b\""), std::string::npos);
  EXPECT_NE(echo.body.find("\"body\":\"hi\""), std::string::npos);
  // A body that is not UTF-8 (a binary upload) is echoed with replacement characters; it used
  // to throw out of nlohmann's dump and abort the server.
  Response binary = call(ctx,
                         "POST /echo HTTP/1.1\r\nContent-Length: 4\r\n\r\n\xa2\xff"
                         "zz");
  EXPECT_EQ(binary.status, 200);
  EXPECT_NE(binary.body.find("z"), std::string::npos);
}

TEST(Routes, LoginThenMe) {
  RouteContext ctx;
  ctx.secret = 99;
  Response login =
      call(ctx, "POST /login HTTP/1.1\r\nContent-Length: 20\r\n\r\n{\"username\":\"alice\"}");
  ASSERT_EQ(login.status, 200);
  size_t at = login.body.find("ls_alice_");
  ASSERT_NE(at, std::string::npos);
  std::string token = login.body.substr(at, login.body.find('"', at) - at);
  EXPECT_EQ(call(ctx, "GET /me HTTP/1.1\r\n\r\n").status, 401);
  EXPECT_EQ(call(ctx, "GET /me HTTP/1.1\r\nAuthorization: Bearer ls_alice_0000000000000000\r\n\r\n")
                .status,
            401);
  Response me = call(ctx, "GET /me HTTP/1.1\r\nAuthorization: Bearer " + token + "\r\n\r\n");
  EXPECT_EQ(me.status, 200);
  EXPECT_NE(me.body.find("alice"), std::string::npos);
  EXPECT_EQ(call(ctx, "GET /me HTTP/1.1\r\nCookie: a=b; session=" + token + "\r\n\r\n").status,
            200);
  EXPECT_EQ(call(ctx, "GET /login HTTP/1.1\r\n\r\n").status, 405);
}

TEST(Routes, StallSetsTheSwitch) {
  RouteContext ctx;
  EXPECT_EQ(call(ctx, "GET /stall?ms=300 HTTP/1.1\r\n\r\n", 1'000).status, 200);
  EXPECT_EQ(ctx.stall_until_ns.load(), 1'000 + 300'000'000);
  EXPECT_EQ(call(ctx, "GET /stall/x HTTP/1.1\r\n\r\n").status, 400);
}

TEST(Routes, SerializesHead) {
  Response r;
  r.body = "abc";
  std::string wire = serialize(r, false, true);
  EXPECT_NE(wire.find("Content-Length: 3\r\n"), std::string::npos);
  EXPECT_NE(wire.find("Connection: close\r\n"), std::string::npos);
  EXPECT_TRUE(wire.ends_with("\r\n\r\n"));
}

}  // namespace
}  // namespace spiker::target
