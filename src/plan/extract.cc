#include "plan/extract.h"

#include <fmt/format.h>
#include <re2/re2.h>
#include <simdjson.h>
#include <strings.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>

#include "core/duration.h"
#include "core/error.h"

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

ExtractScratch::ExtractScratch() : impl_(std::make_unique<Impl>()) {}
ExtractScratch::~ExtractScratch() = default;

namespace {

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

}  // namespace

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
  } else if (text == "body") {
    x.kind = Kind::kBody;
  } else if (text == "status") {
    x.kind = Kind::kStatus;
  } else {
    throw SetupError(
        fmt::format("{}: cannot extract '{}'; use json:$.path, header:Name, cookie:name, "
                    "regex:PATTERN:GROUP, body or status",
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
  }
  return false;
}

namespace {

bool compare(double a, Check::Op op, double b) {
  switch (op) {
    case Check::Op::kEq:
      return a == b;
    case Check::Op::kNe:
      return a != b;
    case Check::Op::kLt:
      return a < b;
    case Check::Op::kLe:
      return a <= b;
    case Check::Op::kGt:
      return a > b;
    case Check::Op::kGe:
      return a >= b;
  }
  return false;
}

// Splits at a top-level `sep` (outside quotes).
std::vector<std::string_view> split_top(std::string_view t, std::string_view sep) {
  std::vector<std::string_view> out;
  char quote = 0;
  size_t from = 0;
  for (size_t i = 0; i < t.size(); ++i) {
    char c = t[i];
    if (quote != 0) {
      if (c == quote) quote = 0;
    } else if (c == '"' || c == '\'') {
      quote = c;
    } else if (t.substr(i).starts_with(sep)) {
      out.push_back(t.substr(from, i - from));
      i += sep.size() - 1;
      from = i + 1;
    }
  }
  out.push_back(t.substr(from));
  return out;
}

// A leading comparison operator; the rest after it.
bool take_op(std::string_view& rest, Check::Op* op) {
  static constexpr std::pair<std::string_view, Check::Op> kOps[] = {
      {"==", Check::Op::kEq}, {"!=", Check::Op::kNe}, {"<=", Check::Op::kLe},
      {">=", Check::Op::kGe}, {"<", Check::Op::kLt},  {">", Check::Op::kGt}};
  for (const auto& [text, o] : kOps) {
    if (rest.starts_with(text)) {
      *op = o;
      rest = trim(rest.substr(text.size()));
      return true;
    }
  }
  return false;
}

Check compile_one(std::string_view t, std::string_view where, std::string_view whole) {
  Check c;
  t = trim(t);
  auto bad = [&]() {
    return SetupError(fmt::format(
        "{}: cannot read the check '{}'; write e.g. status == 200, status in [200, 201], status "
        "== 2xx, header Content-Type contains \"json\", body contains \"x\", body not contains "
        "\"x\", body matches \"re\", body size < 1000, json $.id exists, json $.n > 3, latency < "
        "200ms, joined with && or ||",
        where, whole));
  };
  auto quoted = [&](std::string_view s) {
    s = trim(s);
    if (s.size() < 2 || (s.front() != '"' && s.front() != '\'') || s.back() != s.front()) {
      throw bad();
    }
    return std::string(s.substr(1, s.size() - 2));
  };
  auto word = [&](std::string_view& rest) {
    size_t sp = rest.find_first_of(" \t");
    std::string_view w = rest.substr(0, sp);
    rest = sp == std::string_view::npos ? std::string_view() : trim(rest.substr(sp));
    return w;
  };
  std::string_view rest = t;
  std::string_view subject = word(rest);
  if (subject == "status") {
    if (rest.starts_with("in")) {
      std::string_view list = trim(rest.substr(2));
      if (!list.starts_with("[") || !list.ends_with("]")) throw bad();
      list = list.substr(1, list.size() - 2);
      c.kind = Check::Kind::kStatusIn;
      for (std::string_view item : split_top(list, ",")) {
        int64_t v = 0;
        if (!parse_i64(item, &v)) throw bad();
        c.numbers.push_back(v);
      }
      return c;
    }
    if (rest.starts_with("matches")) {
      c.kind = Check::Kind::kStatusRegex;
      c.regex = compile_regex(fmt::format("^(?:{})$", quoted(rest.substr(7))), where);
      return c;
    }
    if (!take_op(rest, &c.op)) throw bad();
    int64_t v = 0;
    if (rest.size() == 3 && rest[0] >= '1' && rest[0] <= '5' && rest.substr(1) == "xx" &&
        (c.op == Check::Op::kEq || c.op == Check::Op::kNe)) {
      c.kind = Check::Kind::kStatusClass;
      c.numbers = {rest[0] - '0'};
      return c;
    }
    if (!parse_i64(rest, &v)) throw bad();
    c.kind = Check::Kind::kStatus;
    c.numbers = {v};
    return c;
  }
  if (subject == "header") {
    c.text = std::string(word(rest));
    if (c.text.empty()) throw bad();
    if (rest == "exists") {
      c.kind = Check::Kind::kHeaderExists;
    } else if (rest.starts_with("==")) {
      c.kind = Check::Kind::kHeaderEquals;
      c.text2 = quoted(rest.substr(2));
    } else if (rest.starts_with("contains")) {
      c.kind = Check::Kind::kHeaderContains;
      c.text2 = quoted(rest.substr(8));
    } else if (rest.starts_with("matches")) {
      c.kind = Check::Kind::kHeaderMatches;
      c.regex = compile_regex(quoted(rest.substr(7)), where);
    } else {
      throw bad();
    }
    return c;
  }
  if (subject == "body") {
    if (rest.starts_with("not contains")) {
      c.kind = Check::Kind::kBodyNotContains;
      c.text = quoted(rest.substr(12));
    } else if (rest.starts_with("contains")) {
      c.kind = Check::Kind::kBodyContains;
      c.text = quoted(rest.substr(8));
    } else if (rest.starts_with("matches")) {
      c.kind = Check::Kind::kBodyMatches;
      c.text = quoted(rest.substr(7));
      c.regex = compile_regex(c.text, where);
    } else if (rest.starts_with("size")) {
      rest = trim(rest.substr(4));
      int64_t v = 0;
      if (!take_op(rest, &c.op) || !parse_i64(rest, &v)) throw bad();
      c.kind = Check::Kind::kBodySize;
      c.numbers = {v};
    } else {
      throw bad();
    }
    return c;
  }
  if (subject == "json") {
    std::string_view path = word(rest);
    c.path = JsonPath::compile(path, where);
    c.text = std::string(path);
    if (rest == "exists") {
      c.kind = Check::Kind::kJsonExists;
      return c;
    }
    if (!take_op(rest, &c.op)) throw bad();
    c.kind = Check::Kind::kJsonCompare;
    if (rest.starts_with("\"") || rest.starts_with("'")) {
      c.text2 = quoted(rest);
      if (c.op != Check::Op::kEq && c.op != Check::Op::kNe) throw bad();
    } else if (rest == "true" || rest == "false" || rest == "null") {
      c.text2 = std::string(rest);
      if (c.op != Check::Op::kEq && c.op != Check::Op::kNe) throw bad();
    } else {
      std::string num(rest);
      char* end = nullptr;
      c.number = std::strtod(num.c_str(), &end);
      if (num.empty() || end != num.c_str() + num.size()) throw bad();
      c.numeric = true;
    }
    return c;
  }
  if (subject == "latency" || subject == "duration" || subject == "response_time") {
    if (!take_op(rest, &c.op) || rest.empty() ||
        !std::isalpha(static_cast<unsigned char>(rest.back()))) {
      throw bad();  // a unit is needed: 200ms, 1s
    }
    c.kind = Check::Kind::kLatency;
    c.numbers = {parse_duration(rest, where).count() / 1000};
    return c;
  }
  throw bad();
}

}  // namespace

Check Check::compile(std::string_view text, std::string_view where) {
  std::vector<Check> any;
  for (std::string_view alt : split_top(text, "||")) {
    std::vector<Check> all;
    for (std::string_view part : split_top(alt, "&&"))
      all.push_back(compile_one(part, where, text));
    if (all.size() == 1) {
      any.push_back(std::move(all[0]));
    } else {
      Check c;
      c.kind = Kind::kAll;
      c.parts = std::move(all);
      any.push_back(std::move(c));
    }
  }
  Check c;
  if (any.size() == 1) {
    c = std::move(any[0]);
  } else {
    c.kind = Kind::kAny;
    c.parts = std::move(any);
  }
  c.name = std::string(trim(text));
  return c;
}

Check Check::all_of(std::string name, std::vector<Check> parts) {
  Check c;
  c.name = std::move(name);
  if (parts.size() == 1) {
    std::string n = std::move(c.name);
    c = std::move(parts[0]);
    c.name = std::move(n);
    return c;
  }
  c.kind = Kind::kAll;
  c.parts = std::move(parts);
  return c;
}

bool Check::needs_body() const {
  switch (kind) {
    case Kind::kBodyContains:
    case Kind::kBodyNotContains:
    case Kind::kBodyMatches:
    case Kind::kBodySize:
    case Kind::kJsonExists:
    case Kind::kJsonCompare:
      return true;
    case Kind::kAll:
    case Kind::kAny:
      return std::any_of(parts.begin(), parts.end(), [](const Check& p) { return p.needs_body(); });
    default:
      return false;
  }
}

bool Check::needs_headers() const {
  switch (kind) {
    case Kind::kHeaderExists:
    case Kind::kHeaderEquals:
    case Kind::kHeaderContains:
    case Kind::kHeaderMatches:
      return true;
    case Kind::kAll:
    case Kind::kAny:
      return std::any_of(parts.begin(), parts.end(),
                         [](const Check& p) { return p.needs_headers(); });
    default:
      return false;
  }
}

bool Check::passes(const CapturedResponse& r, ExtractScratch& scratch) const {
  int64_t s = r.status;
  switch (kind) {
    case Kind::kStatus:
      return compare(static_cast<double>(s), op, static_cast<double>(numbers[0]));
    case Kind::kStatusIn:
      return std::find(numbers.begin(), numbers.end(), s) != numbers.end();
    case Kind::kStatusClass:
      return (s / 100 == numbers[0]) == (op == Op::kEq);
    case Kind::kStatusRegex:
      return re2::RE2::FullMatch(std::to_string(s), regex->re());
    case Kind::kHeaderExists:
      return std::any_of(r.headers.begin(), r.headers.end(), [&](const auto& h) {
        return h.first.size() == text.size() &&
               strncasecmp(h.first.data(), text.data(), text.size()) == 0;
      });
    case Kind::kHeaderEquals:
      return r.header(text) == text2;
    case Kind::kHeaderContains:
      return r.header(text).find(text2) != std::string_view::npos;
    case Kind::kHeaderMatches: {
      std::string_view v = r.header(text);
      return re2::RE2::PartialMatch(re2::StringPiece(v.data(), v.size()), regex->re());
    }
    case Kind::kBodyContains:
      return r.body.find(text) != std::string_view::npos;
    case Kind::kBodyNotContains:
      return r.body.find(text) == std::string_view::npos;
    case Kind::kBodyMatches:
      return re2::RE2::PartialMatch(re2::StringPiece(r.body.data(), r.body.size()), regex->re());
    case Kind::kBodySize:
      return compare(static_cast<double>(r.body.size()), op, static_cast<double>(numbers[0]));
    case Kind::kLatency:
      return compare(static_cast<double>(r.latency_us), op, static_cast<double>(numbers[0]));
    case Kind::kJsonExists:
    case Kind::kJsonCompare: {
      simdjson::dom::element doc, found;
      if (scratch.impl().parser.parse(r.body.data(), r.body.size()).get(doc) != simdjson::SUCCESS) {
        return false;
      }
      if (!walk(doc, path.parts, 0, &found)) return false;
      if (kind == Kind::kJsonExists) return true;
      if (numeric) {
        double v = 0;
        if (found.get_double().get(v) != simdjson::SUCCESS) {
          int64_t i = 0;
          uint64_t u = 0;
          if (found.get_int64().get(i) == simdjson::SUCCESS) {
            v = static_cast<double>(i);
          } else if (found.get_uint64().get(u) == simdjson::SUCCESS) {
            v = static_cast<double>(u);
          } else {
            return false;
          }
        }
        return compare(v, op, number);
      }
      std::string_view str;
      bool eq;
      if (found.get_string().get(str) == simdjson::SUCCESS) {
        eq = str == text2;
      } else {
        eq = simdjson::to_string(found) == text2;  // true, false, null
      }
      return eq == (op == Op::kEq);
    }
    case Kind::kAll:
      for (const Check& p : parts) {
        if (!p.passes(r, scratch)) return false;
      }
      return true;
    case Kind::kAny:
      for (const Check& p : parts) {
        if (p.passes(r, scratch)) return true;
      }
      return false;
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
