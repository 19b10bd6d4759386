// A guard run before the TOML parser: toml++ recurses once per dotted-key part, table-header
// part and nested array or inline table, so a crafted file 50,000 levels deep overflows the
// stack. Files nested deeper than any LoadSpiker config needs are refused with where it happens.
#pragma once

#include <string_view>

namespace spiker::config {

inline constexpr int kMaxTomlNesting = 64;

// Throws ConfigError ("path:line:col: ...") when `text` nests keys, tables, arrays or inline
// tables more than kMaxTomlNesting deep.
void check_nesting(std::string_view text, std::string_view path);

}  // namespace spiker::config
