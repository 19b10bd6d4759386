#include "config/nesting.h"

#include <fmt/format.h>

#include "config/env_interpolate.h"

namespace spiker::config {

void check_nesting(std::string_view text, std::string_view path) {
  int line = 1, col = 0;
  int depth = 0;  // open [ and {
  int dots = 0;   // dots in the current key (since the last = , [ { ] } or line end)
  auto refuse = [&](const char* what) {
    throw ConfigError(
        fmt::format("{}:{}:{}: {} nested more than {} deep; a LoadSpiker config needs a few levels",
                    path, line, col, what, kMaxTomlNesting));
  };
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    ++col;
    if (c == '\n') {
      ++line;
      col = 0;
      dots = 0;
      continue;
    }
    if (c == '#') {  // a comment: to the end of the line
      while (i + 1 < text.size() && text[i + 1] != '\n') ++i;
      continue;
    }
    if (c == '"' || c == '\'') {  // a string (basic, literal, multi-line): skipped whole
      bool multi = text.substr(i, 3) == std::string_view(c == '"' ? "\"\"\"" : "'''");
      size_t end = i + (multi ? 3 : 1);
      for (; end < text.size(); ++end) {
        if (c == '"' && text[end] == '\\') {
          ++end;
          continue;
        }
        if (text[end] == '\n') ++line;
        if (text[end] == c && (!multi || text.substr(end, 3) == text.substr(i, 3))) break;
      }
      i = end + (multi ? 2 : 0);
      continue;
    }
    switch (c) {
      case '[':
      case '{':
        if (++depth > kMaxTomlNesting) refuse("arrays or tables");
        dots = 0;
        break;
      case ']':
      case '}':
        if (depth > 0) --depth;
        dots = 0;
        break;
      case '=':
      case ',':
        dots = 0;
        break;
      case '.':
        if (++dots > kMaxTomlNesting) refuse("keys");
        break;
      default:
        break;
    }
  }
}

}  // namespace spiker::config
