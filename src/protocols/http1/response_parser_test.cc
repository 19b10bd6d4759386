#include "protocols/http1/response_parser.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace spiker::http1 {
namespace {

using metrics::ErrorKind;

struct Outcome {
  ParseStatus status;
  int code = 0;
  uint64_t body = 0;
  bool keep_alive = false;
  size_t end = 0;  // offset just past the response
  ErrorKind error = ErrorKind::kOther;
};

// Feeds `wire` in pieces cut at `cuts` (sorted offsets); finishes with EOF when `eof`.
Outcome parse(const std::string& wire, const std::vector<size_t>& cuts, bool head = false,
              bool eof = false) {
  ResponseParser p;
  p.start(head);
  size_t at = 0;
  std::vector<size_t> bounds = cuts;
  bounds.push_back(wire.size());
  for (size_t b : bounds) {
    while (at < b) {
      size_t used = 0;
      ParseStatus s = p.feed(wire.data() + at, b - at, &used);
      if (s == ParseStatus::kError) return {s, 0, 0, false, at, p.error_kind()};
      at += used;
      if (s == ParseStatus::kComplete) return {s, p.status(), p.body_bytes(), p.keep_alive(), at};
    }
  }
  if (eof) {
    ParseStatus s = p.finish_eof();
    return {s, p.status(), p.body_bytes(), p.keep_alive(), at, p.error_kind()};
  }
  return {ParseStatus::kNeedMore, p.status(), p.body_bytes(), p.keep_alive(), at};
}

struct Case {
  const char* name;
  std::string wire;
  bool head = false;
  bool eof = false;
  int code;
  uint64_t body;
  bool keep_alive;
  size_t extra = 0;  // trailing bytes that belong to the next response
};

std::vector<Case> framings() {
  return {
      {"content-length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nServer: x\r\n\r\nhello", false,
       false, 200, 5, true},
      {"zero-length", "HTTP/1.1 200 OK\r\ncontent-length:0\r\n\r\n", false, false, 200, 0, true},
      {"chunked-trailers",
       "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n5;ext=1\r\nhello\r\n"
       "A\r\n0123456789\r\n0\r\nX-Trailer: 1\r\n\r\n",
       false, false, 200, 15, true},
      {"chunked-bare-lf", "HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n3\nabc\n0\n\n", false,
       false, 200, 3, true},
      {"close-delimited", "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end", false, true,
       200, 13, false},
      {"no-length-means-close", "HTTP/1.1 200 OK\r\n\r\nabc", false, true, 200, 3, false},
      {"head", "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", true, false, 200, 0, true},
      {"1xx-then-200",
       "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: x\r\n\r\n"
       "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok",
       false, false, 201, 2, true},
      {"204", "HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n", false, false, 204, 0, true},
      {"304", "HTTP/1.1 304 Not Modified\r\nETag: x\r\n\r\n", false, false, 304, 0, true},
      {"http10-close", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi", false, false, 200, 2,
       false},
      {"http10-keep-alive",
       "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\nhi", false, false,
       200, 2, true},
      {"connection-close-list",
       "HTTP/1.1 404 NF\r\nConnection: foo, close\r\nContent-Length: 1\r\n\r\nx", false, false, 404,
       1, false},
      {"no-reason", "HTTP/1.1 500\r\nContent-Length: 0\r\n\r\n", false, false, 500, 0, true},
      {"pipelined-leftover",
       "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcHTTP/1.1 200 OK\r\nContent-Length: "
       "0\r\n\r\n",
       false, false, 200, 3, true, 38},
      {"similar-names",
       "HTTP/1.1 200 OK\r\nContent-Lengthy: 9\r\nContent-Type: a\r\nConnections: close\r\n"
       "Content-Length: 1\r\n\r\nz",
       false, false, 200, 1, true},
  };
}

TEST(ResponseParser, EveryFramingAtEverySplit) {
  for (const Case& c : framings()) {
    size_t len = c.wire.size();
    for (size_t cut = 0; cut <= len; ++cut) {
      Outcome o = parse(c.wire, {cut}, c.head, c.eof);
      ASSERT_EQ(o.status, ParseStatus::kComplete) << c.name << " cut " << cut;
      EXPECT_EQ(o.code, c.code) << c.name;
      EXPECT_EQ(o.body, c.body) << c.name << " cut " << cut;
      EXPECT_EQ(o.keep_alive, c.keep_alive) << c.name;
      EXPECT_EQ(o.end, len - c.extra) << c.name << " cut " << cut;
    }
    // Byte by byte.
    std::vector<size_t> every;
    for (size_t i = 1; i < len; ++i) every.push_back(i);
    Outcome o = parse(c.wire, every, c.head, c.eof);
    ASSERT_EQ(o.status, ParseStatus::kComplete) << c.name << " byte by byte";
    EXPECT_EQ(o.body, c.body) << c.name;
  }
}

TEST(ResponseParser, IncompleteResponsesAtEof) {
  EXPECT_EQ(parse("", {}, false, true).error, ErrorKind::kReset);
  EXPECT_EQ(parse("HTTP/1.1 200 OK\r\nContent-", {}, false, true).error, ErrorKind::kHttp);
  EXPECT_EQ(parse("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", {}, false, true).error,
            ErrorKind::kBody);
  EXPECT_EQ(
      parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", {}, false, true).error,
      ErrorKind::kBody);
  EXPECT_EQ(parse("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", {}).status,
            ParseStatus::kNeedMore);
}

TEST(ResponseParser, RejectsMalformed) {
  for (const char* bad :
       {"HTTP/2.0 200 OK\r\n\r\n", "http/1.1 200 OK\r\n\r\n", "HTTP/1.1 20 OK\r\n\r\n",
        "HTTP/1.1 2000 OK\r\n\r\n", "HTTP/1.1 099 X\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1 2\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
        "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nabc",
        "HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n", "HTTP/1.1 200 OK\r\n\rX", "<html>hello</html>"}) {
    Outcome o = parse(bad, {}, false, false);
    EXPECT_EQ(o.status, ParseStatus::kError) << bad;
    EXPECT_EQ(o.error, ErrorKind::kHttp) << bad;
  }
}

// The whole-head fast path and the byte-wise states are one grammar: a head parses the same
// way whether it arrives at once or split anywhere (the cases an audit found differing).
TEST(ResponseParser, WholeAndSplitHeadsAgree) {
  const char* heads[] = {
      "HTTP/1.1 200 OK\r\nContent-Length: 00000000000000000005\r\n\r\nhello",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chun ked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked \r\n\r\n5\r\nhello\r\n0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nConnection: clo se\r\nContent-Length: 2\r\n\r\nhi",
      "HTTP/1.1 200 OK\r\nConnection:  close \r\nContent-Length: 2\r\n\r\nhi",
      "HTTP/1.1 200 OK\r\n: empty name\r\nContent-Length: 2\r\n\r\nhi",
      "HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551616\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551610\r\n\r\nx",
      "HTTP/1.1 200 OK\r\nConnection: keep-alive, close\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.0 200 OK\r\nContent-Length: 1\r\x9b\n\r\nhi",  // found by fuzz_http1_response
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\r\n\r\nabc",
  };
  for (const char* h : heads) {
    std::string wire = h;
    Outcome whole = parse(wire, {}, false, true);
    for (size_t cut = 1; cut < wire.size(); ++cut) {
      Outcome split = parse(wire, {cut}, false, true);
      EXPECT_EQ(split.status, whole.status) << h << " cut " << cut;
      EXPECT_EQ(split.code, whole.code) << h << " cut " << cut;
      EXPECT_EQ(split.body, whole.body) << h << " cut " << cut;
      EXPECT_EQ(split.keep_alive, whole.keep_alive) << h << " cut " << cut;
      if (whole.status == ParseStatus::kComplete) EXPECT_EQ(split.end, whole.end) << h << cut;
    }
  }
  // What they mean: leading zeros are a length; "chun ked" is not chunked (the body runs to the
  // close); "clo se" is not close; an empty name is malformed.
  EXPECT_EQ(parse(heads[0], {}).body, 5u);
  Outcome te = parse(heads[1], {}, false, true);
  EXPECT_EQ(te.status, ParseStatus::kComplete);
  EXPECT_FALSE(te.keep_alive);
  EXPECT_EQ(parse(heads[2], {}).body, 5u);
  EXPECT_TRUE(parse(heads[3], {}).keep_alive);
  EXPECT_FALSE(parse(heads[4], {}).keep_alive);
  EXPECT_EQ(parse(heads[5], {}).status, ParseStatus::kError);
  EXPECT_EQ(parse(heads[6], {}).status, ParseStatus::kError);
}

TEST(ResponseParser, HugeHeadIsRejected) {
  std::string wire = "HTTP/1.1 200 OK\r\nX-Big: " + std::string(70'000, 'a') + "\r\n\r\n";
  EXPECT_EQ(parse(wire, {}).status, ParseStatus::kError);
}

TEST(ResponseParser, RandomGarbageNeverCrashes) {
  std::mt19937 rng(99);
  const std::string alphabet = "HTP/1.0123456789 \r\n:;,abcdefxyzContent-LengthTransfer-Encoding";
  int errors = 0;
  for (int round = 0; round < 20'000; ++round) {
    std::string wire;
    if (round % 2) wire = "HTTP/1.1 200 OK\r\n";
    size_t n = rng() % 200;
    for (size_t i = 0; i < n; ++i) {
      wire.push_back(round % 3 ? alphabet[rng() % alphabet.size()] : static_cast<char>(rng()));
    }
    std::vector<size_t> cuts;
    for (size_t i = 0; i < wire.size(); i += 1 + rng() % 17) cuts.push_back(i);
    Outcome o = parse(wire, cuts, false, rng() % 2);
    EXPECT_LE(o.end, wire.size());
    errors += o.status == ParseStatus::kError;
  }
  EXPECT_GT(errors, 10'000);  // garbage is mostly rejected, and counted as such
}

TEST(ResponseParser, RestartsForNextPipelinedResponse) {
  std::string wire =
      "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcHTTP/1.1 404 NF\r\nContent-Length: 0\r\n\r\n";
  ResponseParser p;
  p.start(false);
  size_t used = 0;
  ASSERT_EQ(p.feed(wire.data(), wire.size(), &used), ParseStatus::kComplete);
  p.start(false);
  size_t used2 = 0;
  ASSERT_EQ(p.feed(wire.data() + used, wire.size() - used, &used2), ParseStatus::kComplete);
  EXPECT_EQ(p.status(), 404);
  EXPECT_EQ(used + used2, wire.size());
}

}  // namespace
}  // namespace spiker::http1
