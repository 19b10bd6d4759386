#include "hcl/value.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace spiker::hcl {

const char* type_name(Type t) {
  switch (t) {
    case Type::kNull:
      return "null";
    case Type::kBool:
      return "bool";
    case Type::kNumber:
      return "number";
    case Type::kString:
      return "string";
    case Type::kTuple:
      return "tuple";
    case Type::kList:
      return "list";
    case Type::kSet:
      return "set";
    case Type::kObject:
      return "object";
    case Type::kMap:
      return "map";
  }
  return "?";
}

Value Value::boolean(bool b) {
  Value v;
  v.type_ = Type::kBool;
  v.bool_ = b;
  return v;
}

Value Value::number(double n) {
  Value v;
  v.type_ = Type::kNumber;
  v.number_ = n == 0 ? 0 : n;  // no negative zero
  return v;
}

Value Value::string(std::string s) {
  Value v;
  v.type_ = Type::kString;
  v.string_ = std::make_shared<const std::string>(std::move(s));
  return v;
}

void Footprint::add_element(const Footprint& element, uint64_t key_bytes) {
  auto add = [](uint64_t& to, uint64_t n) { to = n > UINT64_MAX - to ? UINT64_MAX : to + n; };
  add(values, 1);
  add(values, element.values);
  add(bytes, element.bytes);
  add(bytes, key_bytes);
  depth = std::max(depth, element.depth == UINT32_MAX ? UINT32_MAX : element.depth + 1);
}

void Footprint::add_bytes(uint64_t n) { bytes = n > UINT64_MAX - bytes ? UINT64_MAX : bytes + n; }

std::string limit_passed(const Footprint& f) {
  if (f.values > kMaxValues) {
    return "the result would hold more than " + std::to_string(kMaxValues) +
           " values (the limit on one value, nested values counted)";
  }
  if (f.bytes > kMaxBytes) {
    return "the result would hold more than " + std::to_string(kMaxBytes >> 20) +
           " MiB of text (the limit on one value's strings and keys)";
  }
  if (f.depth > kMaxNesting) {
    return "the result would nest lists and objects more than " + std::to_string(kMaxNesting) +
           " levels deep (the limit on nesting)";
  }
  return "";
}

Footprint Value::footprint() const {
  switch (type_) {
    case Type::kString:
      return {0, string_->size(), 0};
    case Type::kTuple:
    case Type::kList:
    case Type::kSet:
      return items_->footprint;
    case Type::kObject:
    case Type::kMap:
      return fields_->footprint;
    default:
      return {};
  }
}

Value Value::tuple(Items items) {
  Value v;
  v.type_ = Type::kTuple;
  Footprint f;
  f.depth = 1;
  for (const Value& x : items) f.add_element(x.footprint());
  v.items_ = std::make_shared<const Seq>(Seq{std::move(items), f});
  return v;
}

Value Value::list(Items items) {
  Value v = tuple(std::move(items));
  v.type_ = Type::kList;
  return v;
}

Value Value::set(Items items) {
  std::sort(items.begin(), items.end());
  items.erase(std::unique(items.begin(), items.end()), items.end());
  Value v = tuple(std::move(items));
  v.type_ = Type::kSet;
  return v;
}

Value Value::object(Fields fields) {
  Value v;
  v.type_ = Type::kObject;
  Footprint f;
  f.depth = 1;
  for (const auto& [k, x] : fields) f.add_element(x.footprint(), k.size());
  v.fields_ = std::make_shared<const Map>(Map{std::move(fields), f});
  return v;
}

Value Value::map(Fields fields) {
  Value v = object(std::move(fields));
  v.type_ = Type::kMap;
  return v;
}

const Value* Value::field(std::string_view name) const {
  if (!is_mapping()) return nullptr;
  auto it = fields_->fields.find(name);
  return it == fields_->fields.end() ? nullptr : &it->second;
}

size_t Value::size() const {
  if (is_sequence()) return items_->items.size();
  if (is_mapping()) return fields_->fields.size();
  if (type_ == Type::kString) return string_->size();
  return 0;
}

namespace {

// Tuples and lists compare alike, objects and maps alike (HCL compares values, and a literal
// [1, 2] equals tolist([1, 2])).
int family(Type t) {
  switch (t) {
    case Type::kTuple:
    case Type::kList:
      return 4;
    case Type::kObject:
    case Type::kMap:
      return 7;
    default:
      return static_cast<int>(t);
  }
}

}  // namespace

bool Value::operator==(const Value& o) const {
  if (family(type_) != family(o.type_)) return false;
  switch (type_) {
    case Type::kNull:
      return true;
    case Type::kBool:
      return bool_ == o.bool_;
    case Type::kNumber:
      return number_ == o.number_;
    case Type::kString:
      return *string_ == *o.string_;
    case Type::kTuple:
    case Type::kList:
    case Type::kSet:
      return items_->items == o.items_->items;
    case Type::kObject:
    case Type::kMap:
      return fields_->fields == o.fields_->fields;
  }
  return false;
}

bool Value::operator<(const Value& o) const {
  if (family(type_) != family(o.type_)) return family(type_) < family(o.type_);
  switch (type_) {
    case Type::kNull:
      return false;
    case Type::kBool:
      return bool_ < o.bool_;
    case Type::kNumber:
      return number_ < o.number_;
    case Type::kString:
      return *string_ < *o.string_;
    case Type::kTuple:
    case Type::kList:
    case Type::kSet:
      return items_->items < o.items_->items;
    case Type::kObject:
    case Type::kMap:
      return fields_->fields < o.fields_->fields;
  }
  return false;
}

