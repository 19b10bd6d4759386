#include "importers/limits.h"

#include <fmt/format.h>

#include "core/error.h"

namespace spiker::importers {

void check_nesting(std::string_view text, const std::string& path, std::string_view hint) {
  int depth = 0;
  size_t line = 1;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char ch = text[i];
    if (ch == '\n') ++line;
    if (in_string) {
      if (ch == '\\') {
        ++i;
      } else if (ch == '"') {
        in_string = false;
      }
    } else if (ch == '"') {
      in_string = true;
    } else if (ch == '{' || ch == '[') {
      if (++depth > kMaxNesting) {
        throw SetupError(fmt::format("import: '{}': arrays and objects nested deeper than {} "
                                     "levels (line {}, byte {}); {}",
                                     path, kMaxNesting, line, i + 1, hint),
                         kExitUsage);
      }
    } else if (ch == '}' || ch == ']') {
      --depth;
    }
  }
}

}  // namespace spiker::importers
