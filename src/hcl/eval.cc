// Evaluation of HCL expressions over hcl::Value, with HCL's conversions and messages.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "hcl/hcl.h"

namespace spiker::hcl {

const Value* Context::get(std::string_view name) const {
  for (const Context* c = this; c != nullptr; c = c->parent_) {
    auto it = c->vars_.find(name);
    if (it != c->vars_.end()) return &it->second;
  }
  return nullptr;
}

const Function* Context::function(std::string_view name) const {
  for (const Context* c = this; c != nullptr; c = c->parent_) {
    auto it = c->functions_.find(name);
    if (it != c->functions_.end()) return &it->second;
  }
  return nullptr;
}

namespace {

// The work one evaluation may do: expression nodes visited plus the elements (and every 64 bytes
// of text) that function calls and comparisons go through. Far above what a grid needs (a list
// of 100,000 objects built in a for expression takes under 1,000,000); a hostile expression (a
// loop over a big collection in a loop) meets an error in a fraction of a second instead of
// running for hours.
constexpr uint64_t kMaxWork = 5'000'000;

// Functions that read a part of their arguments, whatever their size (a lookup in a loop is
// common): charged per argument, not per element. Every other function may walk its arguments.
bool sublinear(const std::string& name) {
  return name == "length" || name == "lookup" || name == "element" || name == "coalesce" ||
         name == "slice";
}

class Evaluator {
 public:
  Value eval(const Expr& e, const Context& ctx) {
    charge(e, 1);
    switch (e.kind) {
      case Expr::Kind::kLiteral:
        return e.value;
      case Expr::Kind::kParens:
        return eval(*e.a, ctx);
      case Expr::Kind::kTemplate:
        return template_value(e, ctx);
      case Expr::Kind::kVariable: {
        const Value* v = ctx.get(e.name);
        if (v == nullptr) fail(e, fmt::format("there is no variable named '{}'", e.name));
        return *v;
      }
      case Expr::Kind::kSplatItem:
        return splat_items_.back();
      case Expr::Kind::kAttr:
        return attribute(e, eval(*e.a, ctx), e.name);
      case Expr::Kind::kIndex:
        return index(e, eval(*e.a, ctx), eval(*e.b, ctx));
      case Expr::Kind::kSplat:
        return splat(e, ctx);
      case Expr::Kind::kCall:
        return call(e, ctx);
      case Expr::Kind::kUnary:
        return unary(e, ctx);
      case Expr::Kind::kBinary:
        return binary(e, ctx);
      case Expr::Kind::kCond:
        return conditional(e, ctx);
      case Expr::Kind::kTuple: {
        Value::Items items;
        items.reserve(e.items.size());
        Footprint size;
        for (const ExprPtr& x : e.items) {
          items.push_back(eval(*x, ctx));
          grow(e, size, items.back());
        }
        return Value::tuple(std::move(items));
      }
      case Expr::Kind::kObject: {
        Value::Fields fields;
        Footprint size;
        for (size_t i = 0; i < e.items.size(); ++i) {
          Value k = eval(*e.items[i], ctx);
          std::string key;
          if (k.is_null() || !to_string(k, &key)) {
            fail(*e.items[i], fmt::format("an object key must be a string, not {}",
                                          k.is_null() ? "null" : type_name(k.type())));
          }
          Value v = eval(*e.values[i], ctx);
          grow(e, size, v, key.size());
          fields[key] = std::move(v);
        }
        return Value::object(std::move(fields));
      }
      case Expr::Kind::kFor:
        return for_expr(e, ctx);
    }
    fail(e, "cannot evaluate this expression");
  }

  [[noreturn]] static void fail(const Expr& e, const std::string& msg) {
    throw Error(*e.src, e.pos, msg);
  }

 private:
  // Counts `units` of work done at `e`; past kMaxWork the evaluation fails there.
  void charge(const Expr& e, uint64_t units) {
    work_ += units;
    if (work_ > kMaxWork) {
      fail(e, fmt::format("evaluating this takes more than {} steps (the limit on one "
                          "expression's work: values visited, and elements that functions and "
                          "comparisons go through); loop over smaller collections",
                          kMaxWork));
    }
  }
  static uint64_t weight(const Value& v) {
    Footprint f = v.footprint();
    return 1 + std::min<uint64_t>(f.values, kMaxWork) + f.bytes / 64;
  }

