// What extract.cc and check.cc share: the compiled regex, the JSON parser scratch and small
// parsing helpers. It includes RE2 and simdjson, so only those two files include it.
#pragma once

#include <re2/re2.h>
#include <simdjson.h>

#include <memory>
#include <string_view>
#include <vector>

#include "plan/extract.h"

namespace spiker::plan {

class Regex {
 public:
  explicit Regex(std::string_view pattern)
      : re_(re2::StringPiece(pattern.data(), pattern.size())) {}
  const re2::RE2& re() const { return re_; }

 private:
  re2::RE2 re_;
};

struct ExtractScratch::Impl {
  simdjson::dom::parser parser;
};

namespace detail {

bool parse_u64(std::string_view s, uint64_t* out);
bool parse_i64(std::string_view s, int64_t* out);
std::shared_ptr<const Regex> compile_regex(std::string_view pattern, std::string_view where);
std::string_view trim(std::string_view s);
// Walks `parts` from part `i`; the first match (wildcards try each element in order).
bool walk(simdjson::dom::element e, const std::vector<JsonPath::Part>& parts, size_t i,
          simdjson::dom::element* out);

}  // namespace detail
}  // namespace spiker::plan
