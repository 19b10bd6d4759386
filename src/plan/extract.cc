#include "plan/extract.h"

#include <fmt/format.h>
#include <strings.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>

#include "core/duration.h"
#include "core/error.h"
#include "plan/extract_internal.h"

namespace spiker::plan {

ExtractScratch::ExtractScratch() : impl_(std::make_unique<Impl>()) {}
ExtractScratch::~ExtractScratch() = default;

namespace detail {

bool parse_u64(std::string_view s, uint64_t* out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return !s.empty() && ec == std::errc() && p == s.data() + s.size();
}

bool parse_i64(std::string_view s, int64_t* out) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return !s.empty() && ec == std::errc() && p == s.data() + s.size();
}

std::shared_ptr<const Regex> compile_regex(std::string_view pattern, std::string_view where) {
  auto r = std::make_shared<const Regex>(pattern);
  if (!r->re().ok()) {
    throw SetupError(fmt::format("{}: bad regular expression '{}': {} (RE2 syntax)", where, pattern,
                                 r->re().error()));
  }
  return r;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// Walks `path` from part `i`; the first match (wildcards try each element in order).
bool walk(simdjson::dom::element e, const std::vector<JsonPath::Part>& parts, size_t i,
          simdjson::dom::element* out) {
  if (i == parts.size()) {
    *out = e;
    return true;
  }
  const JsonPath::Part& p = parts[i];
  switch (p.kind) {
    case JsonPath::Part::Kind::kKey: {
      simdjson::dom::element next;
      if (e.at_key(p.key).get(next) != simdjson::SUCCESS) return false;
      return walk(next, parts, i + 1, out);
    }
    case JsonPath::Part::Kind::kIndex: {
      simdjson::dom::array arr;
      if (e.get_array().get(arr) != simdjson::SUCCESS) return false;
      simdjson::dom::element next;
      if (arr.at(p.index).get(next) != simdjson::SUCCESS) return false;
      return walk(next, parts, i + 1, out);
    }
    case JsonPath::Part::Kind::kWildcard: {
      simdjson::dom::array arr;
      if (e.get_array().get(arr) == simdjson::SUCCESS) {
        for (simdjson::dom::element x : arr) {
          if (walk(x, parts, i + 1, out)) return true;
        }
        return false;
      }
      simdjson::dom::object obj;
      if (e.get_object().get(obj) != simdjson::SUCCESS) return false;
      for (auto field : obj) {
        if (walk(field.value, parts, i + 1, out)) return true;
      }
      return false;
    }
  }
  return false;
}

}  // namespace detail

using detail::compile_regex;
using detail::parse_i64;
using detail::parse_u64;
using detail::trim;
using detail::walk;

std::string_view CapturedResponse::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k.size() == name.size() && strncasecmp(k.data(), name.data(), k.size()) == 0) return v;
  }
  return {};
}

JsonPath JsonPath::compile(std::string_view text, std::string_view where) {
  JsonPath jp;
  auto bad = [&](std::string_view why) {
    return SetupError(fmt::format(
        "{}: JSON path '{}' {}; write e.g. $.data.items[0].id, $['key'] or $.items[*].id", where,
        text, why));
  };
  if (!text.starts_with("$")) throw bad("must start with $");
  size_t i = 1;
  while (i < text.size()) {
    if (text[i] == '.') {
      size_t end = i + 1;
      while (end < text.size() && text[end] != '.' && text[end] != '[') ++end;
      std::string_view key = text.substr(i + 1, end - i - 1);
      if (key.empty()) throw bad("has an empty name after '.'");
      if (key == "*") {
        jp.parts.push_back({Part::Kind::kWildcard, {}, 0});
      } else {
        jp.parts.push_back({Part::Kind::kKey, std::string(key), 0});
      }
      i = end;
    } else if (text[i] == '[') {
      size_t close = text.find(']', i);
      if (close == std::string_view::npos) throw bad("has '[' without ']'");
      std::string_view inner = text.substr(i + 1, close - i - 1);
      uint64_t index = 0;
      if (inner == "*") {
        jp.parts.push_back({Part::Kind::kWildcard, {}, 0});
      } else if (inner.size() >= 2 && (inner.front() == '\'' || inner.front() == '"') &&
                 inner.back() == inner.front()) {
        jp.parts.push_back({Part::Kind::kKey, std::string(inner.substr(1, inner.size() - 2)), 0});
      } else if (parse_u64(inner, &index)) {
        jp.parts.push_back({Part::Kind::kIndex, {}, index});
      } else {
        throw bad(fmt::format("has '[{}]'; use an index, * or a quoted name", inner));
      }
      i = close + 1;
    } else {
      throw bad(fmt::format("has '{}' where '.' or '[' belongs", text[i]));
    }
  }
  return jp;
}

