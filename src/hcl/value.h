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

// What a value holds, counted when it is made (values are immutable: reading it is O(1)). A part
// shared by several places counts at each, as it would be written out (jsonencode, a template).
struct Footprint {
  uint64_t values = 0;  // nested values, every level: [1, [2, 3]] holds 4
  uint64_t bytes = 0;   // bytes of its strings and object keys, every level
  uint32_t depth = 0;   // collections nested: a scalar 0, [1] 1, [[1]] 2
  // Adds `element` as one more element of a collection (its key's bytes with it). Saturates.
  void add_element(const Footprint& element, uint64_t key_bytes = 0);
  void add_bytes(uint64_t n);
};

// Limits on any one value an expression builds (README's limits table); a real grid stays far
// below them, a hostile one meets an error instead of exhausting memory.
inline constexpr uint64_t kMaxValues = 1'000'000;
inline constexpr uint64_t kMaxBytes = 16u << 20;
inline constexpr uint32_t kMaxNesting = 256;

// The limit `f` passes, as a message ("the result would hold more than ..."); empty within them.
std::string limit_passed(const Footprint& f);

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
  const Items& items() const { return items_->items; }
  const Fields& fields() const { return fields_->fields; }
  Footprint footprint() const;
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
  struct Seq {
    Items items;
    Footprint footprint;
  };
  struct Map {
    Fields fields;
    Footprint footprint;
  };
  std::shared_ptr<const Seq> items_;
  std::shared_ptr<const Map> fields_;
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
