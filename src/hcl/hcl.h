// HCL native syntax (github.com/hashicorp/hcl, hclsyntax/spec.md): a parser for config files
// (attributes and blocks) and expressions with templates, and an evaluator over hcl::Value with
// variables and functions. Errors carry file:line:col and the line with a caret.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "hcl/value.h"

namespace spiker::hcl {

struct Pos {
  int line = 1, col = 1;
  size_t offset = 0;
};

// Where something is, for messages: the file's name and text (shared by its nodes).
struct Source {
  std::string name;
  std::string text;
};

// An error in a file or expression: "file:line:col: message", then the line and a caret.
class Error : public SetupError {
 public:
  Error(const Source& src, Pos at, const std::string& message);
};

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

// A template's parts: literal text, ${...} interpolations, %{if} and %{for} directives.
struct TemplatePart {
  enum class Kind : uint8_t { kLiteral, kInterp, kIf, kFor };
  Kind kind = Kind::kLiteral;
  std::string text;
  ExprPtr expr;                                      // interpolation, if condition, for collection
  std::vector<TemplatePart> then_parts, else_parts;  // if: then / else; for: the body
  std::string key_var, value_var;
};

struct Expr {
  enum class Kind : uint8_t {
    kLiteral,
    kTemplate,
    kVariable,
    kAttr,
    kIndex,
    kSplat,
    kSplatItem,  // the element inside a splat's traversal
    kCall,
    kUnary,
    kBinary,
    kCond,
    kTuple,
    kObject,
    kFor,
    kParens,
  };
  Kind kind = Kind::kLiteral;
  Pos pos;
  const Source* src = nullptr;
  Value value;                      // literal
  std::vector<TemplatePart> parts;  // template
  std::string name;                 // variable, attribute, function, operator
  ExprPtr a, b, c;                  // operands; attr/index/splat: a = source; index: b = key
  std::vector<ExprPtr> items;       // tuple items, call arguments, object keys
  std::vector<ExprPtr> values;      // object values
  bool expand = false;              // call: the last argument ends with ...
  bool full_splat = false;          // [*] (else .*)
  // for: [for key_var, value_var in a : b if c] or {for ... : b => items[0] (...) if c}
  std::string key_var, value_var;
  bool object_for = false, group = false;
};

struct Block;

struct Attribute {
  std::string name;
  Pos pos;
  ExprPtr expr;
};

struct Body {
  std::vector<Attribute> attributes;  // in file order
  std::vector<Block> blocks;
  const Attribute* attribute(std::string_view name) const;
};

struct Block {
  std::string type;
  std::vector<std::string> labels;
  Pos pos;
  Body body;
};

struct File {
  std::shared_ptr<Source> source;  // the nodes point into it
  Body body;
};

// Parses a config file; throws Error.
File parse_file(std::string text, std::string name);
// Parses one expression (the whole text); throws Error. The source must outlive the result.
ExprPtr parse_expression(const Source& src);
// Parses a template (text with ${...} and %{...}) as a quoted string's content.
ExprPtr parse_template(const Source& src);

using Function = std::function<Value(const std::vector<Value>& args)>;

// Variables and functions an expression sees. A child context adds names (for-expression
// variables, count.index) over its parent's without copying them.
class Context {
 public:
  Context() = default;
  explicit Context(const Context* parent) : parent_(parent) {}
  void set(std::string name, Value v) { vars_[std::move(name)] = std::move(v); }
  const Value* get(std::string_view name) const;
  void set_function(std::string name, Function f) { functions_[std::move(name)] = std::move(f); }
  const Function* function(std::string_view name) const;
  // The functions HCL programs usually have (Terraform's / cty stdlib names): string, number,
  // collection, encoding and type-conversion functions.
  void add_standard_functions();

 private:
  const Context* parent_ = nullptr;
  std::map<std::string, Value, std::less<>> vars_;
  std::map<std::string, Function, std::less<>> functions_;
};

// Evaluates `e`; throws Error at the failing part. A function that throws std::runtime_error
// (or std::invalid_argument) becomes an Error at the call.
Value evaluate(const Expr& e, const Context& ctx);

// The root names an expression reads ("step", "var", ...) with the attribute path that follows
// each, as written: ["step", "http_request", "first", "output"] (dependency discovery).
void traversals(const Expr& e, std::vector<std::vector<std::string>>* out);

}  // namespace spiker::hcl
