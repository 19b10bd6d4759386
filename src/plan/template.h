// Templates: text with `${...}` placeholders compiled once into segments, rendered per request
// without parsing or name lookups. Built-ins: ${REQUEST_ID}, ${TIMESTAMP_MS}, ${VU_ID},
// ${ITERATION}, ${UUID}, ${RANDOM_INT:a:b}, ${RANDOM_STRING:n}.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace spiker::plan {

enum class Builtin : uint8_t {
  kRequestId,     // unique per request within the run (1, 2, ...)
  kTimestampMs,   // wall clock, Unix milliseconds
  kVuId,          // the VU's number, from 1
  kIteration,     // the VU's iteration, from 0
  kUuid,          // a random version-4 UUID
  kRandomInt,     // uniform in [a, b]
  kRandomString,  // n characters from [a-zA-Z0-9]
  kVariable,      // a VU's variable (an extracted value), by slot
  kDataColumn,    // a column of the VU's current row of a data table
};

// Names a template may use besides the built-ins: variables (slot = index) and data tables
// with their columns, used as ${table.column}.
struct Scope {
  std::vector<std::string> variables;
  std::vector<std::pair<std::string, std::vector<std::string>>> tables;
};

// What a render needs to know about the request being made.
struct RenderContext {
  uint64_t request_id = 0;
  uint64_t vu_id = 0;
  uint64_t iteration = 0;
  std::mt19937_64* rng = nullptr;
  const std::string* vars = nullptr;               // by slot
  const std::string* const* table_rows = nullptr;  // by table: the row's first cell
};

class Template {
 public:
  // Compiles `text`; throws SetupError naming `where` for an unknown or malformed placeholder.
  static Template compile(std::string_view text, std::string_view where,
                          const Scope* scope = nullptr);
  // Text taken as it is (a file's bytes): never scanned for placeholders.
  static Template literal(std::string text);
  void append(const Template& other);

  bool is_static() const {
    return segments_.size() <= 1 && (segments_.empty() || segments_[0].literal);
  }
  // The text itself when static.
  std::string static_text() const;
  // Appends the rendered text to `out`.
  void render(std::string& out, const RenderContext& ctx) const;
  uint64_t vars_used() const { return vars_used_; }      // bit per variable slot
  uint64_t tables_used() const { return tables_used_; }  // bit per data table

  struct Segment {
    bool literal = true;
    std::string text;  // when literal
    Builtin builtin = Builtin::kRequestId;
    int64_t a = 0, b = 0;  // RANDOM_INT bounds, RANDOM_STRING length; slot; table, column
  };

 private:
  std::vector<Segment> segments_;
  uint64_t vars_used_ = 0;
  uint64_t tables_used_ = 0;
};

}  // namespace spiker::plan
