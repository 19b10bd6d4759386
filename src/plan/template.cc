#include "plan/template.h"

#include <fmt/format.h>

#include <charconv>
#include <ctime>

#include "core/error.h"

namespace spiker::plan {
namespace {

bool parse_int(std::string_view s, int64_t* out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return !s.empty() && ec == std::errc() && p == s.data() + s.size();
}

void append_uint(std::string& out, uint64_t v) {
  char buf[24];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, p);
}

// A variable slot or a data column `table.column` of `scope`.
bool resolve_name(std::string_view name, const Scope* scope, Template::Segment* s) {
  if (scope == nullptr) return false;
  for (size_t i = 0; i < scope->variables.size(); ++i) {
    if (scope->variables[i] == name) {
      s->builtin = Builtin::kVariable;
      s->a = static_cast<int64_t>(i);
      return true;
    }
  }
  size_t dot = name.find('.');
  if (dot == std::string_view::npos) return false;
  for (size_t t = 0; t < scope->tables.size(); ++t) {
    if (scope->tables[t].first != name.substr(0, dot)) continue;
    const std::vector<std::string>& cols = scope->tables[t].second;
    for (size_t c = 0; c < cols.size(); ++c) {
      if (cols[c] != name.substr(dot + 1)) continue;
      s->builtin = Builtin::kDataColumn;
      s->a = static_cast<int64_t>(t);
      s->b = static_cast<int64_t>(c);
      return true;
    }
  }
  return false;
}

}  // namespace

Template Template::literal(std::string text) {
  Template t;
  if (!text.empty()) t.segments_.push_back({true, std::move(text)});
  return t;
}

void Template::append(const Template& other) {
  for (const Segment& s : other.segments_) {
    if (s.literal && !segments_.empty() && segments_.back().literal) {
      segments_.back().text += s.text;
    } else {
      segments_.push_back(s);
    }
  }
  vars_used_ |= other.vars_used_;
  tables_used_ |= other.tables_used_;
}

Template Template::compile(std::string_view text, std::string_view where, const Scope* scope) {
  Template t;
  size_t i = 0;
  auto literal = [&](std::string_view s) {
    if (s.empty()) return;
    if (t.segments_.empty() || !t.segments_.back().literal) t.segments_.push_back({});
    t.segments_.back().text.append(s);
  };
  while (i < text.size()) {
    size_t open = text.find("${", i);
    if (open == std::string_view::npos) {
      literal(text.substr(i));
      break;
    }
    if (open > i && text[open - 1] == '$') {  // $${ is a literal ${
      literal(text.substr(i, open - 1 - i));
      literal("${");
      i = open + 2;
      continue;
    }
    literal(text.substr(i, open - i));
    size_t close = text.find('}', open);
    if (close == std::string_view::npos) {
      throw SetupError(fmt::format("{}: '${{' without a closing '}}' in '{}'", where, text));
    }
    std::string_view inner = text.substr(open + 2, close - open - 2);
    std::string_view name = inner.substr(0, inner.find(':'));
    std::string_view args = inner.size() > name.size() ? inner.substr(name.size() + 1) : "";
    Segment s;
    s.literal = false;
    bool ok = args.empty();
    if (name == "REQUEST_ID") {
      s.builtin = Builtin::kRequestId;
    } else if (name == "TIMESTAMP_MS") {
      s.builtin = Builtin::kTimestampMs;
    } else if (name == "VU_ID") {
      s.builtin = Builtin::kVuId;
    } else if (name == "ITERATION") {
      s.builtin = Builtin::kIteration;
    } else if (name == "UUID") {
      s.builtin = Builtin::kUuid;
    } else if (name == "RANDOM_INT") {
      s.builtin = Builtin::kRandomInt;
      size_t colon = args.find(':');
      ok = colon != std::string_view::npos && parse_int(args.substr(0, colon), &s.a) &&
           parse_int(args.substr(colon + 1), &s.b) && s.a <= s.b;
    } else if (name == "RANDOM_STRING") {
      s.builtin = Builtin::kRandomString;
      ok = parse_int(args, &s.a) && s.a >= 1 && s.a <= 65536;
    } else if (!resolve_name(inner, scope, &s)) {
      throw SetupError(fmt::format(
          "{}: unknown variable ${{{}}}; use a variable a step extracts (extract = {{ {} = "
          "\"json:$.path\" }}), a data column ${{table.column}} from a [data.table], or a "
          "built-in: REQUEST_ID, TIMESTAMP_MS, VU_ID, ITERATION, UUID, RANDOM_INT:a:b, "
          "RANDOM_STRING:n",
          where, inner, inner));
    }
    if (s.builtin == Builtin::kVariable) t.vars_used_ |= uint64_t{1} << s.a;
    if (s.builtin == Builtin::kDataColumn) t.tables_used_ |= uint64_t{1} << s.a;
    if (!ok) {
      throw SetupError(
          fmt::format("{}: malformed ${{{}}}; write e.g. ${{RANDOM_INT:1:100}} or "
                      "${{RANDOM_STRING:16}}",
                      where, inner));
    }
    t.segments_.push_back(std::move(s));
    i = close + 1;
  }
  return t;
}

std::string Template::static_text() const {
  return segments_.empty() ? std::string() : segments_[0].text;
}

void Template::render(std::string& out, const RenderContext& ctx) const {
  static constexpr char kAlnum[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  static constexpr char kHex[] = "0123456789abcdef";
  for (const Segment& s : segments_) {
    if (s.literal) {
      out.append(s.text);
      continue;
    }
    switch (s.builtin) {
      case Builtin::kRequestId:
        append_uint(out, ctx.request_id);
        break;
      case Builtin::kTimestampMs: {
        timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        append_uint(out, static_cast<uint64_t>(ts.tv_sec) * 1000 +
                             static_cast<uint64_t>(ts.tv_nsec) / 1'000'000);
        break;
      }
      case Builtin::kVuId:
        append_uint(out, ctx.vu_id);
        break;
      case Builtin::kIteration:
        append_uint(out, ctx.iteration);
        break;
      case Builtin::kUuid: {
        uint64_t hi = (*ctx.rng)(), lo = (*ctx.rng)();
        hi = (hi & ~0xf000ull) | 0x4000ull;              // version 4
        lo = (lo & ~(0xc0ull << 56)) | (0x80ull << 56);  // variant 10
        for (int i = 0; i < 32; ++i) {
          if (i == 8 || i == 12 || i == 16 || i == 20) out.push_back('-');
          uint64_t word = i < 16 ? hi : lo;
          out.push_back(kHex[(word >> (60 - 4 * (i % 16))) & 0xf]);
        }
        break;
      }
      case Builtin::kRandomInt: {
        auto span = static_cast<uint64_t>(s.b - s.a) + 1;
        int64_t v = s.a + static_cast<int64_t>(span == 0 ? (*ctx.rng)() : (*ctx.rng)() % span);
        out.append(std::to_string(v));
        break;
      }
      case Builtin::kRandomString:
        for (int64_t i = 0; i < s.a; ++i) out.push_back(kAlnum[(*ctx.rng)() % 62]);
        break;
      case Builtin::kVariable:
        out.append(ctx.vars[s.a]);
        break;
      case Builtin::kDataColumn:
        out.append(ctx.table_rows[s.a][s.b]);
        break;
    }
  }
}

}  // namespace spiker::plan