  // Adds `v` (with its key's bytes) to `size`, the collection being built at `e`; fails there
  // as soon as it passes a limit on values (kMaxValues, kMaxBytes, kMaxNesting).
  static void grow(const Expr& e, Footprint& size, const Value& v, uint64_t key_bytes = 0) {
    size.add_element(v.footprint(), key_bytes);
    std::string over = limit_passed(size);
    if (!over.empty()) fail(e, over);
  }
  // The same for text appended to a string being built.
  static void grow_text(const Expr& e, const std::string& out) {
    if (out.size() > kMaxBytes) fail(e, limit_passed({0, out.size(), 0}));
  }
  Value attribute(const Expr& e, const Value& base, const std::string& name) {
    if (base.is_null()) fail(e, fmt::format("cannot read attribute '{}' of a null value", name));
    if (base.is_mapping()) {
      const Value* v = base.field(name);
      if (v == nullptr) {
        fail(e, fmt::format("this {} has no attribute named '{}'", type_name(base.type()), name));
      }
      return *v;
    }
    fail(e, fmt::format("a {} has no attributes (reading '{}')", type_name(base.type()), name));
  }

  Value index(const Expr& e, const Value& base, const Value& key) {
    if (base.is_null()) fail(e, "cannot index a null value");
    if (key.is_null()) fail(e, "cannot index with a null key");
    if (base.type() == Type::kTuple || base.type() == Type::kList) {
      double n = 0;
      if (!to_number(key, &n) || n != std::floor(n)) {
        fail(e, fmt::format("a {} is indexed by a whole number, not {}", type_name(base.type()),
                            key.type() == Type::kString ? "\"" + key.as_string() + "\""
                                                        : type_name(key.type())));
      }
      if (n < 0 || n >= static_cast<double>(base.items().size())) {
        fail(e, fmt::format("index {} is out of range: the {} has {} element{}", format_number(n),
                            type_name(base.type()), base.items().size(),
                            base.items().size() == 1 ? "" : "s"));
      }
      return base.items()[static_cast<size_t>(n)];
    }
    if (base.is_mapping()) {
      std::string k;
      if (!to_string(key, &k)) fail(e, "an object or map is indexed by a string");
      const Value* v = base.field(k);
      if (v == nullptr)
        fail(e, fmt::format("the given key \"{}\" is not in the {}", k, type_name(base.type())));
      return *v;
    }
    fail(e, fmt::format("a {} cannot be indexed", type_name(base.type())));
  }

  Value splat(const Expr& e, const Context& ctx) {
    Value source = eval(*e.a, ctx);
    Value::Items in;
    Type out_type = Type::kTuple;
    if (source.is_null()) {
      return Value::tuple({});
    } else if (source.is_sequence()) {
      in = source.items();
      if (source.type() != Type::kTuple) out_type = Type::kList;
    } else {
      in = {source};  // a single value splats as a one-element tuple
    }
    Value::Items out;
    out.reserve(in.size());
    Footprint size;
    for (Value& v : in) {
      splat_items_.push_back(std::move(v));
      out.push_back(eval(*e.b, ctx));
      splat_items_.pop_back();
      grow(e, size, out.back());
    }
    return out_type == Type::kList ? Value::list(std::move(out)) : Value::tuple(std::move(out));
  }

  Value call(const Expr& e, const Context& ctx) {
    const Function* f = ctx.function(e.name);
    if (f == nullptr) fail(e, fmt::format("there is no function named '{}'", e.name));
    std::vector<Value> args;
    args.reserve(e.items.size());
    for (const ExprPtr& a : e.items) args.push_back(eval(*a, ctx));
    if (e.expand) {
      Value last = std::move(args.back());
      args.pop_back();
      if (!last.is_sequence()) {
        fail(*e.items.back(), "'...' expands a list, set or tuple argument");
      }
      for (const Value& v : last.items()) args.push_back(v);
    }
    uint64_t work = 1;
    for (const Value& a : args) work += sublinear(e.name) ? 1 : weight(a);
    charge(e, work);
    Value out;
    try {
      out = (*f)(args);
    } catch (const std::exception& x) {
      fail(e, fmt::format("call to function '{}' failed: {}", e.name, x.what()));
    }
    std::string over = limit_passed(out.footprint());
    if (!over.empty()) fail(e, fmt::format("call to function '{}': {}", e.name, over));
    charge(e, weight(out));
    return out;
  }

  double number_operand(const Expr& e, const Value& v, const char* which) {
    double n = 0;
    if (v.is_null() || !to_number(v, &n)) {
      fail(e, fmt::format("unsuitable value for the {} operand: a number is required, not {}",
                          which, v.is_null() ? "null" : type_name(v.type())));
    }
    return n;
  }

