#include "config/env_interpolate.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <utility>
#include <vector>

#include "core/error.h"

namespace spiker::config {

std::optional<std::string> process_env(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  if (v == nullptr) return std::nullopt;
  return std::string(v);
}

bool is_builtin_variable(std::string_view name) {
  std::string_view base = name.substr(0, name.find(':'));
  return base == "REQUEST_ID" || base == "TIMESTAMP_MS" || base == "VU_ID" || base == "ITERATION" ||
         base == "UUID" || base == "RANDOM_INT" || base == "RANDOM_STRING";
}

namespace {

// Where each TOML comment starts and ends, so that `${...}` inside comments is left alone.
// Tracks basic, literal and multi-line strings, in which '#' is text.
std::vector<std::pair<size_t, size_t>> comment_spans(std::string_view text) {
  std::vector<std::pair<size_t, size_t>> spans;
  std::string_view quote;  // the open string's delimiter, empty outside strings
  for (size_t i = 0; i < text.size(); ++i) {
    std::string_view rest = text.substr(i);
    if (!quote.empty()) {
      if (quote == "\"" && rest[0] == '\\') {
        ++i;  // an escaped character in a basic string
      } else if (rest.starts_with(quote)) {
        i += quote.size() - 1;
        quote = {};
      } else if (quote.size() == 1 && rest[0] == '\n') {
        quote = {};  // single-line strings end with the line (the parser reports it)
      }
      continue;
    }
    if (rest.starts_with("\"\"\"") || rest.starts_with("'''")) {
      quote = rest.substr(0, 3);
      i += 2;
    } else if (rest[0] == '"' || rest[0] == '\'') {
      quote = rest.substr(0, 1);
    } else if (rest[0] == '#') {
      size_t end = text.find('\n', i);
      if (end == std::string_view::npos) end = text.size();
      spans.emplace_back(i, end);
      i = end;
    }
  }
  return spans;
}

}  // namespace

std::string interpolate_env(std::string_view text, std::string_view file, const EnvLookup& lookup) {
  std::vector<std::pair<size_t, size_t>> comments = comment_spans(text);
  auto in_comment = [&](size_t at) {
    for (const auto& [from, to] : comments) {
      if (at >= from && at < to) return true;
    }
    return false;
  };
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    size_t open = text.find("${", i);
    if (open == std::string_view::npos) {
      out.append(text.substr(i));
      break;
    }
    out.append(text.substr(i, open - i));
    size_t close = text.find('}', open + 2);
    if (close == std::string_view::npos) {
      out.append(text.substr(open));
      break;
    }
    if (open > 0 && text[open - 1] == '$') {  // $${...}: escaped, kept for the template
      out.append(text.substr(open, 2));
      i = open + 2;
      continue;
    }
    std::string_view inner = text.substr(open + 2, close - open - 2);
    size_t sep = inner.find(":-");
    std::string name(inner.substr(0, sep));
    bool env_name = !name.empty() && std::any_of(name.begin(), name.end(), [](char c) {
      return std::isupper(c);
    }) && std::all_of(name.begin(), name.end(), [](char c) { return std::isalnum(c) || c == '_'; });
    if (!env_name || is_builtin_variable(inner) || in_comment(open)) {
      out.append(text.substr(open, close + 1 - open));  // runtime variable or comment: kept
    } else if (std::optional<std::string> value = lookup(name)) {
      out.append(*value);
    } else if (sep != std::string_view::npos) {
      out.append(inner.substr(sep + 2));
    } else {
      auto line = 1 + std::count(text.begin(), text.begin() + static_cast<ptrdiff_t>(open), '\n');
      throw ConfigError(fmt::format(
          "{}:{}: environment variable {} is not set; set it or give a default: ${{{}:-value}}",
          file, line, name, name));
    }
    i = close + 1;
  }
  return out;
}

}  // namespace spiker::config
