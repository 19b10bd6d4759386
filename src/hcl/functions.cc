// The standard functions, by the names Terraform and cty's stdlib give them, with their
// argument checks. A failing call throws std::runtime_error; the evaluator places it.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <set>
#include <stdexcept>

#include "hcl/hcl.h"

namespace spiker::hcl {
namespace {

using Args = std::vector<Value>;

[[noreturn]] void bad(const std::string& msg) { throw std::runtime_error(msg); }

void arity(const Args& a, size_t lo, size_t hi, const char* name) {
  if (a.size() < lo || a.size() > hi) {
    bad(lo == hi ? fmt::format("{} takes {} argument{}", name, lo, lo == 1 ? "" : "s")
                 : fmt::format("{} takes {} to {} arguments", name, lo, hi));
  }
}

double num(const Value& v, const char* what) {
  double n = 0;
  if (v.is_null() || !to_number(v, &n)) bad(fmt::format("{}: a number is required", what));
  return n;
}

std::string str(const Value& v, const char* what) {
  std::string s;
  if (v.is_null() || !to_string(v, &s)) bad(fmt::format("{}: a string is required", what));
  return s;
}

const Value::Items& seq(const Value& v, const char* what) {
  if (!v.is_sequence()) bad(fmt::format("{}: a list, set or tuple is required", what));
  return v.items();
}

const Value::Fields& mapping(const Value& v, const char* what) {
  if (!v.is_mapping()) bad(fmt::format("{}: a map or object is required", what));
  return v.fields();
}

// A number for messages: plain decimal up to 1e15, else the shortest form with an exponent
// (1e+300, not 301 digits).
std::string shown(double n) {
  return std::fabs(n) < 1e15 ? format_number(n) : fmt::format("{}", n);
}

int64_t whole(const Value& v, const char* what) {
  double n = num(v, what);
  if (n != std::floor(n)) bad(fmt::format("{}: a whole number is required", what));
  if (std::fabs(n) > 9007199254740992.0) {  // 2^53: the whole numbers a double holds exactly
    bad(fmt::format("{}: {} is too large (at most 9007199254740992)", what, shown(n)));
  }
  return static_cast<int64_t>(n);
}

// Adds `v` (with its key's bytes) to `size`, a result being built; throws once it passes a limit
// on values (kMaxValues, kMaxBytes, kMaxNesting), before building any further.
void grow(Footprint& size, const Value& v, uint64_t key_bytes = 0) {
  size.add_element(v.footprint(), key_bytes);
  std::string over = limit_passed(size);
  if (!over.empty()) bad(over);
}

// Throws when `out`, a string being built, passes kMaxBytes.
void fits(const std::string& out) {
  if (out.size() > kMaxBytes) bad(limit_passed({0, out.size(), 0}));
}

// JSON text of `v`, refused before it is written when it could only pass kMaxBytes (every value
// and every byte of text is at least one byte of JSON).
std::string json_text(const Value& v) {
  Footprint f = v.footprint();
  if (f.values > kMaxBytes || f.bytes > kMaxBytes - std::min(f.values, kMaxBytes)) {
    bad(limit_passed({0, kMaxBytes + 1, 0}));
  }
  std::string out = to_json(v);
  fits(out);
  return out;
}

// A sequence result keeps its argument's kind: tuples stay tuples, lists and sets make lists.
Value same_kind(const Value& like, Value::Items items) {
  return like.type() == Type::kTuple ? Value::tuple(std::move(items))
                                     : Value::list(std::move(items));
}

// Go's fmt verbs as cty's format implements them: %s %q %d %f %e %g %t %v %%, with flags,
// width and precision.
std::string format(const Args& a) {
  std::string spec = str(a.at(0), "format");
  std::string out;
  size_t next = 1;
  for (size_t i = 0; i < spec.size(); ++i) {
    if (spec[i] != '%') {
      out += spec[i];
      continue;
    }
    size_t j = i + 1;
    std::string flags;
    while (j < spec.size() && std::strchr("-+ #0", spec[j]) != nullptr) flags += spec[j++];
    std::string width, prec;
    while (j < spec.size() && std::isdigit(static_cast<unsigned char>(spec[j]))) width += spec[j++];
    bool has_prec = false;
    if (j < spec.size() && spec[j] == '.') {
      has_prec = true;
      ++j;
      while (j < spec.size() && std::isdigit(static_cast<unsigned char>(spec[j])))
        prec += spec[j++];
    }
    if (j >= spec.size()) bad("format: the spec ends inside a verb");
    char verb = spec[j];
    i = j;
    if (verb == '%') {
      out += '%';
      continue;
    }
    if (next >= a.size()) bad(fmt::format("format: not enough arguments for the %{} verb", verb));
    const Value& v = a[next++];
    std::string piece;
    if (width.size() > 4 || prec.size() > 4) bad("format: width and precision are at most 9999");
    std::string cfmt = "%" + flags + width + (has_prec ? "." + (prec.empty() ? "0" : prec) : "");
    char buf[512];
    switch (verb) {
      case 'd': {
        double n = num(v, "format %d");
        if (n != std::floor(n)) bad("format: %d needs a whole number");
        if (std::fabs(n) >= 9.2e18) {  // past long long: the digits as %.0f writes them
          std::snprintf(buf, sizeof buf, (cfmt + ".0f").c_str(), n);
        } else {
          std::snprintf(buf, sizeof buf, (cfmt + "lld").c_str(), static_cast<long long>(n));
        }
        piece = buf;
        break;
      }
      case 'f':
      case 'e':
      case 'g': {
        double n = num(v, "format");
        std::snprintf(buf, sizeof buf, (cfmt + verb).c_str(), n);
        piece = buf;
        break;
      }
      case 's': {
        std::string s = str(v, "format %s");
        if (has_prec && !prec.empty()) s = s.substr(0, std::stoul(prec));
        piece = s;
        size_t w = width.empty() ? 0 : std::stoul(width);
        if (piece.size() < w) {
          piece = flags.find('-') != std::string::npos ? piece + std::string(w - piece.size(), ' ')
                                                       : std::string(w - piece.size(), ' ') + piece;
        }
        break;
      }
      case 'q':
        piece = json_text(Value::string(str(v, "format %q")));
        break;
      case 't': {
        bool b = false;
        if (!to_bool(v, &b)) bad("format: %t needs a bool");
        piece = b ? "true" : "false";
        break;
      }
      case 'v':
        if (v.is_collection() || v.is_null()) {
          piece = json_text(v);
        } else {
          to_string(v, &piece);
        }
        break;
      default:
        bad(fmt::format("format: unsupported verb %{}", verb));
    }
    out += piece;
    fits(out);
  }
  fits(out);
  if (next < a.size()) bad(fmt::format("format: too many arguments ({} unused)", a.size() - next));
  return out;
}

Value convert_to(Type want, const Value& v) {
  if (v.is_null()) return v;
  switch (want) {
    case Type::kString: {
      std::string s;
      if (!to_string(v, &s)) bad(fmt::format("cannot convert {} to string", type_name(v.type())));
      return Value::string(s);
    }
    case Type::kNumber: {
      double n = 0;
      if (!to_number(v, &n)) {
        bad(v.type() == Type::kString
                ? fmt::format("cannot convert \"{}\" to number", v.as_string())
                : fmt::format("cannot convert {} to number", type_name(v.type())));
      }
      return Value::number(n);
    }
    case Type::kBool: {
      bool b = false;
      if (!to_bool(v, &b)) bad(fmt::format("cannot convert {} to bool", type_name(v.type())));
      return Value::boolean(b);
    }
    case Type::kList:
      return Value::list(seq(v, "tolist"));
    case Type::kSet:
      return Value::set(seq(v, "toset"));
    case Type::kMap:
      return Value::map(mapping(v, "tomap"));
    default:
      return v;
  }
}

}  // namespace

void Context::add_standard_functions() {
  auto add = [&](const char* name, Function f) { set_function(name, std::move(f)); };
  // numbers
  add("abs", [](const Args& a) {
    arity(a, 1, 1, "abs");
    return Value::number(std::fabs(num(a[0], "abs")));
  });
  add("ceil", [](const Args& a) {
    arity(a, 1, 1, "ceil");
    return Value::number(std::ceil(num(a[0], "ceil")));
  });
  add("floor", [](const Args& a) {
    arity(a, 1, 1, "floor");
    return Value::number(std::floor(num(a[0], "floor")));
  });
  add("log", [](const Args& a) {
    arity(a, 2, 2, "log");
    return Value::number(std::log(num(a[0], "log")) / std::log(num(a[1], "log")));
  });
  add("pow", [](const Args& a) {
    arity(a, 2, 2, "pow");
    return Value::number(std::pow(num(a[0], "pow"), num(a[1], "pow")));
  });
  add("signum", [](const Args& a) {
    arity(a, 1, 1, "signum");
    double n = num(a[0], "signum");
    return Value::number(n > 0 ? 1 : n < 0 ? -1 : 0);
  });
  add("parseint", [](const Args& a) {
    arity(a, 2, 2, "parseint");
    std::string s = str(a[0], "parseint");
    int64_t base = whole(a[1], "parseint base");
    if (base < 2 || base > 62) bad("parseint: the base must be between 2 and 62");
    size_t used = 0;
    long long n = 0;
    try {
      n = std::stoll(s, &used, static_cast<int>(base));
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != s.size() || s.empty()) {
      bad(fmt::format("cannot parse \"{}\" as a base {} integer", s, base));
    }
    return Value::number(static_cast<double>(n));
  });
  auto extreme = [](bool want_max) {
    return [want_max](const Args& a) {
      if (a.empty()) bad("must pass at least one number");
      double best = num(a[0], want_max ? "max" : "min");
      for (const Value& v : a) {
        double n = num(v, want_max ? "max" : "min");
        best = want_max ? std::max(best, n) : std::min(best, n);
      }
      return Value::number(best);
    };
  };
  add("max", extreme(true));
  add("min", extreme(false));
  // strings
  auto mapchars = [](int (*f)(int), const char* name) {
    return [f, name](const Args& a) {
      arity(a, 1, 1, name);
      std::string s = str(a[0], name);
      for (char& c : s) {
        if ((static_cast<unsigned char>(c) & 0x80) == 0) c = static_cast<char>(f(c));
      }
      return Value::string(s);
    };
  };
  add("upper", mapchars(::toupper, "upper"));
  add("lower", mapchars(::tolower, "lower"));
  add("title", [](const Args& a) {
    arity(a, 1, 1, "title");
    std::string s = str(a[0], "title");
    bool start = true;
    for (char& c : s) {
      if (start && std::isalpha(static_cast<unsigned char>(c))) c = static_cast<char>(::toupper(c));
      start = std::isspace(static_cast<unsigned char>(c)) != 0;
    }
    return Value::string(s);
  });
  add("strrev", [](const Args& a) {
    arity(a, 1, 1, "strrev");
    std::string s = str(a[0], "strrev");
    std::reverse(s.begin(), s.end());
    return Value::string(s);
  });
  add("substr", [](const Args& a) {
    arity(a, 3, 3, "substr");
    std::string s = str(a[0], "substr");
    int64_t off = whole(a[1], "substr offset"), len = whole(a[2], "substr length");
    int64_t n = static_cast<int64_t>(s.size());
    if (off < 0) off = std::max<int64_t>(0, n + off);
    if (off > n) return Value::string("");
    if (len < 0 || off + len > n) len = n - off;
    return Value::string(s.substr(static_cast<size_t>(off), static_cast<size_t>(len)));
  });
  add("join", [](const Args& a) {
    if (a.size() < 2) bad("join takes a separator and at least one list");
    std::string sep = str(a[0], "join separator"), out;
    bool first = true;
    for (size_t i = 1; i < a.size(); ++i) {
      for (const Value& v : seq(a[i], "join")) {
        if (!first) out += sep;
        out += str(v, "join element");
        fits(out);
        first = false;
      }
    }
    return Value::string(out);
  });
  add("split", [](const Args& a) {
    arity(a, 2, 2, "split");
    std::string sep = str(a[0], "split separator"), s = str(a[1], "split");
    Value::Items out;
    Footprint size;
    if (sep.empty()) {
      for (char c : s) {
        out.push_back(Value::string(std::string(1, c)));
        grow(size, out.back());
      }
      return Value::list(std::move(out));
    }
    size_t p = 0;
    for (;;) {
      size_t q = s.find(sep, p);
      out.push_back(Value::string(s.substr(p, q == std::string::npos ? q : q - p)));
      grow(size, out.back());
      if (q == std::string::npos) break;
      p = q + sep.size();
    }
    return Value::list(std::move(out));
  });
  add("chomp", [](const Args& a) {
    arity(a, 1, 1, "chomp");
    std::string s = str(a[0], "chomp");
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    return Value::string(s);
  });
  add("trimspace", [](const Args& a) {
    arity(a, 1, 1, "trimspace");
    std::string s = str(a[0], "trimspace");
    size_t b = s.find_first_not_of(" \t\r\n\v\f"), e = s.find_last_not_of(" \t\r\n\v\f");
    return Value::string(b == std::string::npos ? "" : s.substr(b, e - b + 1));
  });
  add("trim", [](const Args& a) {
    arity(a, 2, 2, "trim");
    std::string s = str(a[0], "trim"), cut = str(a[1], "trim cutset");
    size_t b = s.find_first_not_of(cut), e = s.find_last_not_of(cut);
    return Value::string(b == std::string::npos ? "" : s.substr(b, e - b + 1));
  });
  add("trimprefix", [](const Args& a) {
    arity(a, 2, 2, "trimprefix");
    std::string s = str(a[0], "trimprefix"), p = str(a[1], "trimprefix prefix");
    return Value::string(s.starts_with(p) ? s.substr(p.size()) : s);
  });
  add("trimsuffix", [](const Args& a) {
    arity(a, 2, 2, "trimsuffix");
    std::string s = str(a[0], "trimsuffix"), p = str(a[1], "trimsuffix suffix");
    return Value::string(s.ends_with(p) ? s.substr(0, s.size() - p.size()) : s);
  });
  add("replace", [](const Args& a) {
    arity(a, 3, 3, "replace");
    std::string s = str(a[0], "replace"), from = str(a[1], "replace substring"),
                to = str(a[2], "replace replacement"), out;
    if (from.empty()) return Value::string(s);
    size_t p = 0;
    for (;;) {
      size_t q = s.find(from, p);
      if (q == std::string::npos) break;
      out.append(s, p, q - p);
      out += to;
      fits(out);
      p = q + from.size();
    }
    return Value::string(out + s.substr(p));
  });
  add("format", [](const Args& a) {
    if (a.empty()) bad("format takes a format string");
    return Value::string(format(a));
  });
  // collections
  add("length", [](const Args& a) {
    arity(a, 1, 1, "length");
    if (a[0].type() == Type::kString) {  // Terraform's: characters (code points)
      size_t n = 0;
      for (char c : a[0].as_string()) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
      return Value::number(static_cast<double>(n));
    }
    if (!a[0].is_collection()) bad("length: a collection or a string is required");
    return Value::number(static_cast<double>(a[0].size()));
  });
  add("element", [](const Args& a) {
    arity(a, 2, 2, "element");
    const Value::Items& items = seq(a[0], "element");
    if (items.empty()) bad("cannot use element function with an empty list");
    int64_t i = whole(a[1], "element index");
    if (i < 0) bad("cannot use element function with a negative index");
    return items[static_cast<size_t>(i) % items.size()];
  });
  add("concat", [](const Args& a) {
    if (a.empty()) bad("concat takes at least one list");
    Value::Items out;
    Footprint size;
    bool tuple = false;
    for (const Value& v : a) {
      tuple |= v.type() == Type::kTuple;
      for (const Value& x : seq(v, "concat")) {
        grow(size, x);
        out.push_back(x);
      }
    }
    return tuple ? Value::tuple(std::move(out)) : Value::list(std::move(out));
  });
  add("contains", [](const Args& a) {
    arity(a, 2, 2, "contains");
    const Value::Items& items = seq(a[0], "contains");
    return Value::boolean(std::find(items.begin(), items.end(), a[1]) != items.end());
  });
  add("distinct", [](const Args& a) {
    arity(a, 1, 1, "distinct");
    Value::Items out;
    std::set<Value> seen;  // n log n: a long list must not take n squared
    for (const Value& v : seq(a[0], "distinct")) {
      if (seen.insert(v).second) out.push_back(v);
    }
    return Value::list(std::move(out));
  });
  add("flatten", [](const Args& a) {
    arity(a, 1, 1, "flatten");
    Value::Items out;
    std::function<void(const Value&)> walk = [&](const Value& v) {
      for (const Value& x : seq(v, "flatten")) {
        if (x.is_sequence()) {
          walk(x);
        } else {
          out.push_back(x);
        }
      }
    };
    walk(a[0]);
    return same_kind(a[0], std::move(out));
  });
  add("keys", [](const Args& a) {
    arity(a, 1, 1, "keys");
    Value::Items out;
    for (const auto& [k, v] : mapping(a[0], "keys")) out.push_back(Value::string(k));
    return a[0].type() == Type::kObject ? Value::tuple(std::move(out))
                                        : Value::list(std::move(out));
  });
  add("values", [](const Args& a) {
    arity(a, 1, 1, "values");
    Value::Items out;
    for (const auto& [k, v] : mapping(a[0], "values")) out.push_back(v);
    return a[0].type() == Type::kObject ? Value::tuple(std::move(out))
                                        : Value::list(std::move(out));
  });
  add("lookup", [](const Args& a) {
    arity(a, 2, 3, "lookup");
    const Value* v = a[0].field(str(a[1], "lookup key"));
    mapping(a[0], "lookup");
    if (v != nullptr) return *v;
    if (a.size() == 3) return a[2];
    bad(fmt::format("the given key \"{}\" is not in the map", a[1].as_string()));
  });
  add("merge", [](const Args& a) {
    Value::Fields out;
    Footprint size;
    for (const Value& v : a) {
      if (v.is_null()) continue;
      for (const auto& [k, x] : mapping(v, "merge")) {
        grow(size, x, k.size());
        out[k] = x;
      }
    }
    return Value::object(std::move(out));
  });
  add("range", [](const Args& a) {
    arity(a, 1, 3, "range");
    double start = 0, limit = 0, step = 1;
    if (a.size() == 1) {
      limit = num(a[0], "range");
    } else {
      start = num(a[0], "range start");
      limit = num(a[1], "range limit");
      step = a.size() == 3 ? num(a[2], "range step") : (limit >= start ? 1 : -1);
    }
    if (step == 0) bad("step must not be zero");
    if (!std::isfinite(start) || !std::isfinite(limit) || !std::isfinite(step)) {
      bad("range: start, limit and step must be finite numbers");
    }
    // How many values, before any is made: past the limit on one value is an error, and so is
    // a step too small to move a number that large (1e16 + 1 is 1e16: it would never end).
    double count = std::ceil((limit - start) / step);
    if (count > static_cast<double>(kMaxValues)) {
      bad(
          fmt::format("range({}, {}, {}) would make {} values: more than {} (the limit on one "
                      "value); use a larger step or a smaller span",
                      shown(start), shown(limit), shown(step), shown(count), kMaxValues));
    }
    double far = std::max(std::fabs(start), std::fabs(limit));
    if (count > 0 && std::nextafter(far, INFINITY) - far > std::fabs(step)) {
      bad(fmt::format(
          "range: a step of {} cannot count from {} to {}: numbers that large are "
          "{} apart; use a larger step or smaller numbers",
          shown(step), shown(start), shown(limit), shown(std::nextafter(far, INFINITY) - far)));
    }
    Value::Items out;
    for (double x = start; (step > 0 ? x < limit : x > limit) && out.size() <= kMaxValues;
         x += step) {
      out.push_back(Value::number(x));
    }
    return Value::list(std::move(out));
  });
  add("reverse", [](const Args& a) {
    arity(a, 1, 1, "reverse");
    Value::Items out = seq(a[0], "reverse");
    std::reverse(out.begin(), out.end());
    return same_kind(a[0], std::move(out));
  });
  add("slice", [](const Args& a) {
    arity(a, 3, 3, "slice");
    const Value::Items& items = seq(a[0], "slice");
    int64_t from = whole(a[1], "slice start"), to = whole(a[2], "slice end");
    if (from < 0 || to > static_cast<int64_t>(items.size()) || from > to) {
      bad("slice: the indices are out of range or in the wrong order");
    }
    return same_kind(a[0], Value::Items(items.begin() + from, items.begin() + to));
  });
  add("sort", [](const Args& a) {
    arity(a, 1, 1, "sort");
    std::vector<std::string> s;
    for (const Value& v : seq(a[0], "sort")) s.push_back(str(v, "sort element"));
    std::sort(s.begin(), s.end());
    Value::Items out;
    for (std::string& x : s) out.push_back(Value::string(std::move(x)));
    return Value::list(std::move(out));
  });
  add("compact", [](const Args& a) {
    arity(a, 1, 1, "compact");
    Value::Items out;
    for (const Value& v : seq(a[0], "compact")) {
      if (!v.is_null() && !(v.type() == Type::kString && v.as_string().empty())) {
        out.push_back(v);
      }
    }
    return Value::list(std::move(out));
  });
  add("coalesce", [](const Args& a) {
    for (const Value& v : a) {
      if (!v.is_null()) return v;
    }
    bad("no non-null arguments");
  });
  add("index", [](const Args& a) {
    arity(a, 2, 2, "index");
    const Value::Items& items = seq(a[0], "index");
    auto it = std::find(items.begin(), items.end(), a[1]);
    if (it == items.end()) bad("item not found");
    return Value::number(static_cast<double>(it - items.begin()));
  });
  add("zipmap", [](const Args& a) {
    arity(a, 2, 2, "zipmap");
    const Value::Items& k = seq(a[0], "zipmap keys");
    const Value::Items& v = seq(a[1], "zipmap values");
    if (k.size() != v.size()) bad("number of keys and values must match");
    Value::Fields out;
    for (size_t i = 0; i < k.size(); ++i) out[str(k[i], "zipmap key")] = v[i];
    return Value::object(std::move(out));
  });
  add("chunklist", [](const Args& a) {
    arity(a, 2, 2, "chunklist");
    const Value::Items& items = seq(a[0], "chunklist");
    int64_t n = whole(a[1], "chunklist size");
    if (n < 0) bad("the size argument must be positive");
    Value::Items out;
    if (n == 0) return Value::list({Value::list(items)});
    for (size_t i = 0; i < items.size(); i += static_cast<size_t>(n)) {
      out.push_back(Value::list(Value::Items(
          items.begin() + static_cast<int64_t>(i),
          items.begin() +
              static_cast<int64_t>(std::min(items.size(), i + static_cast<size_t>(n))))));
    }
    return Value::list(std::move(out));
  });
  // encoding and conversion
  add("jsonencode", [](const Args& a) {
    arity(a, 1, 1, "jsonencode");
    return Value::string(json_text(a[0]));
  });
  add("jsondecode", [](const Args& a) {
    arity(a, 1, 1, "jsondecode");
    return from_json(str(a[0], "jsondecode"));
  });
  add("tostring", [](const Args& a) {
    arity(a, 1, 1, "tostring");
    return convert_to(Type::kString, a[0]);
  });
  add("tonumber", [](const Args& a) {
    arity(a, 1, 1, "tonumber");
    return convert_to(Type::kNumber, a[0]);
  });
  add("tobool", [](const Args& a) {
    arity(a, 1, 1, "tobool");
    return convert_to(Type::kBool, a[0]);
  });
  add("tolist", [](const Args& a) {
    arity(a, 1, 1, "tolist");
    return convert_to(Type::kList, a[0]);
  });
  add("toset", [](const Args& a) {
    arity(a, 1, 1, "toset");
    return convert_to(Type::kSet, a[0]);
  });
  add("tomap", [](const Args& a) {
    arity(a, 1, 1, "tomap");
    return convert_to(Type::kMap, a[0]);
  });
}

}  // namespace spiker::hcl
