// Extractors (values taken from a response into a VU's variables) and checks (conditions on a
// response). Compiled once from their text; evaluated on a captured response. The JSON and
// regex engines (simdjson, RE2) stay inside extract.cc.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace spiker::plan {

// What an extractor or a check reads of a complete response.
struct CapturedResponse {
  int status = 0;
  std::vector<std::pair<std::string_view, std::string_view>> headers;   // in order received
  std::string_view body;                                                // de-chunked
  std::vector<std::pair<std::string_view, std::string_view>> trailers;  // HTTP/2 trailers
  // Items in a reply (SQL rows returned or affected, documents, directory entries); -1: none.
  int64_t rows = -1;
  int64_t latency_us = 0;
  std::string_view header(std::string_view name) const;  // first, case-insensitive; "" if none
};

// JSONPath subset: $.a.b[0].c, $['a'], $.items[*].id (the first match is taken).
struct JsonPath {
  struct Part {
    enum class Kind : uint8_t { kKey, kIndex, kWildcard };
    Kind kind;
    std::string key;
    uint64_t index = 0;
  };
  std::vector<Part> parts;
  static JsonPath compile(std::string_view text, std::string_view where);
};

class Regex;  // a compiled RE2 pattern

// Scratch state per worker: the JSON parser keeps its buffers between responses.
class ExtractScratch {
 public:
  ExtractScratch();
  ~ExtractScratch();
  ExtractScratch(const ExtractScratch&) = delete;
  ExtractScratch& operator=(const ExtractScratch&) = delete;
  struct Impl;
  Impl& impl() { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

struct Extractor {
  enum class Kind : uint8_t { kJson, kHeader, kCookie, kRegex, kBody, kStatus, kRows };
  Kind kind = Kind::kBody;
  uint16_t var = 0;  // the variable slot it sets
  std::string arg;   // header or cookie name
  JsonPath path;
  std::shared_ptr<const Regex> regex;
  int group = 1;
  // "json:$.a", "$.a" (Kaioken's documented form), "header:Name", "cookie:name",
  // "regex:PATTERN:GROUP", "regex:PATTERN", "body", "status"; for replies with rows (SQL, whose
  // body is a JSON array of row objects): "row:0.id" ($[0].id), "column:name" ($[0].name),
  // "value" (the body), "rows" (the count), "error" (the error code). Throws SetupError.
  static Extractor compile(std::string_view text, uint16_t var, std::string_view where);
  // The value, or false when the response does not hold it.
  bool extract(const CapturedResponse& r, ExtractScratch& scratch, std::string* out) const;
  bool needs_body() const {
    return kind == Kind::kJson || kind == Kind::kRegex || kind == Kind::kBody;
  }
  bool needs_headers() const { return kind == Kind::kHeader || kind == Kind::kCookie; }
};

// A condition on a response. Compiled once from text; `passes` reads only what it needs.
//   status == 200 | != | < | <= | > | >= N, status in [200, 201], status == 2xx, status matches
//   "2.." header NAME exists | == "v" | contains "v" | matches "re" body == "s" | != "s" |
//   body contains "s" | not
//   contains "s" | matches "re" | size < N (also > <= >= ==) json $.path exists | == "v" | == 5 |
//   != .. | < N | > N | <= N | >= N latency < 200ms (also duration, response_time) A && B, A || B
//   (&& binds tighter) rows == N (also > < ...: a reply's rows / documents / entries)
//   error == "23505" | exists | contains "v" | matches "re": the server's error code (SQLSTATE,
//   Redis prefix), read as the reply's "error" header
//   graphql.errors == N (also < > ...): the GraphQL response's errors (none: 0)
struct Check {
  enum class Kind : uint8_t {
    kStatus,
    kStatusIn,
    kStatusClass,
    kStatusRegex,
    kHeaderExists,
    kHeaderEquals,
    kHeaderContains,
    kHeaderMatches,
    kBodyContains,
    kBodyNotContains,
    kBodyEquals,  // body == "x" / != (a Redis value, a message): the whole body
    kBodyMatches,
    kBodySize,
    kJsonExists,
    kJsonCompare,
    kLatency,
    kRows,           // rows == 1, rows > 0 (also count, documents, entries)
    kGraphqlErrors,  // graphql.errors == 0: the length of the JSON body's "errors"
    kAll,
    kAny,
  };
  enum class Op : uint8_t { kEq, kNe, kLt, kLe, kGt, kGe };
  std::string name;            // as written when not given
  uint16_t id = 0;             // index among the run's checks (counted per check)
  bool decides = true;         // a step's own check: its result decides whether the step passed
  bool fails_request = false;  // a failure counts the request as failed (fail_request = true)
  Kind kind = Kind::kStatus;
  Op op = Op::kEq;
  std::vector<int64_t> numbers;  // statuses, status class, size, latency (µs)
  double number = 0;             // JSON comparison value when numeric
  bool numeric = false;
  std::string text;   // substring, header name, JSON string value
  std::string text2;  // header value for kHeaderEquals/Contains
  std::shared_ptr<const Regex> regex;
  JsonPath path;
  std::vector<Check> parts;  // kAll, kAny
  static Check compile(std::string_view text, std::string_view where);
  static Check all_of(std::string name, std::vector<Check> parts);
  bool passes(const CapturedResponse& r, ExtractScratch& scratch) const;
  bool needs_body() const;
  bool needs_headers() const;
};

// Parses a raw HTTP/1.1 response (status line, headers, body as received) into `out`; a
// chunked body is decoded into `body_buf`. False when malformed.
bool parse_captured(std::string_view raw, bool head_request, CapturedResponse* out,
                    std::string* body_buf);

}  // namespace spiker::plan
