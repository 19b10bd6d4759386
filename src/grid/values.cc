// Values a step gets and gives: its arguments checked against its manifest's types, and the
// env_vars runner's output (shared by the workflow and the compiler for runs under load).
#include <fmt/format.h>

#include <cmath>
#include <set>

#include "grid/internal.h"

namespace spiker::grid {

bool conform(const hcl::Value& v, const TypeSpec& t, hcl::Value* out, std::string* why) {
  using K = TypeSpec::Kind;
  if (v.is_null() || t.kind == K::kAny) {
    *out = v;
    return true;
  }
  auto wrong = [&]() {
    *why = fmt::format("{} required, got {}", t.text, hcl::type_name(v.type()));
    return false;
  };
  switch (t.kind) {
    case K::kString: {
      std::string s;
      if (!hcl::to_string(v, &s)) return wrong();
      *out = hcl::Value::string(s);
      return true;
    }
    case K::kNumber: {
      double n = 0;
      if (!hcl::to_number(v, &n)) return wrong();
      *out = hcl::Value::number(n);
      return true;
    }
    case K::kBool: {
      bool b = false;
      if (!hcl::to_bool(v, &b)) return wrong();
      *out = hcl::Value::boolean(b);
      return true;
    }
    case K::kList:
    case K::kSet:
    case K::kTuple: {
      if (!v.is_sequence()) return wrong();
      hcl::Value::Items items;
      for (size_t i = 0; i < v.items().size(); ++i) {
        const TypeSpec& et =
            t.kind == K::kTuple ? t.elements.at(std::min(i, t.elements.size() - 1)) : t.elements[0];
        hcl::Value x;
        if (!conform(v.items()[i], et, &x, why)) {
          *why = fmt::format("element {}: {}", i, *why);
          return false;
        }
        items.push_back(std::move(x));
      }
      *out = t.kind == K::kSet ? hcl::Value::set(std::move(items))
                               : hcl::Value::list(std::move(items));
      return true;
    }
    case K::kMap: {
      if (!v.is_mapping()) return wrong();
      hcl::Value::Fields fields;
      for (const auto& [k, x] : v.fields()) {
        hcl::Value y;
        if (!conform(x, t.elements[0], &y, why)) {
          *why = fmt::format("key \"{}\": {}", k, *why);
          return false;
        }
        fields[k] = std::move(y);
      }
      *out = hcl::Value::map(std::move(fields));
      return true;
    }
    case K::kObject: {
      if (!v.is_mapping()) return wrong();
      hcl::Value::Fields fields;
      for (const auto& [k, at] : t.attributes) {
        const hcl::Value* x = v.field(k);
        hcl::Value y;
        if (x != nullptr && !conform(*x, at, &y, why)) {
          *why = fmt::format("attribute \"{}\": {}", k, *why);
          return false;
        }
        fields[k] = std::move(y);
      }
      *out = hcl::Value::object(std::move(fields));
      return true;
    }
    case K::kAny:
      break;
  }
  *out = v;
  return true;
}

size_t count_of(const StepDef& s, const hcl::Value& v) {
  double n = 0;
  if (v.is_null() || !hcl::to_number(v, &n) || n < 0 || n != std::floor(n)) {
    std::string text;
    if (v.is_null() || !hcl::to_string(v, &text)) text = hcl::type_name(v.type());
    throw hcl::Error(*s.src, start_of(*s.count),
                     fmt::format("count must be a whole number >= 0, not {}", text));
  }
  if (n > static_cast<double>(kMaxCount)) {
    throw hcl::Error(
        *s.src, s.count->pos,
        fmt::format("count is {}: more than {} instances of one step (the limit on count); for "
                    "more requests run the step under a load model (-c, -d, --iterations)",
                    n < 1e15 ? hcl::format_number(n) : fmt::format("{:g}", n), kMaxCount));
  }
  return static_cast<size_t>(n);
}

std::vector<std::pair<std::string, hcl::Value>> for_each_of(const StepDef& s, const hcl::Value& v) {
  std::vector<std::pair<std::string, hcl::Value>> out;
  auto bad = [&](const std::string& why) {
    return hcl::Error(*s.src, start_of(*s.for_each),
                      "for_each must be a map, or a set or list of strings: " + why);
  };
  if (v.is_mapping()) {
    for (const auto& [k, x] : v.fields()) out.emplace_back(k, x);
  } else if (v.is_sequence()) {
    std::set<std::string> keys;
    for (const hcl::Value& x : v.items()) {
      if (x.type() != hcl::Type::kString) {
        throw bad(fmt::format("it holds a {} (use a map, or toset([for x in ... : tostring(x)]))",
                              hcl::type_name(x.type())));
      }
      keys.insert(x.as_string());
    }
    for (const std::string& k : keys) out.emplace_back(k, hcl::Value::string(k));
  } else {
    throw bad(fmt::format("it is a {}", hcl::type_name(v.type())));
  }
  if (out.size() > kMaxCount) {
    throw hcl::Error(*s.src, start_of(*s.for_each),
                     fmt::format("for_each makes {} instances: more than {} instances of one step "
                                 "(the limit on count and for_each); for more requests run the "
                                 "step under a load model (-c, -d, --iterations)",
                                 out.size(), kMaxCount));
  }
  return out;
}

std::string instance_suffix(int index, const std::string& each_key) {
  if (!each_key.empty()) return "[" + hcl::to_json(hcl::Value::string(each_key)) + "]";
  return index >= 0 ? fmt::format("[{}]", index) : "";
}

hcl::Error too_many_instances(const StepDef& s, size_t total) {
  return hcl::Error(*s.src, s.count != nullptr ? s.count->pos : s.pos,
                    fmt::format("with this step the grid makes {} step instances: more than {} "
                                "(the limit on one run's instances, counts included); for more "
                                "requests run under a load model (-c, -d, --iterations)",
                                total, kMaxCount));
}

hcl::Value step_arguments(const Grid& g, const StepDef& s, const hcl::Context& ctx) {
  const ModuleDef& m = s.resource ? g.assets.at(s.runner) : g.runners.at(s.runner);
  hcl::Value::Fields out;
  for (const auto& [name, in] : m.inputs) out[name] = in.default_value;
  if (s.arguments != nullptr) {
    for (const hcl::Attribute& a : s.arguments->attributes) {
      hcl::Value c;
      std::string why;
      if (!conform(hcl::evaluate(*a.expr, ctx), m.inputs.at(a.name).type, &c, &why)) {
        throw hcl::Error(*s.src, a.pos, fmt::format("input '{}': {}", a.name, why));
      }
      out[a.name] = std::move(c);
    }
  }
  return hcl::Value::object(std::move(out));
}

hcl::Value env_vars_output(const hcl::Value& args, const std::map<std::string, std::string>& env,
                           std::string* missing) {
  auto text = [](const hcl::Value* v) {
    std::string s;
    if (v != nullptr && !v->is_null()) hcl::to_string(*v, &s);
    return s;
  };
  std::string prefix = text(args.field("prefix"));
  bool strip = false;
  if (const hcl::Value* v = args.field("strip_prefix")) hcl::to_bool(*v, &strip);
  hcl::Value::Fields vars, all;
  for (const auto& [k, v] : env) all[k] = hcl::Value::string(v);
  if (const hcl::Value* d = args.field("defaults"); d && d->is_mapping()) {
    for (const auto& [k, v] : d->fields()) {
      if (k.starts_with(prefix)) vars[k] = v;
    }
  }
  for (const auto& [k, v] : env) {
    if (k.starts_with(prefix)) vars[k] = hcl::Value::string(v);
  }
  missing->clear();
  if (const hcl::Value* r = args.field("required"); r && r->is_sequence()) {
    for (const hcl::Value& k : r->items()) {
      std::string name = text(&k);
      if (vars.count(name) == 0) *missing += (missing->empty() ? "" : ", ") + name;
    }
  }
  if (strip && !prefix.empty()) {
    hcl::Value::Fields stripped;
    for (auto& [k, v] : vars) stripped[k.substr(prefix.size())] = std::move(v);
    vars = std::move(stripped);
  }
  hcl::Value::Fields out;
  out["vars"] = hcl::Value::map(std::move(vars));
  out["all"] = hcl::Value::map(std::move(all));
  return hcl::Value::object(std::move(out));
}

}  // namespace spiker::grid
