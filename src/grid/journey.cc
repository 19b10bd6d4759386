#include "grid/journey.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <toml++/toml.h>

#include <cmath>
#include <map>
#include <optional>
#include <sstream>

#include "core/error.h"
#include "grid/internal.h"
#include "plan/journey.h"

namespace spiker::grid {
namespace {

using hcl::Value;

[[noreturn]] void cannot(const StepDef& s, const std::string& why) {
  throw SetupError(
      fmt::format("{}: {} '{}' cannot run under load: {} (without load flags the "
                  "grid runs once, where it can)",
                  s.where, s.resource ? "resource" : "step", s.key(), why));
}

// A tree of placeholders for the outputs a step's expressions read, turned into the `step`
// value they are evaluated against.
struct Tree {
  std::map<std::string, Tree> fields;
  std::map<size_t, Tree> items;
  std::optional<std::string> leaf;
  Value value() const {
    if (leaf) return Value::string(*leaf);
    if (!items.empty()) {
      Value::Items out;
      size_t n = items.rbegin()->first + 1;
      for (size_t i = 0; i < n; ++i) {
        auto it = items.find(i);
        out.push_back(it == items.end() ? Value() : it->second.value());
      }
      return Value::tuple(std::move(out));
    }
    Value::Fields out;
    for (const auto& [k, t] : fields) out[k] = t.value();
    return Value::object(std::move(out));
  }
};

void put(toml::table& t, const std::string& key, const Value& v);

toml::array to_array(const Value& v) {
  toml::array a;
  for (const Value& x : v.items()) {
    if (x.is_null()) continue;
    if (x.is_mapping()) {
      toml::table t;
      for (const auto& [k, y] : x.fields()) put(t, k, y);
      a.push_back(std::move(t));
    } else if (x.is_sequence()) {
      a.push_back(to_array(x));
    } else if (x.type() == hcl::Type::kBool) {
      a.push_back(x.as_bool());
    } else if (x.type() == hcl::Type::kNumber) {
      double n = x.as_number();
      if (n == std::floor(n) && std::fabs(n) < 9e15) {
        a.push_back(static_cast<int64_t>(n));
      } else {
        a.push_back(n);
      }
    } else {
      a.push_back(x.as_string());
    }
  }
  return a;
}

void put(toml::table& t, const std::string& key, const Value& v) {
  if (v.is_null()) return;
  switch (v.type()) {
    case hcl::Type::kBool:
      t.insert_or_assign(key, v.as_bool());
      return;
    case hcl::Type::kNumber: {
      double n = v.as_number();
      if (n == std::floor(n) && std::fabs(n) < 9e15) {
        t.insert_or_assign(key, static_cast<int64_t>(n));
      } else {
        t.insert_or_assign(key, n);
      }
      return;
    }
    case hcl::Type::kString:
      t.insert_or_assign(key, v.as_string());
      return;
    case hcl::Type::kTuple:
    case hcl::Type::kList:
    case hcl::Type::kSet:
      t.insert_or_assign(key, to_array(v));
      return;
    default: {
      toml::table sub;
      for (const auto& [k, x] : v.fields()) put(sub, k, x);
      t.insert_or_assign(key, std::move(sub));
    }
  }
}

std::string var_name(const std::string& step, const std::vector<std::string>& path) {
  std::string out = "g_" + step;
  for (const std::string& p : path) out += "_" + p;
  std::string clean;
  for (char c : out) {
    clean += std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::tolower(c)) : '_';
  }
  return clean;
}

class Compiler {
 public:
  explicit Compiler(const Grid& g) : g_(g), names_(g.steps.size()) {}

