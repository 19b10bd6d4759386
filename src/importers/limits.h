// What an imported file may make `loadspiker import` do. A HAR, Postman or OpenAPI file is
// untrusted input: its nesting, its expansion ($refs, YAML aliases, {{variables}}, parameters)
// and the test file it makes are bounded here, so a hostile file is refused in well under a
// second with a message naming the limit: never a crash, a hang or gigabytes of memory. No real
// collection comes near these (README.md, "Limits", lists them).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace spiker::importers {

// Requests in the test file (one step each).
inline constexpr size_t kMaxSteps = 64;
// Arrays and objects within each other in the file (JSON and YAML).
inline constexpr int kMaxNesting = 256;
// Postman folders within folders.
inline constexpr int kMaxFolderDepth = 64;
// The requests' text in the test file (names, URLs, headers, bodies), after {{variables}},
// parameters and schema samples are filled in; also bounds what samples and examples expand to.
inline constexpr size_t kMaxRequestBytes = size_t{32} << 20;
// YAML: values once aliases are expanded, at least this many (a file may have one per 2 bytes).
inline constexpr size_t kMaxYamlValues = 500'000;
// OpenAPI: schema nodes, examples' values and parameters visited through $refs in one document.
inline constexpr size_t kMaxExpansion = 1'000'000;
// OpenAPI: schemas within schemas in one sample (a recursive schema stops at its first
// repetition, so only a chain of distinct schemas reaches this).
inline constexpr size_t kMaxSchemaDepth = 64;

// Refuses (SetupError) JSON that nests arrays and objects deeper than kMaxNesting, naming the
// line; `hint` says what to do. Runs before the parser: nothing deep reaches a recursive walk.
void check_nesting(std::string_view text, const std::string& path, std::string_view hint);

}  // namespace spiker::importers