  bool bool_operand(const Expr& e, const Value& v, const char* which) {
    bool b = false;
    if (v.is_null() || !to_bool(v, &b)) {
      fail(e, fmt::format("unsuitable value for the {} operand: a bool is required, not {}", which,
                          v.is_null() ? "null" : type_name(v.type())));
    }
    return b;
  }

  Value unary(const Expr& e, const Context& ctx) {
    Value v = eval(*e.a, ctx);
    if (e.name == "!") return Value::boolean(!bool_operand(e, v, "negated"));
    return Value::number(-number_operand(e, v, "negated"));
  }

  Value binary(const Expr& e, const Context& ctx) {
    Value l = eval(*e.a, ctx);
    Value r = eval(*e.b, ctx);
    const std::string& op = e.name;
    if (op == "==" || op == "!=") charge(e, std::min(weight(l), weight(r)));
    if (op == "==") return Value::boolean(l == r);
    if (op == "!=") return Value::boolean(l != r);
    if (op == "&&" || op == "||") {
      bool a = bool_operand(e, l, "left");
      bool b = bool_operand(e, r, "right");
      return Value::boolean(op == "&&" ? a && b : a || b);
    }
    double a = number_operand(e, l, "left");
    double b = number_operand(e, r, "right");
    if (op == "+") return Value::number(a + b);
    if (op == "-") return Value::number(a - b);
    if (op == "*") return Value::number(a * b);
    if (op == "/") {
      if (b == 0) fail(e, "division by zero");
      return Value::number(a / b);
    }
    if (op == "%") {
      if (b == 0) return Value::number(a);  // as HCL's reference (cty) answers
      return Value::number(std::fmod(a, b));
    }
    if (op == "<") return Value::boolean(a < b);
    if (op == "<=") return Value::boolean(a <= b);
    if (op == ">") return Value::boolean(a > b);
    return Value::boolean(a >= b);
  }

  Value conditional(const Expr& e, const Context& ctx) {
    Value c = eval(*e.a, ctx);
    bool b = false;
    if (c.is_null()) fail(*e.a, "the condition is null; it must be true or false");
    if (!to_bool(c, &b)) {
      fail(*e.a, fmt::format("the condition must be a bool, not {}", type_name(c.type())));
    }
    Value t = eval(*e.b, ctx);
    Value f = eval(*e.c, ctx);
    // The two results unify to one type: a string and a number or bool make a string.
    Value& chosen = b ? t : f;
    const Value& other = b ? f : t;
    if (other.type() == Type::kString &&
        (chosen.type() == Type::kNumber || chosen.type() == Type::kBool)) {
      std::string s;
      to_string(chosen, &s);
      return Value::string(s);
    }
    return chosen;
  }

  Value template_value(const Expr& e, const Context& ctx) {
    if (e.parts.size() == 1 && e.parts[0].kind == TemplatePart::Kind::kInterp) {
      return eval(*e.parts[0].expr, ctx);  // "${x}" is x itself
    }
    std::string out;
    render(e, e.parts, ctx, out);
    return Value::string(std::move(out));
  }

  void render(const Expr& owner, const std::vector<TemplatePart>& parts, const Context& ctx,
              std::string& out) {
    for (const TemplatePart& p : parts) {
      switch (p.kind) {
        case TemplatePart::Kind::kLiteral:
          out += p.text;
          grow_text(owner, out);
          break;
        case TemplatePart::Kind::kInterp: {
          Value v = eval(*p.expr, ctx);
          std::string s;
          if (v.is_null()) fail(*p.expr, "a template cannot include a null value");
          if (!to_string(v, &s)) {
            fail(*p.expr, fmt::format("a template cannot include a {}: a string is required",
                                      type_name(v.type())));
          }
          out += s;
          grow_text(*p.expr, out);
          break;
        }
        case TemplatePart::Kind::kIf: {
          Value c = eval(*p.expr, ctx);
          bool b = false;
          if (c.is_null() || !to_bool(c, &b)) {
            fail(*p.expr, "the %{if} condition must be a bool");
          }
          render(owner, b ? p.then_parts : p.else_parts, ctx, out);
          break;
        }
        case TemplatePart::Kind::kFor: {
          Value coll = eval(*p.expr, ctx);
          each(*p.expr, coll, [&](const Value& k, const Value& v) {
            Context inner(&ctx);
            if (!p.key_var.empty()) inner.set(p.key_var, k);
            inner.set(p.value_var, v);
            render(owner, p.then_parts, inner, out);
          });
          break;
        }
      }
    }
  }