  std::string compile() {
    toml::table doc;
    load(doc);
    toml::array steps;
    std::vector<toml::table> tables;
    for (size_t i = 0; i < g_.steps.size(); ++i) step(i, tables);
    for (auto& [step_index, extracts] : extracts_) {
      for (size_t t : table_of_[step_index]) {
        toml::table ex;
        for (const auto& [var, spec] : extracts) ex.insert_or_assign(var, spec);
        tables[t].insert_or_assign("extract", std::move(ex));
      }
    }
    if (tables.empty()) {
      throw SetupError(
          fmt::format("grid '{}' has no step that can run under load (http_request, "
                      "s3 and protocol runners can)",
                      g_.source));
    }
    for (toml::table& t : tables) steps.push_back(std::move(t));
    toml::table scenario;
    std::string name = g_.source;
    size_t slash = name.find_last_of('/');
    if (slash != std::string::npos && slash + 1 < name.size()) name = name.substr(slash + 1);
    scenario.insert_or_assign("name", name.empty() ? "grid" : name);
    scenario.insert_or_assign("steps", std::move(steps));
    toml::array scenarios;
    scenarios.push_back(std::move(scenario));
    doc.insert_or_assign("scenarios", std::move(scenarios));
    std::ostringstream out;
    out << doc;
    return out.str() + "\n";
  }

 private:
  void load(toml::table& doc) {
    static const std::map<std::string, std::string> kKeys = {
        {"--concurrency", "vus"},       {"--duration", "duration"},
        {"--iterations", "iterations"}, {"--arrival-rate", "arrival_rate"},
        {"--max-vus", "max_vus"},       {"--rate", "rate"},
        {"--ramp-up", "ramp_up"},       {"--think-time", "think_time"}};
    toml::table load;
    toml::array stages;
    for (const auto& [flag, value] : g_.load.flags) {
      if (flag == "--stage") {
        size_t colon = value.rfind(':');
        toml::table st;
        st.insert_or_assign("duration", value.substr(0, colon));
        std::string target = value.substr(colon == std::string::npos ? value.size() : colon + 1);
        bool rate = target.ends_with("/s");
        if (rate) target.resize(target.size() - 2);
        char* end = nullptr;
        double n = std::strtod(target.c_str(), &end);
        if (colon == std::string::npos || end == target.c_str() || *end != '\0') {
          throw SetupError(
              fmt::format("loadspiker {{ stages }}: '{}' is not DURATION:VUS or "
                          "DURATION:RATE/s (e.g. \"30s:100\")",
                          value));
        }
        st.insert_or_assign(rate ? "target_rate" : "target", n);
        stages.push_back(std::move(st));
        continue;
      }
      auto it = kKeys.find(flag);
      if (it == kKeys.end()) continue;  // threads: a flag of the run, not of the plan
      char* end = nullptr;
      double n = std::strtod(value.c_str(), &end);
      bool number = end != value.c_str() && *end == '\0';
      if (number &&
          (it->second == "vus" || it->second == "iterations" || it->second == "max_vus")) {
        load.insert_or_assign(it->second, static_cast<int64_t>(n));
      } else if (number && (it->second == "arrival_rate" || it->second == "rate")) {
        load.insert_or_assign(it->second, n);
      } else if (number) {
        load.insert_or_assign(it->second, value + "s");
      } else {
        load.insert_or_assign(it->second, value);
      }
    }
    if (!load.empty()) doc.insert_or_assign("load", std::move(load));
    if (g_.load.thresholds.is_mapping()) put(doc, "thresholds", g_.load.thresholds);
    if (!stages.empty()) doc.insert_or_assign("stages", std::move(stages));
  }

  // The value of the resource a step uses as its client (its arguments), if any.
  const StepDef* client_of(const StepDef& s) const {
    if (s.uses == nullptr) return nullptr;
    const hcl::Attribute* c = s.uses->attribute("client");
    if (c == nullptr) return nullptr;
    std::vector<std::vector<std::string>> refs;
    hcl::traversals(*c->expr, &refs);
    for (const auto& r : refs) {
      if (r[0] == "resource" && r.size() >= 3) {
        for (const StepDef& x : g_.steps) {
          if (x.resource && x.runner == r[1] && x.name == r[2]) return &x;
        }
      }
    }
    return nullptr;
  }

