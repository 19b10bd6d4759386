// Small text helpers for header names, header values and config words: ASCII case-insensitive
// comparison, trimming of spaces and tabs (HTTP's optional whitespace), comma-separated tokens.
#pragma once

#include <strings.h>

#include <cstddef>
#include <string>
#include <string_view>

namespace spiker {

// Appends `s` as a JSON string (quoted, escaped; bytes >= 0x80 as they are).
void append_json_string(std::string& out, std::string_view s);

// Levenshtein distance: for "did you mean" suggestions.
size_t edit_distance(std::string_view a, std::string_view b);

inline bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

inline std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// True when the comma-separated `list` (e.g. "keep-alive, Upgrade") holds `token`, in any case.
inline bool has_token(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    size_t comma = list.find(',');
    if (iequals(trim(list.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace spiker