Extractor Extractor::compile(std::string_view text, uint16_t var, std::string_view where) {
  Extractor x;
  x.var = var;
  if (text.starts_with("json:") || text.starts_with("$")) {
    x.kind = Kind::kJson;
    x.path = JsonPath::compile(text.starts_with("$") ? text : text.substr(5), where);
  } else if (text.starts_with("header:")) {
    x.kind = Kind::kHeader;
    x.arg = std::string(trim(text.substr(7)));
  } else if (text.starts_with("cookie:")) {
    x.kind = Kind::kCookie;
    x.arg = std::string(trim(text.substr(7)));
  } else if (text.starts_with("regex:")) {
    x.kind = Kind::kRegex;
    std::string_view rest = text.substr(6);
    size_t colon = rest.rfind(':');
    int64_t group = 0;
    std::string_view pattern = rest;
    if (colon != std::string_view::npos && parse_i64(rest.substr(colon + 1), &group)) {
      pattern = rest.substr(0, colon);
    } else {
      group = 1;
    }
    x.regex = compile_regex(pattern, where);
    if (group < 0 || group > x.regex->re().NumberOfCapturingGroups()) {
      throw SetupError(fmt::format("{}: regex '{}' has {} capture groups; group {} does not exist",
                                   where, pattern, x.regex->re().NumberOfCapturingGroups(), group));
    }
    x.group = static_cast<int>(group);
  } else if (text.starts_with("row:") || text.starts_with("column:")) {
    // row:N.col is $[N].col; column:col is $[0].col (a result set's first row).
    bool row = text.starts_with("row:");
    std::string_view rest = trim(text.substr(row ? 4 : 7));
    size_t dot = rest.find('.');
    std::string_view index = row ? rest.substr(0, dot) : "0";
    std::string_view column =
        row ? (dot == std::string_view::npos ? "" : rest.substr(dot + 1)) : rest;
    int64_t n = 0;
    if (!parse_i64(index, &n) || n < 0 || column.empty()) {
      throw SetupError(fmt::format(
          "{}: cannot extract '{}'; use row:N.column (row:0.id) or column:name", where, text));
    }
    x.kind = Kind::kJson;
    x.path.parts = {{JsonPath::Part::Kind::kIndex, "", static_cast<uint64_t>(n)},
                    {JsonPath::Part::Kind::kKey, std::string(column), 0}};
  } else if (text == "body" || text == "value") {
    x.kind = Kind::kBody;
  } else if (text == "status") {
    x.kind = Kind::kStatus;
  } else if (text == "rows") {
    x.kind = Kind::kRows;
  } else if (text == "error") {
    x.kind = Kind::kHeader;
    x.arg = "error";
  } else {
    throw SetupError(
        fmt::format("{}: cannot extract '{}'; use json:$.path, header:Name, cookie:name, "
                    "regex:PATTERN:GROUP, body, status, or for query results row:N.column, "
                    "column:name, rows, error",
                    where, text));
  }
  if ((x.kind == Kind::kHeader || x.kind == Kind::kCookie) && x.arg.empty()) {
    throw SetupError(fmt::format("{}: '{}' names no header or cookie", where, text));
  }
  return x;
}