  template <typename F>
  void each(const Expr& at, const Value& coll, F&& f) {
    if (coll.is_null()) fail(at, "cannot iterate over a null value");
    if (coll.type() == Type::kSet) {
      for (const Value& v : coll.items()) f(v, v);
    } else if (coll.is_sequence()) {
      const Value::Items& items = coll.items();
      for (size_t i = 0; i < items.size(); ++i) f(Value::number(static_cast<double>(i)), items[i]);
    } else if (coll.is_mapping()) {
      for (const auto& [k, v] : coll.fields()) f(Value::string(k), v);
    } else {
      fail(at, fmt::format("cannot iterate over a {}: a collection is required",
                           type_name(coll.type())));
    }
  }

  Value for_expr(const Expr& e, const Context& ctx) {
    Value coll = eval(*e.a, ctx);
    Value::Items items;
    Value::Fields fields;
    std::map<std::string, Value::Items> groups;
    Footprint size;
    each(*e.a, coll, [&](const Value& k, const Value& v) {
      Context inner(&ctx);
      if (!e.key_var.empty()) inner.set(e.key_var, k);
      inner.set(e.value_var, v);
      if (e.c) {
        Value c = eval(*e.c, inner);
        bool b = false;
        if (c.is_null() || !to_bool(c, &b)) fail(*e.c, "the for expression's if must be a bool");
        if (!b) return;
      }
      if (!e.object_for) {
        items.push_back(eval(*e.b, inner));
        grow(e, size, items.back());
        return;
      }
      Value key = eval(*e.b, inner);
      std::string ks;
      if (key.is_null() || !to_string(key, &ks)) {
        fail(*e.b, "the for expression's key must be a string");
      }
      Value val = eval(*e.items[0], inner);
      grow(e, size, val, ks.size());
      if (e.group) {
        groups[ks].push_back(std::move(val));
      } else if (!fields.emplace(ks, std::move(val)).second) {
        fail(*e.b, fmt::format("two elements produce the key \"{}\"; add '...' after the value "
                               "to group them",
                               ks));
      }
    });
    if (!e.object_for) return Value::tuple(std::move(items));
    if (e.group) {
      for (auto& [k, v] : groups) fields[k] = Value::tuple(std::move(v));
    }
    Value out = Value::object(std::move(fields));
    std::string over = limit_passed(out.footprint());  // groups nest one level more
    if (!over.empty()) fail(e, over);
    return out;
  }

  std::vector<Value> splat_items_;
  uint64_t work_ = 0;
};

}  // namespace

Value evaluate(const Expr& e, const Context& ctx) {
  Evaluator ev;
  return ev.eval(e, ctx);
}

namespace {

// The traversal that starts at a variable: its root and the static attribute / index path.
bool root_path(const Expr& e, std::vector<std::string>* path) {
  switch (e.kind) {
    case Expr::Kind::kVariable:
      path->push_back(e.name);
      return true;
    case Expr::Kind::kAttr:
      if (!root_path(*e.a, path)) return false;
      path->push_back(e.name);
      return true;
    case Expr::Kind::kIndex:
      if (!root_path(*e.a, path)) return false;
      if (e.b->kind == Expr::Kind::kLiteral) {
        std::string s;
        if (to_string(e.b->value, &s)) path->push_back("[" + s + "]");
      }
      return true;
    case Expr::Kind::kSplat:
      if (!root_path(*e.a, path)) return false;
      path->push_back("[*]");
      return true;
    default:
      return false;
  }
}

void collect(const Expr& e, std::vector<std::vector<std::string>>* out);

void collect_parts(const std::vector<TemplatePart>& parts,
                   std::vector<std::vector<std::string>>* out) {
  for (const TemplatePart& p : parts) {
    if (p.expr) collect(*p.expr, out);
    collect_parts(p.then_parts, out);
    collect_parts(p.else_parts, out);
  }
}

void collect(const Expr& e, std::vector<std::vector<std::string>>* out) {
  std::vector<std::string> path;
  if (root_path(e, &path)) {
    out->push_back(std::move(path));
    // Index expressions inside the traversal read variables too.
    for (const Expr* x = &e; x != nullptr; x = x->a.get()) {
      if (x->kind == Expr::Kind::kIndex && x->b->kind != Expr::Kind::kLiteral) collect(*x->b, out);
      if (x->kind == Expr::Kind::kSplat) collect(*x->b, out);
    }
    return;
  }
  for (const ExprPtr* x : {&e.a, &e.b, &e.c}) {
    if (*x) collect(**x, out);
  }
  for (const ExprPtr& x : e.items) collect(*x, out);
  for (const ExprPtr& x : e.values) collect(*x, out);
  collect_parts(e.parts, out);
}

}  // namespace

void traversals(const Expr& e, std::vector<std::vector<std::string>>* out) { collect(e, out); }

}  // namespace spiker::hcl
