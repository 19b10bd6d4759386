#include "target/request_reader.h"

#include <gtest/gtest.h>

namespace spiker::target {
namespace {

TEST(RequestReader, ReadsPipelinedRequests) {
  std::string buf =
      "GET /a?x=1 HTTP/1.1\r\nHost: h\r\n\r\nPOST /b HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc";
  Request r;
  size_t used = 0;
  ASSERT_EQ(read_request(buf, &r, &used), ReadStatus::kComplete);
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.path(), "/a");
  EXPECT_EQ(r.query(), "x=1");
  EXPECT_EQ(r.header("HOST"), "h");
  std::string_view rest = std::string_view(buf).substr(used);
  ASSERT_EQ(read_request(rest, &r, &used), ReadStatus::kComplete);
  EXPECT_EQ(r.body, "abc");
  EXPECT_EQ(used, rest.size());
}

TEST(RequestReader, ChunkedBodyAndIncomplete) {
  Request r;
  size_t used = 0;
  std::string chunked =
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
  ASSERT_EQ(read_request(chunked, &r, &used), ReadStatus::kComplete);
  EXPECT_EQ(r.body, "abcde");
  EXPECT_EQ(used, chunked.size());
  for (size_t cut = 0; cut < chunked.size(); ++cut) {
    EXPECT_EQ(read_request(chunked.substr(0, cut), &r, &used), ReadStatus::kIncomplete) << cut;
  }
  EXPECT_EQ(read_request("GARBAGE\r\n\r\n", &r, &used), ReadStatus::kBad);
  EXPECT_EQ(read_request("GET / HTTP/1.0\r\n\r\n", &r, &used), ReadStatus::kComplete);
  EXPECT_FALSE(r.keep_alive);
}

}  // namespace
}  // namespace spiker::target