std::string format_number(double n) {
  if (std::isnan(n)) return "NaN";
  if (std::isinf(n)) return n > 0 ? "+Inf" : "-Inf";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, n);
  std::string s(buf, end);
  size_t e = s.find('e');
  if (e == std::string::npos) return s;
  // Shortest digits with an exponent: write them out in plain decimal.
  bool neg = s[0] == '-';
  std::string mant = s.substr(neg ? 1 : 0, e - (neg ? 1 : 0));
  int exp = std::atoi(s.c_str() + e + 1);
  size_t dot = mant.find('.');
  std::string digits = mant;
  int point = static_cast<int>(mant.size());  // digits before the decimal point
  if (dot != std::string::npos) {
    digits = mant.substr(0, dot) + mant.substr(dot + 1);
    point = static_cast<int>(dot);
  }
  point += exp;
  std::string out;
  if (point <= 0) {
    out = "0." + std::string(static_cast<size_t>(-point), '0') + digits;
  } else if (point >= static_cast<int>(digits.size())) {
    out = digits + std::string(static_cast<size_t>(point) - digits.size(), '0');
  } else {
    out = digits.substr(0, static_cast<size_t>(point)) + "." +
          digits.substr(static_cast<size_t>(point));
  }
  return neg ? "-" + out : out;
}

bool to_string(const Value& v, std::string* out) {
  switch (v.type()) {
    case Type::kString:
      *out = v.as_string();
      return true;
    case Type::kNumber:
      *out = format_number(v.as_number());
      return true;
    case Type::kBool:
      *out = v.as_bool() ? "true" : "false";
      return true;
    default:
      return false;
  }
}

bool to_number(const Value& v, double* out) {
  if (v.type() == Type::kNumber) {
    *out = v.as_number();
    return true;
  }
  if (v.type() != Type::kString) return false;
  const std::string& s = v.as_string();
  if (s.empty()) return false;
  const char* begin = s.data();
  const char* end = s.data() + s.size();
  if (*begin == '+') ++begin;  // to_chars does not take a plus sign
  double d = 0;
  auto [p, ec] = std::from_chars(begin, end, d);
  if (ec != std::errc() || p != end) return false;
  *out = d;
  return true;
}

bool to_bool(const Value& v, bool* out) {
  if (v.type() == Type::kBool) {
    *out = v.as_bool();
    return true;
  }
  if (v.type() == Type::kString && (v.as_string() == "true" || v.as_string() == "false")) {
    *out = v.as_string() == "true";
    return true;
  }
  return false;
}

namespace {

nlohmann::json to_j(const Value& v) {
  switch (v.type()) {
    case Type::kNull:
      return nullptr;
    case Type::kBool:
      return v.as_bool();
    case Type::kNumber: {
      double n = v.as_number();
      if (std::floor(n) == n && std::fabs(n) < 9.007199254740992e15) {
        return static_cast<int64_t>(n);
      }
      return n;
    }
    case Type::kString:
      return v.as_string();
    case Type::kTuple:
    case Type::kList:
    case Type::kSet: {
      nlohmann::json a = nlohmann::json::array();
      for (const Value& x : v.items()) a.push_back(to_j(x));
      return a;
    }
    case Type::kObject:
    case Type::kMap: {
      nlohmann::json o = nlohmann::json::object();
      for (const auto& [k, x] : v.fields()) o[k] = to_j(x);
      return o;
    }
  }
  return nullptr;
}

Value from_j(const nlohmann::json& j) {
  if (j.is_null()) return Value();
  if (j.is_boolean()) return Value::boolean(j.get<bool>());
  if (j.is_number()) return Value::number(j.get<double>());
  if (j.is_string()) return Value::string(j.get<std::string>());
  if (j.is_array()) {
    Value::Items items;
    for (const auto& x : j) items.push_back(from_j(x));
    return Value::tuple(std::move(items));
  }
  Value::Fields fields;
  for (const auto& [k, x] : j.items()) fields[k] = from_j(x);
  return Value::object(std::move(fields));
}

}  // namespace

std::string to_json(const Value& v) { return to_j(v).dump(); }

Value from_json(std::string_view text) {
  if (text.size() > kMaxBytes) throw std::runtime_error(limit_passed({0, text.size(), 0}));
  // Counted as it is parsed (nlohmann's parser and destructor do not recurse): past a limit, what
  // follows is discarded, so a hostile document costs neither memory nor stack.
  Footprint seen;
  bool over = false;
  auto count = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json&) {
    using E = nlohmann::json::parse_event_t;
    if (event == E::value || event == E::object_start || event == E::array_start) {
      seen.values = seen.values + 1;
      uint32_t nesting = static_cast<uint32_t>(depth) + (event == E::value ? 0 : 1);
      seen.depth = std::max(seen.depth, nesting);
      over = over || !limit_passed(seen).empty();
    }
    return !over;
  };
  nlohmann::json j = nlohmann::json::parse(text, count, false);
  if (over) throw std::runtime_error(limit_passed(seen));
  if (j.is_discarded()) throw std::runtime_error("not valid JSON");
  return from_j(j);
}

}  // namespace spiker::hcl