  void step(size_t i, std::vector<toml::table>& tables) {
    const StepDef& s = g_.steps[i];
    if (s.resource) return;
    if (s.runner == "print") return;  // prints once; under load it would print every iteration
    if (s.runner == "cmd") cannot(s, "cmd runs a local process");
    if (s.runner == "env_vars") {
      env_values_[i] = env_value(s);
      return;
    }
    if (s.for_each != nullptr) {
      cannot(s, "for_each is not supported under load yet (use count, or run the grid once)");
    }
    const StepOptions& o = s.options;
    for (auto [set, name] : std::initializer_list<std::pair<bool, const char*>>{
             {o.enabled != nullptr, "enabled"},
             {o.retry_seen, "retry { }"},
             {o.timeouts_seen, "timeouts { }"},
             {o.continue_on_failure, "continue_on_failure"},
             {o.delay_before_ns > 0 || o.delay_after_ns > 0, "delay_before / delay_after"},
             {o.sensitive, "sensitive"}}) {
      if (set) cannot(s, std::string(name) + " is not supported under load yet");
    }
    size_t count = 1;
    bool counted = s.count != nullptr;
    if (counted) {
      std::vector<std::vector<std::string>> refs;
      hcl::traversals(*s.count, &refs);
      for (const auto& r : refs) {
        if (r[0] == "step" && !is_env_ref(r)) cannot(s, "its count depends on another step");
      }
      hcl::Context c(&g_.base);
      c.set("step", env_object());
      count = count_of(s, hcl::evaluate(*s.count, c));
      if (tables.size() + count > plan::kMaxSteps) {  // refused before it is built
        cannot(s, fmt::format("its count of {} makes more steps than a journey holds ({} in all, "
                              "{} before it)",
                              count, plan::kMaxSteps, tables.size()));
      }
    }
    const StepDef* client = client_of(s);
    Value client_args = client != nullptr ? step_arguments(g_, *client, g_.base) : Value();
    for (size_t k = 0; k < count; ++k) {
      std::string name = s.key() + (counted ? fmt::format("[{}]", k) : "");
      names_[i].push_back(name);
      table_of_[i].push_back(tables.size());
      tables.push_back(instance(s, i, counted ? static_cast<int>(k) : -1, name, client_args));
    }
  }

  bool is_env_ref(const std::vector<std::string>& r) const {
    return r.size() >= 3 && r[1] == "env_vars";
  }

  Value env_object() const {
    Value::Fields runners;
    Value::Fields envs;
    for (const auto& [i, v] : env_values_) {
      Value::Fields o;
      o["output"] = v;
      envs[g_.steps[i].name] = Value::object(std::move(o));
    }
    if (!envs.empty()) runners["env_vars"] = Value::object(std::move(envs));
    return Value::object(std::move(runners));
  }

  Value env_value(const StepDef& s) {
    std::string missing;
    Value out = env_vars_output(step_arguments(g_, s, g_.base), g_.env, &missing);
    if (!missing.empty()) cannot(s, "required environment variables are not set: " + missing);
    return out;
  }

  // The extraction spec of an output path: ["status_code"], ["body"], ["json", "a", "[0]"],
  // ["headers", "Name"].
  static std::optional<std::string> spec_of(const std::vector<std::string>& p) {
    if (p.size() == 1 && p[0] == "status_code") return "status";
    if (p.size() == 1 && p[0] == "body") return "body";
    if (p.size() == 2 && p[0] == "headers") return "header:" + p[1];
    if (p.size() >= 2 && p[0] == "json") {
      std::string path = "json:$";
      for (size_t k = 1; k < p.size(); ++k) path += p[k].starts_with("[") ? p[k] : "." + p[k];
      return path;
    }
    return std::nullopt;
  }