bool Extractor::extract(const CapturedResponse& r, ExtractScratch& scratch,
                        std::string* out) const {
  switch (kind) {
    case Kind::kJson: {
      simdjson::dom::element doc, found;
      if (scratch.impl().parser.parse(r.body.data(), r.body.size()).get(doc) != simdjson::SUCCESS) {
        return false;
      }
      if (!walk(doc, path.parts, 0, &found) || found.is_null()) return false;
      std::string_view s;
      if (found.get_string().get(s) == simdjson::SUCCESS) {
        out->assign(s);
      } else {
        *out = simdjson::to_string(found);
      }
      return true;
    }
    case Kind::kHeader: {
      for (const auto& [k, v] : r.headers) {
        if (k.size() == arg.size() && strncasecmp(k.data(), arg.data(), k.size()) == 0) {
          out->assign(v);
          return true;
        }
      }
      return false;
    }
    case Kind::kCookie: {
      for (const auto& [k, v] : r.headers) {
        if (strncasecmp(k.data(), "set-cookie", k.size()) != 0 || k.size() != 10) continue;
        std::string_view pair = v.substr(0, v.find(';'));
        size_t eq = pair.find('=');
        if (eq == std::string_view::npos || trim(pair.substr(0, eq)) != arg) continue;
        out->assign(trim(pair.substr(eq + 1)));
        return true;
      }
      return false;
    }
    case Kind::kRegex: {
      re2::StringPiece groups[16];
      re2::StringPiece text(r.body.data(), r.body.size());
      int n = std::min(group + 1, 16);
      if (!regex->re().Match(text, 0, text.size(), re2::RE2::UNANCHORED, groups, n)) return false;
      out->assign(groups[group].data(), groups[group].size());
      return true;
    }
    case Kind::kBody:
      out->assign(r.body);
      return true;
    case Kind::kStatus:
      *out = std::to_string(r.status);
      return true;
    case Kind::kRows:
      if (r.rows < 0) return false;
      *out = std::to_string(r.rows);
      return true;
  }
  return false;
}

bool parse_captured(std::string_view raw, bool head_request, CapturedResponse* out,
                    std::string* body_buf) {
  out->headers.clear();
  out->body = {};
  for (;;) {  // skip interim 1xx responses
    size_t head_end = raw.find("\r\n\r\n");
    if (head_end == std::string_view::npos || !raw.starts_with("HTTP/1.")) return false;
    std::string_view head = raw.substr(0, head_end + 2);
    raw = raw.substr(head_end + 4);
    size_t eol = head.find("\r\n");
    std::string_view status_line = head.substr(0, eol);
    int64_t status = 0;
    if (status_line.size() < 12 || !parse_i64(status_line.substr(9, 3), &status)) return false;
    out->status = static_cast<int>(status);
    if (status >= 100 && status < 200) continue;
    head = head.substr(eol + 2);
    while (!head.empty()) {
      size_t e = head.find("\r\n");
      std::string_view line = head.substr(0, e);
      head = head.substr(e + 2);
      size_t colon = line.find(':');
      if (colon == std::string_view::npos) continue;
      out->headers.emplace_back(trim(line.substr(0, colon)), trim(line.substr(colon + 1)));
    }
    break;
  }
  if (head_request || out->status == 204 || out->status == 304) return true;
  std::string_view te = out->header("transfer-encoding");
  if (te.find("chunked") == std::string_view::npos) {
    uint64_t length = 0;
    std::string_view cl = out->header("content-length");
    if (!cl.empty() && parse_u64(cl, &length) && length < raw.size()) raw = raw.substr(0, length);
    out->body = raw;
    return true;
  }
  body_buf->clear();
  for (;;) {
    size_t eol = raw.find("\r\n");
    if (eol == std::string_view::npos) return false;
    std::string_view size_text = raw.substr(0, eol);
    size_text = size_text.substr(0, size_text.find(';'));
    uint64_t size = 0;
    auto [p, ec] = std::from_chars(size_text.data(), size_text.data() + size_text.size(), size, 16);
    if (ec != std::errc()) return false;
    raw = raw.substr(eol + 2);
    if (size == 0) break;
    if (raw.size() < size) return false;
    body_buf->append(raw.substr(0, size));
    raw = raw.substr(std::min<size_t>(raw.size(), size + 2));
  }
  out->body = *body_buf;
  return true;
}

}  // namespace spiker::plan
