// HCL values (as HCL's cty types): null, bool, number, string, tuple / list / set, object / map.
// Numbers are IEEE doubles (HCL's reference uses 512-bit floats: results agree to double
// precision). Objects and maps keep their keys sorted, as cty iterates them.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace spiker::hcl {

enum class Type : uint8_t { kNull, kBool, kNumber, kString, kTuple, kList, kSet, kObject, kMap };

// "string", "tuple", ... as HCL's messages name them.
const char* type_name(Type t);

class Value {
 public:
  using Items = std::vector<Value>;
  using Fields = std::map<std::string, Value, std::less<>>;

  Value() = default;  // null
  static Value boolean(bool b);
  static Value number(double n);
  static Value string(std::string s);
  static Value tuple(Items items);
  static Value list(Items items);
  static Value set(Items items);  // sorted, duplicates removed
  static Value object(Fields fields);
  static Value map(Fields fields);

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::kNull; }
  bool is_sequence() const {
    return type_ == Type::kTuple || type_ == Type::kList || type_ == Type::kSet;
  }
  bool is_mapping() const { return type_ == Type::kObject || type_ == Type::kMap; }
  bool is_collection() const { return is_sequence() || is_mapping(); }

  bool as_bool() const { return bool_; }
  double as_number() const { return number_; }
  const std::string& as_string() const { return *string_; }
  const Items& items() const { return *items_; }
  const Fields& fields() const { return *fields_; }
  // A field of an object or map; null when absent.
  const Value* field(std::string_view name) const;
  size_t size() const;

  bool operator==(const Value& o) const;
  bool operator!=(const Value& o) const { return !(*this == o); }
  // A total order (sets): by type, then value.
  bool operator<(const Value& o) const;

 private:
  Type type_ = Type::kNull;
  bool bool_ = false;
  double number_ = 0;
  std::shared_ptr<const std::string> string_;
  std::shared_ptr<const Items> items_;
  std::shared_ptr<const Fields> fields_;
};

// HCL's number text: the shortest form that reads back, without an exponent ("1e+20" is
// "100000000000000000000"); integers without a fraction.
std::string format_number(double n);

// Conversions as HCL makes them where a type is expected; false when the value cannot be one
// (a message for the caller to place).
bool to_string(const Value& v, std::string* out);
bool to_number(const Value& v, double* out);
bool to_bool(const Value& v, bool* out);

// JSON text of a value (jsonencode; tuples, lists and sets as arrays, objects and maps as
// objects) and back (jsondecode: arrays are tuples, objects are objects). decode throws
// std::runtime_error on bad JSON.
std::string to_json(const Value& v);
Value from_json(std::string_view text);

}  // namespace spiker::hcl