  toml::table instance(const StepDef& s, size_t i, int index, const std::string& name,
                       const Value& client) {
    // The step value its expressions see: placeholders for the outputs they read.
    Tree tree;
    std::vector<const hcl::Expr*> exprs;
    if (s.arguments != nullptr) {
      for (const hcl::Attribute& a : s.arguments->attributes) exprs.push_back(a.expr.get());
    }
    for (const hcl::Expr* e : exprs) {
      std::vector<std::vector<std::string>> refs;
      hcl::traversals(*e, &refs);
      for (const auto& r : refs) {
        if (r[0] != "step" || is_env_ref(r)) continue;
        size_t dep = find_step(r[1], r[2]);
        const StepDef& d = g_.steps[dep];
        if (d.repeated()) cannot(s, "it reads the outputs of a counted step (" + d.key() + ")");
        if (r.size() < 5 || r[3] != "output") {
          cannot(s, "it reads " + fmt::format("{}", fmt::join(r, ".")) +
                        "; under load a step reads output.status_code, output.body, "
                        "output.headers.NAME or output.json.PATH");
        }
        std::vector<std::string> path(r.begin() + 4, r.end());
        std::optional<std::string> spec = spec_of(path);
        if (!spec) cannot(s, "it reads " + fmt::format("{}", fmt::join(r, ".")));
        std::string var = var_name(d.key(), path);
        extracts_[dep][var] = *spec;
        Tree* t = &tree.fields[r[1]].fields[r[2]].fields["output"];
        for (const std::string& p : path) {
          if (p.starts_with("[")) {
            uint64_t k = std::strtoull(p.c_str() + 1, nullptr, 10);
            if (k > 100'000) cannot(s, "it reads an index over 100000 of another step's output");
            t = &t->items[static_cast<size_t>(k)];
          } else {
            t = &t->fields[p];
          }
        }
        t->leaf = "${" + var + "}";
      }
    }
    hcl::Context ctx(&g_.base);
    Value step_value = tree.value();
    Value::Fields merged = step_value.fields();
    Value envs = env_object();  // kept: fields() refers into it
    for (const auto& [k, v] : envs.fields()) merged[k] = v;
    ctx.set("step", Value::object(std::move(merged)));
    if (index >= 0) {
      Value::Fields c;
      c["index"] = Value::number(index);
      ctx.set("count", Value::object(std::move(c)));
    }
    Value::Fields args = step_arguments(g_, s, ctx).fields();
    toml::table t;
    t.insert_or_assign("name", name);
    auto text = [&](const char* key) -> std::string {
      auto it = args.find(key);
      std::string out;
      if (it != args.end() && !it->second.is_null()) hcl::to_string(it->second, &out);
      return out;
    };
    if (s.runner == "graphql") {  // the config reader's graphql step
      t.insert_or_assign("action", "graphql");
      t.insert_or_assign("url", text("url"));
      t.insert_or_assign("query", text("query"));
      if (!args["variables"].is_null()) put(t, "variables", args["variables"]);
      if (!args["operation_name"].is_null())
        t.insert_or_assign("operation_name", text("operation_name"));
      if (const Value& h = args["headers"]; h.is_mapping() && h.size() > 0) put(t, "headers", h);
      if (!args["timeout"].is_null()) t.insert_or_assign("timeout", text("timeout"));
    } else if (s.runner == "http_request" || s.runner == "s3") {
      std::string url = text("url");
      if (client.is_mapping()) {
        std::string base;
        if (const Value* b = client.field("base_url"); b && !b->is_null()) base = b->as_string();
        if (!base.empty() && url.find("://") == std::string::npos) {
          url = (base.ends_with("/") ? base.substr(0, base.size() - 1) : base) +
                (url.starts_with("/") ? url : "/" + url);
        }
      }
      t.insert_or_assign("url", url);
      std::string method = s.runner == "s3" ? "PUT" : text("method");
      if (!method.empty() && method != "GET") t.insert_or_assign("method", method);
      toml::table headers;
      if (client.is_mapping()) {
        if (const Value* h = client.field("headers"); h && h->is_mapping()) {
          for (const auto& [k, v] : h->fields()) put(headers, k, v);
        }
      }
      if (const Value& h = args["headers"]; h.is_mapping()) {
        for (const auto& [k, v] : h.fields()) put(headers, k, v);
      }
      if (s.runner == "s3") headers.insert_or_assign("Content-Type", text("content_type"));
      if (!headers.empty()) t.insert_or_assign("headers", std::move(headers));
      if (const Value& q = args["query"]; q.is_mapping() && q.size() > 0) put(t, "query", q);
      if (!args["json"].is_null()) {
        put(t, "json", args["json"]);
      } else if (args["form"].is_mapping()) {
        put(t, "form", args["form"]);
      } else if (!args["body"].is_null()) {
        t.insert_or_assign("body", text("body"));
      }
      if (const Value& a = args["auth"]; a.is_mapping()) put(t, "auth", a);
      std::string timeout = text("timeout");
      if (timeout.empty() && client.is_mapping()) {
        if (const Value* ct = client.field("timeout"); ct && !ct->is_null())
          timeout = ct->as_string();
      }
      if (!timeout.empty()) t.insert_or_assign("timeout", timeout);
    } else {
      std::string action = text("action");
      t.insert_or_assign("action", protocol_action(s.runner, action));
      std::string url = text("url");
      if (!url.empty()) t.insert_or_assign("url", url);
      if (!args["body"].is_null()) t.insert_or_assign("body", text("body"));
      for (const auto& [n, v] : args) {
        if (n == "url" || n == "action" || n == "body" || n == "headers" || v.is_null()) continue;
        put(t, n, v);
      }
    }
    if (s.check != nullptr) {
      toml::array checks;
      checks.push_back(check_text(s, *s.check));
      t.insert_or_assign("checks", std::move(checks));
    }
    toml::array deps;
    for (size_t d : s.deps) {
      for (const std::string& n : names_[d]) deps.push_back(n);
    }
    if (!deps.empty()) t.insert_or_assign("depends_on", std::move(deps));
    (void)i;
    return t;
  }

  size_t find_step(const std::string& runner, const std::string& name) const {
    for (size_t k = 0; k < g_.steps.size(); ++k) {
      if (!g_.steps[k].resource && g_.steps[k].runner == runner && g_.steps[k].name == name) {
        return k;
      }
    }
    return 0;
  }

  // `check` as the engine's condition: comparisons of output.status_code with numbers, joined
  // with && and ||.
  std::string check_text(const StepDef& s, const hcl::Expr& e) {
    using K = hcl::Expr::Kind;
    if (e.kind == K::kParens) return check_text(s, *e.a);
    if (e.kind == K::kBinary && (e.name == "&&" || e.name == "||")) {
      return check_text(s, *e.a) + " " + e.name + " " + check_text(s, *e.b);
    }
    auto is_status = [](const hcl::Expr& x) {
      return x.kind == K::kAttr && x.name == "status_code" && x.a->kind == K::kVariable &&
             x.a->name == "output";
    };
    if (e.kind == K::kBinary && e.b->kind == K::kLiteral &&
        e.b->value.type() == hcl::Type::kNumber && is_status(*e.a)) {
      return fmt::format("status {} {}", e.name, hcl::format_number(e.b->value.as_number()));
    }
    throw hcl::Error(*s.src, e.pos,
                     "under load a check compares output.status_code with numbers (joined with "
                     "&& and ||); this one can only run once");
  }

  const Grid& g_;
  std::vector<std::vector<std::string>> names_;  // journey step names per grid step
  std::map<size_t, std::vector<size_t>> table_of_;
  std::map<size_t, std::map<std::string, std::string>> extracts_;
  std::map<size_t, Value> env_values_;
};

}  // namespace

std::string to_journey_toml(const Grid& g) { return Compiler(g).compile(); }

}  // namespace spiker::grid
