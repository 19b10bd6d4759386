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
  std::vector<std::pair<std::string_view, std::string_view>> headers;  // in order received
  std::string_view body;                                               // de-chunked
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
  enum class Kind : uint8_t { kJson, kHeader, kCookie, kRegex, kBody, kStatus };
  Kind kind = Kind::kBody;
  uint16_t var = 0;  // the variable slot it sets
  std::string arg;   // header or cookie name
  JsonPath path;
  std::shared_ptr<const Regex> regex;
  int group = 1;
  // "json:$.a", "$.a" (Kaioken's documented form), "header:Name", "cookie:name",
  // "regex:PATTERN:GROUP", "regex:PATTERN", "body", "status". Throws SetupError naming `where`.
  static Extractor compile(std::string_view text, uint16_t var, std::string_view where);
  // The value, or false when the response does not hold it.
  bool extract(const CapturedResponse& r, ExtractScratch& scratch, std::string* out) const;
  bool needs_body() const {
    return kind == Kind::kJson || kind == Kind::kRegex || kind == Kind::kBody;
  }
  bool needs_headers() const { return kind == Kind::kHeader || kind == Kind::kCookie; }
};

struct Check {
  enum class Kind : uint8_t {
    kStatusEq,
    kStatusLt,
    kStatusGt,
    kStatusLe,
    kStatusGe,
    kStatusNe,
    kStatusIn,
    kStatusRegex,
    kBodyContains,
    kBodyNotContains,
    kBodyMatches,
    kHeaderContains,
    kLatencyBelow,
  };
  std::string name;  // as written when not given
  Kind kind = Kind::kStatusEq;
  std::vector<int64_t> numbers;  // status values, or the latency bound in µs
  std::string text;              // substring, or header name for kHeaderContains
  std::string text2;             // header substring
  std::shared_ptr<const Regex> regex;
  // Kaioken's conditions: "status == 200", "status < 400", "status in [200, 201]",
  // 'body contains "x"', 'body not contains "x"', 'body matches "re"'. Throws SetupError.
  static Check compile(std::string_view text, std::string_view where);
  static Check status_regex(std::string_view pattern, std::string_view where);
  static Check header_contains(std::string name, std::string text);
  static Check latency_below(int64_t us);
  bool passes(const CapturedResponse& r) const;
  bool needs_body() const {
    return kind == Kind::kBodyContains || kind == Kind::kBodyNotContains ||
           kind == Kind::kBodyMatches;
  }
  bool needs_headers() const { return kind == Kind::kHeaderContains; }
};

// Parses a raw HTTP/1.1 response (status line, headers, body as received) into `out`; a
// chunked body is decoded into `body_buf`. False when malformed.
bool parse_captured(std::string_view raw, bool head_request, CapturedResponse* out,
                    std::string* body_buf);

}  // namespace spiker::plan
