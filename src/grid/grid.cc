// Reading a grid: files, manifests, variables and locals, steps and resources with their
// dependencies (references and depends_on), manifest checks, and the DAG's order.
#include "grid/grid.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include "core/duration.h"
#include "core/error.h"
#include "core/strings.h"
#include "grid/internal.h"
#include "proto/protocol.h"

extern char** environ;

namespace spiker::grid {

namespace fs = std::filesystem;

int64_t duration_ns(const std::string& text, const std::string& what) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(parse_duration(text, what)).count();
}

size_t Grid::step_count() const {
  return static_cast<size_t>(
      std::count_if(steps.begin(), steps.end(), [](const StepDef& s) { return !s.resource; }));
}

namespace {

[[noreturn]] void fail(const hcl::Source& src, hcl::Pos at, const std::string& msg) {
  throw hcl::Error(src, at, msg);
}

// --- types ---

[[noreturn]] void bad_type(const hcl::Expr& e) {
  fail(*e.src, e.pos,
       "a type is string, number, bool, any, list(T), set(T), map(T), object({...}) or "
       "tuple([...])");
}

TypeSpec type_of(const hcl::Expr& e) {
  TypeSpec t;
  if (e.kind == hcl::Expr::Kind::kVariable) {
    static const std::map<std::string, TypeSpec::Kind> kNames = {
        {"string", TypeSpec::Kind::kString},
        {"number", TypeSpec::Kind::kNumber},
        {"bool", TypeSpec::Kind::kBool},
        {"any", TypeSpec::Kind::kAny}};
    auto it = kNames.find(e.name);
    if (it == kNames.end()) bad_type(e);
    t.kind = it->second;
    t.text = e.name;
    return t;
  }
  if (e.kind != hcl::Expr::Kind::kCall || e.items.size() != 1) bad_type(e);
  const hcl::Expr& arg = *e.items[0];
  if (e.name == "list" || e.name == "set" || e.name == "map") {
    t.kind = e.name == "list"  ? TypeSpec::Kind::kList
             : e.name == "set" ? TypeSpec::Kind::kSet
                               : TypeSpec::Kind::kMap;
    t.elements.push_back(type_of(arg));
    t.text = e.name + "(" + t.elements[0].text + ")";
    return t;
  }
  if (e.name == "object" && arg.kind == hcl::Expr::Kind::kObject) {
    t.kind = TypeSpec::Kind::kObject;
    t.text = "object({...})";
    for (size_t i = 0; i < arg.items.size(); ++i) {
      hcl::Context none;
      std::string key = hcl::evaluate(*arg.items[i], none).as_string();
      t.attributes[key] = type_of(*arg.values[i]);
    }
    return t;
  }
  if (e.name == "tuple" && arg.kind == hcl::Expr::Kind::kTuple) {
    t.kind = TypeSpec::Kind::kTuple;
    t.text = "tuple([...])";
    for (const hcl::ExprPtr& x : arg.items) t.elements.push_back(type_of(*x));
    return t;
  }
  bad_type(e);
}

}  // namespace

bool is_grid_path(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    for (const auto& e : fs::recursive_directory_iterator(path, ec)) {
      if (e.path().extension() == ".hcl") return true;
    }
    return false;
  }
  return path.ends_with(".hcl");
}

