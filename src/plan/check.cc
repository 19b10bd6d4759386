#include <fmt/format.h>
#include <strings.h>

#include <algorithm>
#include <cstdlib>

#include "core/duration.h"
#include "core/error.h"
#include "plan/extract.h"
#include "plan/extract_internal.h"

namespace spiker::plan {

using detail::compile_regex;
using detail::parse_i64;
using detail::trim;
using detail::walk;

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
        "== 2xx, header Content-Type contains \"json\", body == \"x\", body contains \"x\", body "
        "not contains "
        "\"x\", body matches \"re\", body size < 1000, json $.id exists, json $.n > 3, latency < "
        "200ms, rows > 0, error == \"23505\", grpc_status == \"OK\", joined with && or ||",
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
      c.regex = compile_regex(quoted(rest.substr(7)), where);
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
  if (subject == "rows" || subject == "count" || subject == "documents" || subject == "entries" ||
      subject == "graphql.errors") {
    int64_t v = 0;
    if (!take_op(rest, &c.op) || !parse_i64(rest, &v)) throw bad();
    c.kind = subject == "graphql.errors" ? Check::Kind::kGraphqlErrors : Check::Kind::kRows;
    c.numbers = {v};
    return c;
  }
  if (subject == "header" || subject == "error" || subject == "grpc_status") {
    // error ...: the reply's error code (SQLSTATE, a Redis error's prefix), its "error" header;
    // grpc_status ...: a gRPC call's status by name (OK, NOT_FOUND), its "grpc_status" header.
    c.text = subject == "header" ? std::string(word(rest)) : std::string(subject);
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
  if (subject == "body" || subject == "value") {  // value: a reply's value (Redis, ...)
    if (rest.starts_with("==") || rest.starts_with("!=")) {
      c.kind = Check::Kind::kBodyEquals;
      c.op = rest.starts_with("==") ? Check::Op::kEq : Check::Op::kNe;
      c.text = quoted(rest.substr(2));
    } else if (rest.starts_with("not contains")) {
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
    case Kind::kBodyEquals:
    case Kind::kBodyMatches:
    case Kind::kBodySize:
    case Kind::kJsonExists:
    case Kind::kJsonCompare:
    case Kind::kGraphqlErrors:
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
      return re2::RE2::PartialMatch(std::to_string(s), regex->re());
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
    case Kind::kBodyEquals:
      return (r.body == text) == (op == Op::kEq);
    case Kind::kBodyMatches:
      return re2::RE2::PartialMatch(re2::StringPiece(r.body.data(), r.body.size()), regex->re());
    case Kind::kBodySize:
      return compare(static_cast<double>(r.body.size()), op, static_cast<double>(numbers[0]));
    case Kind::kLatency:
      return compare(static_cast<double>(r.latency_us), op, static_cast<double>(numbers[0]));
    case Kind::kRows:
      return r.rows >= 0 &&
             compare(static_cast<double>(r.rows), op, static_cast<double>(numbers[0]));
    case Kind::kGraphqlErrors: {
      simdjson::dom::element doc, errors;
      if (scratch.impl().parser.parse(r.body.data(), r.body.size()).get(doc) != simdjson::SUCCESS ||
          !doc.is_object()) {
        return false;  // not a GraphQL response
      }
      size_t n = 0;
      if (doc["errors"].get(errors) == simdjson::SUCCESS && errors.is_array()) {
        n = simdjson::dom::array(errors).size();
      }
      return compare(static_cast<double>(n), op, static_cast<double>(numbers[0]));
    }
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

}  // namespace spiker::plan