namespace {

std::vector<std::string> hcl_files(const std::string& path, const char* what) {
  std::error_code ec;
  std::vector<std::string> out;
  if (fs::is_directory(path, ec)) {
    for (const auto& e : fs::recursive_directory_iterator(path, ec)) {
      if (e.is_regular_file() && e.path().extension() == ".hcl") out.push_back(e.path().string());
    }
    std::sort(out.begin(), out.end());
    if (out.empty()) throw SetupError(fmt::format("{} '{}' holds no .hcl files", what, path));
    return out;
  }
  if (!fs::is_regular_file(path, ec)) {
    throw SetupError(fmt::format("{} '{}': no such file or directory", what, path));
  }
  return {path};
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw SetupError(fmt::format("cannot read '{}'", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class Reader {
 public:
  Reader(Grid& g, const ReadOptions& o) : g_(g), o_(o) {}

  void read() {
    g_.source = o_.path;
    for (char** e = environ; *e != nullptr; ++e) {
      std::string kv = *e;
      size_t eq = kv.find('=');
      if (eq != std::string::npos) g_.env[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    proto::register_protocols();
    g_.files.push_back(hcl::parse_file(builtin_manifests(), "<built-in manifests>"));
    for (const std::string& dir : o_.modules_paths) {
      for (const std::string& f : hcl_files(dir, "--modules-path")) {
        g_.files.push_back(hcl::parse_file(read_text(f), f));
      }
    }
    size_t first_grid = g_.files.size();
    for (const std::string& f : hcl_files(o_.path, "grid")) {
      g_.files.push_back(hcl::parse_file(read_text(f), f));
    }
    for (const hcl::File& f : g_.files) manifests(f);
    g_.base.add_standard_functions();
    for (size_t i = first_grid; i < g_.files.size(); ++i) top_level(g_.files[i]);
    variables();
    locals();
    for (size_t i = first_grid; i < g_.files.size(); ++i) steps(g_.files[i]);
    if (g_.step_count() == 0) {
      throw SetupError(fmt::format("grid '{}' has no step blocks", o_.path));
    }
    dependencies();
    order();
  }

 private:
  // runner / asset blocks.
  void manifests(const hcl::File& f) {
    for (const hcl::Block& b : f.body.blocks) {
      if (b.type != "runner" && b.type != "asset") continue;
      const hcl::Source& src = *f.source;
      if (b.labels.size() != 1)
        fail(src, b.pos, fmt::format("{} takes one label: its name", b.type));
      ModuleDef m;
      m.name = b.labels[0];
      m.asset = b.type == "asset";
      m.where = where(src, b.pos);
      hcl::Context none;
      if (const hcl::Attribute* d = b.body.attribute("description")) {
        m.description = hcl::evaluate(*d->expr, none).as_string();
      }
      for (const hcl::Block& x : b.body.blocks) {
        if (x.type == "input") {
          InputDef in;
          in.name = x.labels.at(0);
          const hcl::Attribute* type = x.body.attribute("type");
          if (type != nullptr) in.type = type_of(*type->expr);
          if (const hcl::Attribute* d = x.body.attribute("default")) {
            in.required = false;
            in.default_value = hcl::evaluate(*d->expr, none);
          }
          if (const hcl::Attribute* opt = x.body.attribute("optional")) {
            if (hcl::evaluate(*opt->expr, none).as_bool()) in.required = false;
          }
          m.inputs[in.name] = std::move(in);
        } else if (x.type == "output") {
          m.outputs.push_back(x.labels.at(0));
        } else if (x.type == "uses") {
          const hcl::Attribute* at = x.body.attribute("asset_type");
          m.uses[x.labels.at(0)] = at ? hcl::evaluate(*at->expr, none).as_string() : "";
        }
      }
      auto& table = m.asset ? g_.assets : g_.runners;
      table[m.name] = std::move(m);  // a module path's manifest replaces a built-in one
    }
  }

  void top_level(const hcl::File& f) {
    const hcl::Source& src = *f.source;
    for (const hcl::Attribute& a : f.body.attributes) {
      fail(src, a.pos,
           fmt::format("'{}': a grid holds blocks only (step, resource, variable, "
                       "locals, loadspiker)",
                       a.name));
    }
    for (const hcl::Block& b : f.body.blocks) {
      static const std::set<std::string> kKnown = {"step",   "resource", "variable",  "locals",
                                                   "runner", "asset",    "loadspiker"};
      if (kKnown.count(b.type) == 0) {
        fail(src, b.pos,
             fmt::format("unknown block '{}'; a grid has step, resource, variable, "
                         "locals and loadspiker blocks",
                         b.type));
      }
      if (b.type == "variable") variable_blocks_.push_back({&src, &b});
      if (b.type == "locals") {
        for (const hcl::Attribute& a : b.body.attributes) locals_.push_back({&src, &a});
      }
      if (b.type == "loadspiker") load_block(src, b);
    }
  }

  void load_block(const hcl::Source& src, const hcl::Block& b) {
    static const std::map<std::string, std::string> kFlags = {{"vus", "--concurrency"},
                                                              {"concurrency", "--concurrency"},
                                                              {"duration", "--duration"},
                                                              {"iterations", "--iterations"},
                                                              {"arrival_rate", "--arrival-rate"},
                                                              {"max_vus", "--max-vus"},
                                                              {"rate", "--rate"},
                                                              {"ramp_up", "--ramp-up"},
                                                              {"think_time", "--think-time"},
                                                              {"threads", "--threads"}};
    hcl::Context none;
    for (const hcl::Attribute& a : b.body.attributes) {
      hcl::Value v = hcl::evaluate(*a.expr, g_.base);
      if (a.name == "thresholds") {
        if (!v.is_mapping()) {
          fail(src, a.pos, "thresholds is an object: { p95_latency_ms = \"< 300\", ... }");
        }
        g_.load.thresholds = v;
        continue;
      }
      if (a.name == "stages") {
        for (const hcl::Value& s : v.items()) {
          std::string text;
          if (!hcl::to_string(s, &text)) fail(src, a.pos, "stages are strings: \"30s:100\"");
          g_.load.flags.emplace_back("--stage", text);
        }
        continue;
      }
      auto it = kFlags.find(a.name);
      if (it == kFlags.end()) {
        fail(src, a.pos,
             fmt::format("loadspiker {{ {} }}: not a load key; use vus, duration, "
                         "iterations, arrival_rate, max_vus, rate, ramp_up, "
                         "think_time, threads or stages",
                         a.name));
      }
      std::string text;
      if (!hcl::to_string(v, &text)) fail(src, a.pos, "a load value is a number or a string");
      g_.load.flags.emplace_back(it->second, text);
    }
  }

  void variables() {
    hcl::Value::Fields vars;
    hcl::Footprint all_size;  // of `var`, one value: the limits on a value hold for it too
    for (const auto& [src, b] : variable_blocks_) {
      if (b->labels.size() != 1) fail(*src, b->pos, "variable takes one label: its name");
      const std::string& name = b->labels[0];
      TypeSpec type;
      if (const hcl::Attribute* t = b->body.attribute("type")) type = type_of(*t->expr);
      hcl::Value v;
      auto given = o_.vars.find(name);
      if (given != o_.vars.end()) {
        v = hcl::Value::string(given->second);
        if (type.kind != TypeSpec::Kind::kString && type.kind != TypeSpec::Kind::kAny) {
          hcl::Source s{"--var " + name, given->second};
          try {
            v = hcl::evaluate(*hcl::parse_expression(s), g_.base);
          } catch (const SetupError&) {
          }
        }
      } else if (const hcl::Attribute* d = b->body.attribute("default")) {
        v = hcl::evaluate(*d->expr, g_.base);
      } else {
        fail(*src, b->pos,
             fmt::format("variable '{}' has no default and no value; give --var "
                         "{}=VALUE",
                         name, name));
      }
      hcl::Value out;
      std::string why;
      if (!conform(v, type, &out, &why)) {
        fail(*src, b->pos, fmt::format("variable '{}': {}", name, why));
      }
      all_size.add_element(out.footprint(), name.size());
      if (std::string over = hcl::limit_passed(all_size); !over.empty()) {
        fail(*src, b->pos,
             "with this variable, all variables together (one object, `var`): " + over);
      }
      vars[name] = out;
    }
    for (const auto& [name, value] : o_.vars) {
      if (vars.count(name) == 0) {
        throw SetupError(fmt::format("--var {}: the grid declares no variable '{}'", name, name));
      }
    }
    g_.base.set("var", hcl::Value::object(std::move(vars)));
  }

  // Locals may use each other: ordered by their references (Kahn), each evaluated once with the
  // locals it reads. Linear in the number of references: a chain of 16,000 locals is read in
  // milliseconds (evaluating in passes until all were ready, with `local` rebuilt after each
  // one, was cubic).
  void locals() {
    size_t n = locals_.size();
    std::map<std::string, size_t, std::less<>> by_name;
    for (size_t i = 0; i < n; ++i) {
      const auto& [src, a] = locals_[i];
      auto [it, fresh] = by_name.emplace(a->name, i);
      if (!fresh) {
        const auto& [first_src, first] = locals_[it->second];
        fail(*src, a->pos,
             fmt::format("local '{}' is defined twice (first at {})", a->name,
                         where(*first_src, first->pos)));
      }
    }
    // What each reads: some locals by name, or all of them (`local` as a whole, local[expr]).
    std::vector<std::vector<size_t>> reads(n), readers(n);
    std::vector<bool> reads_all(n, false);
    for (size_t i = 0; i < n; ++i) {
      const auto& [src, a] = locals_[i];
      std::vector<std::vector<std::string>> refs;
      hcl::traversals(*a->expr, &refs);
      for (const auto& r : refs) {
        if (r[0] == "step") {
          fail(*src, a->pos,
               "a local cannot read a step's output (locals are evaluated before the run)");
        }
        if (r[0] != "local") continue;
        std::string name = r.size() > 1 ? r[1] : "";
        if (name.size() > 2 && name.front() == '[' && name.back() == ']') {
          name = name.substr(1, name.size() - 2);  // local["name"]
        }
        if (name.empty() || name == "[*]") {
          reads_all[i] = true;
          continue;
        }
        auto it = by_name.find(name);
        if (it == by_name.end()) {
          fail(*src, a->pos, fmt::format("local.{} is not defined in any locals block", name));
        }
        reads[i].push_back(it->second);
      }
      if (reads_all[i]) {
        reads[i].clear();
        for (size_t j = 0; j < n; ++j) {
          if (j != i) reads[i].push_back(j);
        }
      }
      std::sort(reads[i].begin(), reads[i].end());
      reads[i].erase(std::unique(reads[i].begin(), reads[i].end()), reads[i].end());
      for (size_t j : reads[i]) readers[j].push_back(i);
    }
    std::vector<size_t> waiting(n), ready;
    for (size_t i = 0; i < n; ++i) {
      waiting[i] = reads[i].size();
      if (waiting[i] == 0) ready.push_back(i);
    }
    std::vector<hcl::Value> values(n);
    size_t done = 0;
    hcl::Footprint all_size;  // of `local`, one value: the limits on a value hold for it too
    for (size_t next = 0; next < ready.size(); ++next) {  // in file order where they allow
      size_t i = ready[next];
      const auto& [src, a] = locals_[i];
      hcl::Value::Fields seen;  // the locals it reads, and only those
      for (size_t j : reads[i]) seen[locals_[j].second->name] = values[j];
      hcl::Context ctx(&g_.base);
      ctx.set("local", hcl::Value::object(std::move(seen)));
      values[i] = hcl::evaluate(*a->expr, ctx);
      all_size.add_element(values[i].footprint(), a->name.size());
      if (std::string over = hcl::limit_passed(all_size); !over.empty()) {
        fail(*src, a->pos, "with this local, all locals together (one object, `local`): " + over);
      }
      ++done;
      for (size_t u : readers[i]) {
        if (--waiting[u] == 0) ready.push_back(u);
      }
    }
    if (done != n) {
      // A local left waiting reads one that waits too: walk those reads until one repeats.
      size_t at = 0;
      while (waiting[at] == 0) ++at;
      std::vector<size_t> path;
      std::vector<int> seen(n, -1);
      while (seen[at] < 0) {
        seen[at] = static_cast<int>(path.size());
        path.push_back(at);
        for (size_t j : reads[at]) {
          if (waiting[j] != 0) {
            at = j;
            break;
          }
        }
      }
      std::string cycle;
      for (size_t k = static_cast<size_t>(seen[at]); k < path.size(); ++k) {
        cycle += "local." + locals_[path[k]].second->name + " -> ";
      }
      cycle += "local." + locals_[at].second->name;
      fail(*locals_[at].first, locals_[at].second->pos,
           "these locals refer to each other in a cycle: " + cycle);
    }
    hcl::Value::Fields all;
    for (size_t i = 0; i < n; ++i) all[locals_[i].second->name] = std::move(values[i]);
    g_.base.set("local", hcl::Value::object(std::move(all)));
  }

  void steps(const hcl::File& f) {
    const hcl::Source& src = *f.source;
    for (const hcl::Block& b : f.body.blocks) {
      if (b.type != "step" && b.type != "resource") continue;
      if (b.labels.size() != 2) {
        fail(src, b.pos,
             fmt::format("{} takes two labels: {} \"<{}>\" \"<name>\"", b.type, b.type,
                         b.type == "step" ? "runner" : "asset type"));
      }
      StepDef s;
      s.resource = b.type == "resource";
      s.runner = b.labels[0];
      s.name = b.labels[1];
      s.pos = b.pos;
      s.src = &src;
      s.where = where(src, b.pos);
      const auto& table = s.resource ? g_.assets : g_.runners;
      auto m = table.find(s.runner);
      if (m == table.end()) {
        std::string known;
        for (const auto& [name, def] : table) known += (known.empty() ? "" : ", ") + name;
        fail(src, b.pos,
             fmt::format("unknown {} '{}'; known: {} (or add a manifest with "
                         "--modules-path)",
                         s.resource ? "asset type" : "runner", s.runner, known));
      }
      if (!implemented(s.runner, s.resource)) {
        fail(src, b.pos,
             fmt::format("{} '{}' has a manifest ({}) but no implementation in this "
                         "build",
                         s.resource ? "asset" : "runner", s.runner, m->second.where));
      }
      for (const hcl::Attribute& a : b.body.attributes) {
        if (a.name == "count" && !s.resource) {
          s.count = a.expr.get();
        } else if (a.name == "for_each" && !s.resource) {
          s.for_each = a.expr.get();
        } else if (a.name == "check" && !s.resource) {
          s.check = a.expr.get();
        } else if (a.name == "depends_on") {
          depends_on(s, a);
        } else if (a.name != "description" && !step_option(s, a, g_.base)) {
          fail(src, a.pos,
               fmt::format("'{}' is not a {} attribute; use count, for_each, depends_on, check, "
                           "enabled, tags, continue_on_failure, delay_before, delay_after, "
                           "sensitive, and arguments {{ }}, uses {{ }}, retry {{ }}, "
                           "timeouts {{ }} blocks",
                           a.name, b.type));
        }
      }
      for (const hcl::Block& x : b.body.blocks) {
        if (x.type == "arguments" || x.type == "uses") {
          const hcl::Body*& slot = x.type == "arguments" ? s.arguments : s.uses;
          if (slot != nullptr) {
            fail(src, x.pos,
                 fmt::format("a second {} block in {} '{}'; a {} has one: merge their "
                             "attributes into the first",
                             x.type, b.type, s.key(), b.type));
          }
          slot = &x.body;
        } else if (!step_option_block(s, x, g_.base)) {
          fail(src, x.pos,
               fmt::format("unknown block '{}' in a {}; use arguments {{ }}, uses {{ }}, "
                           "retry {{ }} and timeouts {{ }}",
                           x.type, b.type));
        }
      }
      if (s.count != nullptr && s.for_each != nullptr) {
        fail(src, start_of(*s.for_each),
             fmt::format("step '{}' has both count and for_each; a step repeats by one of them",
                         s.key()));
      }
      check_inputs(s, m->second, src);
      check_count(s);
      if (index_.count(s.key()) != 0) {
        fail(src, b.pos,
             fmt::format("{} '{}' is defined twice (also at {})", b.type, s.key(),
                         g_.steps[index_[s.key()]].where));
      }
      index_[s.key()] = g_.steps.size();
      g_.steps.push_back(std::move(s));
    }
  }

  // depends_on = [step.print.first, resource.http_client.c, "http_request.first"]: references
  // (HCL's form, burstgridgo's) or strings ("<runner>.<name>"), or an expression that makes a
  // list of strings (a variable).
  void depends_on(StepDef& s, const hcl::Attribute& a) {
    const hcl::Source& src = *s.src;
    auto add_value = [&](const hcl::Value& v, hcl::Pos at) {
      if (v.type() != hcl::Type::kString) {
        fail(src, at,
             fmt::format("depends_on lists steps: step.<runner>.<name> or \"<runner>.<name>\", "
                         "not a {}",
                         hcl::type_name(v.type())));
      }
      s.depends_on.emplace_back(v.as_string(), at);
    };
    auto is_traversal = [](const hcl::Expr& e) {
      return e.kind == hcl::Expr::Kind::kVariable || e.kind == hcl::Expr::Kind::kAttr ||
             e.kind == hcl::Expr::Kind::kIndex;
    };
    if (a.expr->kind != hcl::Expr::Kind::kTuple) {
      if (is_traversal(*a.expr)) {
        std::vector<std::vector<std::string>> refs;
        hcl::traversals(*a.expr, &refs);
        if (!refs.empty() && (refs[0][0] == "step" || refs[0][0] == "resource")) {
          fail(src, start_of(*a.expr),
               "depends_on is a list: write depends_on = [ ... ] around it");
        }
      }
      hcl::Value v = hcl::evaluate(*a.expr, g_.base);
      if (!v.is_sequence()) {
        fail(src, a.expr->pos,
             "depends_on is a list of steps: [step.<runner>.<name>, \"<runner>.<name>\"]");
      }
      for (const hcl::Value& x : v.items()) add_value(x, a.expr->pos);
      return;
    }
    for (const hcl::ExprPtr& item : a.expr->items) {
      std::vector<std::vector<std::string>> refs;
      if (is_traversal(*item)) hcl::traversals(*item, &refs);
      if (refs.empty() || (refs[0][0] != "step" && refs[0][0] != "resource")) {
        add_value(hcl::evaluate(*item, g_.base), start_of(*item));
        continue;
      }
      const std::vector<std::string>& r = refs[0];
      bool step = r[0] == "step";
      if (r.size() < 3 || r[1].starts_with("[") || r[2].starts_with("[")) {
        fail(src, start_of(*item),
             fmt::format("depends_on: {} names no {}; write {}", fmt::join(r, "."), r[0],
                         step ? "step.<runner>.<name>" : "resource.<type>.<name>"));
      }
      s.depends_on.emplace_back((step ? "" : "resource.") + r[1] + "." + r[2], start_of(*item));
    }
  }

  void check_inputs(const StepDef& s, const ModuleDef& m, const hcl::Source& src) {
    static const hcl::Body kEmpty;
    const hcl::Body& args = s.arguments != nullptr ? *s.arguments : kEmpty;
    for (const hcl::Attribute& a : args.attributes) {
      if (m.inputs.count(a.name) == 0) {
        std::string known, best;
        size_t best_d = 3;
        for (const auto& [name, in] : m.inputs) {
          known += (known.empty() ? "" : ", ") + name;
          size_t d = edit_distance(name, a.name);
          if (d < best_d) {
            best_d = d;
            best = name;
          }
        }
        fail(src, a.pos,
             fmt::format("'{}' is not an input of {} '{}'{}; its inputs: {}", a.name,
                         m.asset ? "asset" : "runner", m.name,
                         best.empty() ? "" : " (did you mean '" + best + "'?)",
                         known.empty() ? "none" : known));
      }
    }
    for (const auto& [name, in] : m.inputs) {
      if (in.required && args.attribute(name) == nullptr) {
        fail(src, s.arguments ? s.arguments->attributes.empty() ? s.pos : s.pos : s.pos,
             fmt::format("{} '{}' needs the input '{}' ({}) in its arguments block",
                         s.resource ? "resource" : "step", s.key(), name, in.type.text));
      }
    }
    // Inputs known before the run (no step outputs, no count.index) are checked now.
    for (const hcl::Attribute& a : args.attributes) {
      std::vector<std::vector<std::string>> refs;
      hcl::traversals(*a.expr, &refs);
      bool dynamic = std::any_of(refs.begin(), refs.end(), [](const auto& r) {
        return r[0] == "step" || r[0] == "resource" || r[0] == "count" || r[0] == "each";
      });
      if (dynamic) continue;
      hcl::Value v = hcl::evaluate(*a.expr, g_.base);
      hcl::Value out;
      std::string why;
      if (!conform(v, m.inputs.at(a.name).type, &out, &why)) {
        fail(src, a.pos,
             fmt::format("input '{}' of {} '{}': {}", a.name, m.asset ? "asset" : "runner", m.name,
                         why));
      }
      check_address(s, a.name, out, a.pos);
    }
  }

  // A count known before the run (no step outputs) is checked now: validate refuses what run
  // would.
  void check_count(const StepDef& s) {
    if (s.resource) return;
    size_t count = 1;
    if (const hcl::Expr* e = s.count != nullptr ? s.count : s.for_each) {
      std::vector<std::vector<std::string>> refs;
      hcl::traversals(*e, &refs);
      for (const auto& r : refs) {
        if (r[0] == "count" || r[0] == "each") {
          fail(*s.src, start_of(*e),
               fmt::format("{}.{} is not set in a step's {} (it is set for its arguments)", r[0],
                           r.size() > 1 ? r[1] : "", s.count == e ? "count" : "for_each"));
        }
        if (r[0] == "step" || r[0] == "resource") return;  // known at run
      }
      hcl::Value v = hcl::evaluate(*e, g_.base);
      count = s.count == e ? count_of(s, v) : for_each_of(s, v).size();
    }
    instances_ += count;
    if (instances_ > kMaxCount) throw too_many_instances(s, instances_);
  }

  // The step or resource a reference names; SIZE_MAX when it names none.
  size_t lookup(const std::vector<std::string>& r) const {
    std::string key;
    if (r[0] == "step" && r.size() >= 3) key = r[1] + "." + r[2];
    if (r[0] == "resource" && r.size() >= 3) key = "resource." + r[1] + "." + r[2];
    auto it = index_.find(key);
    return it == index_.end() ? SIZE_MAX : it->second;
  }

  void dependencies() {
    for (size_t i = 0; i < g_.steps.size(); ++i) {
      StepDef& s = g_.steps[i];
      std::vector<std::pair<const hcl::Expr*, std::vector<std::vector<std::string>>>> exprs;
      auto add = [&](const hcl::Expr* e) {
        if (e == nullptr) return;
        exprs.emplace_back(e, std::vector<std::vector<std::string>>{});
        hcl::traversals(*e, &exprs.back().second);
      };
      add(s.count);
      add(s.for_each);
      add(s.options.enabled);
      add(s.check);
      for (const hcl::Body* b : {s.arguments, s.uses}) {
        if (b == nullptr) continue;
        for (const hcl::Attribute& a : b->attributes) add(a.expr.get());
      }
      std::set<size_t> deps;
      for (const auto& [e, refs] : exprs) {
        for (const auto& r : refs) {
          if (r[0] == "count" && s.count == nullptr) {
            fail(*e->src, e->pos, "count.index is only set in a step with count");
          }
          if (r[0] == "each" && s.for_each == nullptr) {
            fail(*e->src, e->pos, "each.key and each.value are only set in a step with for_each");
          }
          if (r[0] != "step" && r[0] != "resource") continue;
          size_t d = lookup(r);
          if (d == SIZE_MAX) {
            fail(*e->src, e->pos,
                 fmt::format("{} names no {} in this grid", fmt::join(r, "."),
                             r[0] == "step" ? "step" : "resource"));
          }
          if (d == i) fail(*e->src, e->pos, "a step cannot use its own output");
          deps.insert(d);
        }
      }
      for (const auto& [name, at] : s.depends_on) {
        size_t d = depends_on_target(name);
        if (d == SIZE_MAX) {
          fail(*s.src, at,
               fmt::format("depends_on names '{}', which is not a step of this grid (write "
                           "step.<runner>.<name> or \"<runner>.<name>\", e.g. "
                           "step.http_request.first)",
                           name));
        }
        if (d == i) fail(*s.src, at, "a step cannot depend on itself");
        deps.insert(d);
      }
      s.deps.assign(deps.begin(), deps.end());
    }
  }

  size_t depends_on_target(std::string name) const {
    if (name.starts_with("step.")) name = name.substr(5);
    size_t bracket = name.find('[');
    if (bracket != std::string::npos) name = name.substr(0, bracket);
    auto it = index_.find(name);
    if (it != index_.end()) return it->second;
    size_t found = SIZE_MAX;
    for (size_t i = 0; i < g_.steps.size(); ++i) {  // a bare name that is unique
      if (!g_.steps[i].resource && g_.steps[i].name == name) {
        if (found != SIZE_MAX) return SIZE_MAX;
        found = i;
      }
    }
    return found;
  }

  // Topological order (Kahn); a cycle is named step by step.
  void order() {
    size_t n = g_.steps.size();
    std::vector<size_t> indegree(n, 0);
    std::vector<std::vector<size_t>> users(n);
    for (size_t i = 0; i < n; ++i) {
      for (size_t d : g_.steps[i].deps) {
        ++indegree[i];
        users[d].push_back(i);
      }
    }
    std::vector<size_t> queue, order;
    for (size_t i = 0; i < n; ++i) {
      if (indegree[i] == 0) queue.push_back(i);
    }
    while (!queue.empty()) {
      size_t i = queue.back();
      queue.pop_back();
      order.push_back(i);
      for (size_t u : users[i]) {
        if (--indegree[u] == 0) queue.push_back(u);
      }
    }
    if (order.size() != n) {
      // Walk dependencies from a step left over until one repeats: that loop is the cycle.
      size_t start = 0;
      while (indegree[start] == 0) ++start;
      std::vector<size_t> path;
      std::vector<int> seen(n, -1);
      size_t at = start;
      while (seen[at] < 0) {
        seen[at] = static_cast<int>(path.size());
        path.push_back(at);
        for (size_t d : g_.steps[at].deps) {
          if (indegree[d] != 0) {
            at = d;
            break;
          }
        }
      }
      std::string cycle;
      for (size_t k = static_cast<size_t>(seen[at]); k < path.size(); ++k) {
        cycle += g_.steps[path[k]].key() + " -> ";
      }
      cycle += g_.steps[at].key();
      const StepDef& s = g_.steps[at];
      fail(*s.src, s.pos, "the steps depend on each other in a cycle: " + cycle);
    }
    // Reorder, remapping dependency indices.
    std::vector<size_t> new_index(n);
    for (size_t k = 0; k < n; ++k) new_index[order[k]] = k;
    std::vector<StepDef> sorted;
    sorted.reserve(n);
    for (size_t k = 0; k < n; ++k) sorted.push_back(std::move(g_.steps[order[k]]));
    for (StepDef& s : sorted) {
      for (size_t& d : s.deps) d = new_index[d];
    }
    g_.steps = std::move(sorted);
  }

  Grid& g_;
  const ReadOptions& o_;
  std::vector<std::pair<const hcl::Source*, const hcl::Block*>> variable_blocks_;
  std::vector<std::pair<const hcl::Source*, const hcl::Attribute*>> locals_;
  std::map<std::string, size_t> index_;
  size_t instances_ = 0;  // step instances the counts known before the run make
};

}  // namespace

std::unique_ptr<Grid> read(const ReadOptions& o) {
  auto g = std::make_unique<Grid>();
  Reader(*g, o).read();
  return g;
}

std::string describe(const Grid& g) {
  std::string out;
  for (const StepDef& s : g.steps) {
    std::string deps;
    for (size_t d : s.deps) deps += (deps.empty() ? "" : ", ") + g.steps[d].key();
    out += fmt::format("  {:<9} {}{}{}\n", s.resource ? "resource" : "step", s.key(),
                       s.count != nullptr      ? "  (count)"
                       : s.for_each != nullptr ? "  (for_each)"
                                               : "",
                       deps.empty() ? "" : "  after " + deps);
    if (!s.options.tags.empty()) {
      out.insert(out.size() - 1, fmt::format("  tags {}", fmt::join(s.options.tags, ", ")));
    }
  }
  return out;
}

std::string graph(const Grid& g, const std::string& format) {
  std::string out = format == "dot" ? "digraph grid {\n" : "graph TD\n";
  auto id = [](const StepDef& s) {
    std::string k = s.key();
    std::replace(k.begin(), k.end(), '.', '_');
    return k;
  };
  for (const StepDef& s : g.steps) {
    if (format == "dot") {
      out +=
          fmt::format("  {} [label=\"{}\"{}];\n", id(s), s.key(), s.resource ? ", shape=box" : "");
    } else {
      out += fmt::format("  {}[\"{}\"]\n", id(s), s.key());
    }
    for (size_t d : s.deps) {
      out += format == "dot" ? fmt::format("  {} -> {};\n", id(g.steps[d]), id(s))
                             : fmt::format("  {} --> {}\n", id(g.steps[d]), id(s));
    }
  }
  if (format == "dot") out += "}\n";
  return out;
}

}  // namespace spiker::grid
