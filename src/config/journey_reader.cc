#include "config/journey_reader.h"

#include <fmt/format.h>
#include <strings.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "config/checks_reader.h"
#include "config/data_table.h"
#include "config/journey_parts.h"
#include "core/base64.h"
#include "core/duration.h"
#include "core/error.h"
#include "core/json.h"

namespace spiker::config {

using detail::Auth;
using detail::BodyPart;
using detail::Defaults;
using detail::is_var_name;
using detail::kaioken_sources;
using detail::Pairs;
using detail::RawScenario;
using detail::RawStep;
using detail::read_auth;
using detail::read_data;
using detail::read_defaults;
using detail::read_request;
using detail::read_scenario_load;
using detail::read_string_table;
using detail::read_whole;
using detail::resolve_path;
using detail::StepCompiler;

namespace {

plan::Condition parse_condition(const std::string& text, const std::vector<RawStep>& steps,
                                const StepCompiler& c, const RawStep& at, uint16_t* step_dep) {
  plan::Condition cond;
  std::string_view t = text;
  auto bad = [&]() {
    return ConfigError(fmt::format(
        "{}: cannot read if = \"{}\" of step '{}'; write \"STEP passed\", \"STEP failed\", "
        "\"${{var}}\" (set) or \"!${{var}}\" (not set)",
        at.where, text, at.name));
  };
  bool negate = false;
  if (t.starts_with("!")) {
    negate = true;
    t.remove_prefix(1);
  } else if (t.starts_with("not ")) {
    negate = true;
    t.remove_prefix(4);
  }
  if (t.starts_with("${") && t.ends_with("}")) {
    int slot = c.var_slot(t.substr(2, t.size() - 3));
    if (slot < 0) {
      throw ConfigError(fmt::format("{}: if = \"{}\" of step '{}' uses a variable no step extracts",
                                    at.where, text, at.name));
    }
    cond.kind = negate ? plan::Condition::Kind::kVarUnset : plan::Condition::Kind::kVarSet;
    cond.index = static_cast<uint16_t>(slot);
    return cond;
  }
  if (negate) throw bad();
  size_t space = t.rfind(' ');
  if (space == std::string_view::npos) throw bad();
  std::string_view name = t.substr(0, space), what = t.substr(space + 1);
  if (what != "passed" && what != "failed") throw bad();
  for (size_t i = 0; i < steps.size(); ++i) {
    if (steps[i].name == name) {
      cond.kind = what == "passed" ? plan::Condition::Kind::kStepPassed
                                   : plan::Condition::Kind::kStepFailed;
      cond.index = static_cast<uint16_t>(i);
      *step_dep = static_cast<uint16_t>(i);
      return cond;
    }
  }
  throw ConfigError(fmt::format("{}: if = \"{}\" of step '{}' names no step of this scenario",
                                at.where, text, at.name));
}

}  // namespace

bool uses_journeys(const toml::table& root) {
  for (const char* key : {"defaults", "data", "extraction", "checks", "connections"}) {
    if (root.contains(key)) return true;
  }
  if (const toml::table* t = root["target"].as_table()) {
    for (const char* key : {"cookie_jar", "follow_redirects", "urls_from_file", "body_lines_file",
                            "rand_regex_url", "form_data"}) {
      if (t->contains(key)) return true;
    }
  }
  if (const toml::array* arr = root["scenarios"].as_array()) {
    for (const toml::node& n : *arr) {
      const toml::table* t = n.as_table();
      if (t == nullptr) continue;
      for (const char* key : {"steps", "extract", "depends_on", "checks", "think_time", "query",
                              "json", "form", "multipart", "auth", "if", "once", "timeout"}) {
        if (t->contains(key)) return true;
      }
      if (const toml::node* w = t->get("weight"); w && w->value<int64_t>() == 0) return true;
    }
  }
  return false;
}

std::shared_ptr<plan::Journey> read_journey(const toml::table& root, Section& top,
                                            const TargetSection& target, const std::string& path) {
  auto j = std::make_shared<plan::Journey>();
  Defaults d = read_defaults(root, top, target, path);
  j->cookie_jar = d.cookie_jar;
  j->max_redirects = d.max_redirects;
  read_data(top, *j, path);

  // Read every scenario as written.
  std::vector<RawScenario> raw;
  if (const toml::node* sc = top.get("scenarios")) {
    const toml::array* arr = sc->as_array();
    if (arr == nullptr || !arr->is_array_of_tables()) {
      top.wrong_type("scenarios", *sc, "[[scenarios]] tables");
    }
    for (const toml::node& n : *arr) {
      Section s(*n.as_table(), "[[scenarios]]", path);
      RawScenario r;
      r.where = s.where(n);
      std::optional<std::string> name = s.str("name");
      if (!name) throw ConfigError(fmt::format("{}: each [[scenarios]] needs a name", r.where));
      r.name = *name;
      if (auto w = s.integer("weight", 1'000'000)) r.weight = static_cast<uint32_t>(*w);
      if (const toml::node* steps = s.get("steps")) {
        const toml::array* sa = steps->as_array();
        if (sa == nullptr || !sa->is_array_of_tables() || sa->empty()) {
          s.wrong_type("steps", *steps, "[[scenarios.steps]] tables");
        }
        r.think = s.str("think_time");
        r.load = read_scenario_load(s, path);
        if (r.load && s.get("weight") != nullptr) {
          throw ConfigError(fmt::format(
              "{}: scenario '{}' has its own executor and a weight; a weight shares [load] "
              "with other scenarios, an executor runs beside them: keep one",
              r.where, r.name));
        }
        if (const toml::node* tags = s.get("tags")) {
          if (const toml::table* t = tags->as_table()) {
            for (auto&& [k, v] : *t) r.tags.emplace_back(std::string(k.str()), v.value_or(""));
          }
        }
        for (const toml::node& stn : *sa) {
          Section ss(*stn.as_table(), "[[scenarios.steps]]", path);
          RawStep st;
          st.where = ss.where(stn);
          std::optional<std::string> sname = ss.str("name");
          st.name = sname.value_or(fmt::format("step{}", r.steps.size() + 1));
          read_request(ss, st, path);
          if (!st.think) st.think = r.think;
          ss.finish();
          r.steps.push_back(std::move(st));
        }
      } else {
        r.kaioken = true;
        RawStep st;
        st.where = r.where;
        st.name = r.name;
        read_request(s, st, path);
        if (st.action || st.match) {
          throw ConfigError(
              fmt::format("{}: [[scenarios]] '{}': action and match belong to [[scenarios.steps]]",
                          r.where, r.name));
        }
        if (!st.url)
          throw ConfigError(
              fmt::format("{}: [[scenarios]] '{}' needs a url (or "
                          "[[scenarios.steps]])",
                          r.where, r.name));
        r.tags = st.tags;
        r.steps.push_back(std::move(st));
      }
      s.finish();
      for (const RawScenario& o : raw) {
        if (o.name == r.name) {
          throw ConfigError(fmt::format("{}: a second scenario named '{}'", r.where, r.name));
        }
      }
      raw.push_back(std::move(r));
    }
  }

  // [target] as a step: the run's only request, or (with [extraction]) each VU's login.
  RawStep target_step;
  bool have_target = false;
  bool has_url = target.url || target.urls_from_file || target.rand_regex_url;
  if (has_url && (raw.empty() || root.contains("extraction"))) {
    have_target = true;
    target_step.name = "target";
    target_step.where = path + " [target]";
    target_step.url = target.url;
    target_step.method = target.method;
    if (target.body) {
      target_step.body.push_back({false, *target.body});
      target_step.has_body = true;
    } else if (target.body_file) {
      target_step.body.push_back(
          {false, read_whole(resolve_path(*target.body_file, path), path + " [target] body_file")});
      target_step.has_body = true;
    }
    kaioken_sources(target, path, *j, target_step);
  }
  if (const toml::node* ex = top.get("extraction")) {
    const toml::table* t = ex->as_table();
    if (t == nullptr) top.wrong_type("extraction", *ex, "a table [extraction] var = \"$.path\"");
    if (!have_target) {
      throw ConfigError(fmt::format(
          "{}: [extraction] applies to the [target] request; set [target] url", top.where(*ex)));
    }
    for (auto&& [k, v] : *t) {
      if (!v.is_string()) top.wrong_type(fmt::format("extraction.{}", k.str()), v, "a string");
      target_step.extracts.emplace_back(std::string(k.str()), *v.value<std::string>());
      target_step.extract_where.push_back(top.where(v));
    }
  }
  if (have_target) {
    RawScenario r;
    r.name = "target";
    r.where = target_step.where;
    r.kaioken = true;
    r.weight = raw.empty() ? 1 : 0;
    r.steps.push_back(std::move(target_step));
    raw.push_back(std::move(r));
  }
  if (raw.empty()) {
    throw ConfigError(fmt::format("{}: nothing to run: give [target] url or [[scenarios]]", path));
  }

  // Variables: every name an extract sets.
  plan::Scope scope;
  for (const RawScenario& r : raw) {
    for (const RawStep& st : r.steps) {
      for (size_t i = 0; i < st.extracts.size(); ++i) {
        const std::string& v = st.extracts[i].first;
        if (!is_var_name(v)) {
          throw ConfigError(fmt::format(
              "{}: variable name '{}': use lower case letters, digits and _ (upper-case ${{NAMES}} "
              "are environment variables)",
              st.extract_where[i], v));
        }
        if (std::find(scope.variables.begin(), scope.variables.end(), v) == scope.variables.end()) {
          scope.variables.push_back(v);
        }
      }
    }
  }
  if (scope.variables.size() > plan::kMaxVars) {
    throw ConfigError(fmt::format("{}: more than {} extracted variables", path, plan::kMaxVars));
  }
  for (const plan::DataTable& t : j->data) scope.tables.emplace_back(t.name, t.columns);
  j->variables = scope.variables;
  StepCompiler c(*j, d, path);
  c.set_scope(scope);

  uint16_t next_id = 0;
  auto new_id = [&](const std::string& where) {
    if (next_id >= plan::kMaxSteps) {
      throw ConfigError(
          fmt::format("{}: more than {} steps in all scenarios (Kaioken "
                      "dependencies count once per scenario that needs them)",
                      where, plan::kMaxSteps));
    }
    return next_id++;
  };
  // Compiled once per raw step for variable analysis (ids assigned later).
  auto extracts_var = [](const RawStep& st, std::string_view v) {
    for (const auto& [k, x] : st.extracts) {
      if (k == v) return true;
    }
    return false;
  };

  uint16_t once_keys = 0;
  std::vector<int> once_key_of_kaioken(raw.size(), -1);
  for (size_t si = 0; si < raw.size(); ++si) {
    const RawScenario& r = raw[si];
    if (r.weight == 0) continue;
    plan::Scenario sc;
    sc.name = r.name;
    sc.weight = r.weight;
    sc.load = r.load;
    if (!r.kaioken) {
      c.begin_scenario();
      for (const RawStep& st : r.steps) sc.steps.push_back(c.compile(st, new_id(st.where)));
      for (size_t i = 0; i < r.steps.size(); ++i) {
        const RawStep& st = r.steps[i];
        std::vector<uint16_t>& deps = sc.steps[i].deps;
        auto add = [&](size_t k) {
          if (k != i && std::find(deps.begin(), deps.end(), k) == deps.end()) {
            deps.push_back(static_cast<uint16_t>(k));
          }
        };
        for (const std::string& name : st.depends_on) {
          size_t k = 0;
          while (k < r.steps.size() && r.steps[k].name != name) ++k;
          if (k == r.steps.size()) {
            throw ConfigError(
                fmt::format("{}: step '{}' depends_on '{}', which is not a step of "
                            "scenario '{}'",
                            st.where, st.name, name, r.name));
          }
          add(k);
        }
        if (!st.explicit_deps && i > 0) add(i - 1);
        uint64_t used = sc.steps[i].vars_used;
        for (size_t v = 0; v < scope.variables.size(); ++v) {
          if (!(used >> v & 1)) continue;
          // The nearest step before this one that extracts it, else one after it.
          int found = -1;
          for (size_t k = 0; k < r.steps.size(); ++k) {
            if (k != i && extracts_var(r.steps[k], scope.variables[v]) && (found < 0 || k < i)) {
              found = static_cast<int>(k);
            }
          }
          if (found < 0) {
            throw ConfigError(
                fmt::format("{}: step '{}' uses ${{{}}}, which no step of scenario '{}' extracts",
                            st.where, st.name, scope.variables[v], r.name));
          }
          add(static_cast<size_t>(found));
        }
        if (!st.if_text.empty()) {
          uint16_t dep = UINT16_MAX;
          sc.steps[i].cond = parse_condition(st.if_text, r.steps, c, st, &dep);
          if (dep != UINT16_MAX) add(dep);
        }
      }
    } else {
      // Kaioken: this scenario's request, after the scenarios it depends on (by depends_on or
      // by the variables it uses), which run once per VU.
      std::vector<size_t> members{si};
      for (size_t m = 0; m < members.size(); ++m) {
        const RawStep& st = raw[members[m]].steps[0];
        std::vector<size_t> need;
        for (const std::string& name : st.depends_on) {
          size_t k = 0;
          while (k < raw.size() && raw[k].name != name) ++k;
          if (k == raw.size() || !raw[k].kaioken) {
            throw ConfigError(
                fmt::format("{}: scenario '{}' depends_on '{}', which is not a "
                            "single-request scenario of this file",
                            st.where, st.name, name));
          }
          need.push_back(k);
        }
        plan::Step probe = c.compile(st, 0);
        for (size_t v = 0; v < scope.variables.size(); ++v) {
          if (!(probe.vars_used >> v & 1)) continue;
          if (extracts_var(st, scope.variables[v])) continue;
          size_t k = 0;
          while (k < raw.size() &&
                 !(raw[k].kaioken && extracts_var(raw[k].steps[0], scope.variables[v]))) {
            ++k;
          }
          if (k == raw.size()) {
            throw ConfigError(fmt::format("{}: '{}' uses ${{{}}}, which no scenario extracts",
                                          st.where, st.name, scope.variables[v]));
          }
          need.push_back(k);
        }
        for (size_t k : need) {
          if (std::find(members.begin(), members.end(), k) == members.end()) members.push_back(k);
        }
      }
      for (size_t m = 0; m < members.size(); ++m) {
        const RawStep& st = raw[members[m]].steps[0];
        plan::Step step = c.compile(st, new_id(st.where));
        if (m > 0) {
          if (once_key_of_kaioken[members[m]] < 0) {
            once_key_of_kaioken[members[m]] = once_keys++;
          }
          step.once = true;
        }
        sc.steps.push_back(std::move(step));
      }
      // Dependencies by name and by variable, within the members.
      for (size_t m = 0; m < members.size(); ++m) {
        const RawStep& st = raw[members[m]].steps[0];
        auto add = [&](size_t k) {
          std::vector<uint16_t>& deps = sc.steps[m].deps;
          if (k != m && std::find(deps.begin(), deps.end(), k) == deps.end()) {
            deps.push_back(static_cast<uint16_t>(k));
          }
        };
        for (size_t k = 0; k < members.size(); ++k) {
          const RawScenario& other = raw[members[k]];
          bool named = std::find(st.depends_on.begin(), st.depends_on.end(), other.name) !=
                       st.depends_on.end();
          bool feeds = false;
          for (size_t v = 0; v < scope.variables.size(); ++v) {
            feeds |= (sc.steps[m].vars_used >> v & 1) &&
                     extracts_var(other.steps[0], scope.variables[v]);
          }
          if (named || (feeds && k != m)) add(k);
        }
      }
    }
    for (const plan::Step& st : sc.steps) {
      (st.once ? sc.tables_once : sc.tables_used) |= c.tables_used(st);
    }
    sc.tables_once &= ~sc.tables_used;
    plan::order_steps(sc, path);
    j->scenarios.push_back(std::move(sc));
  }
  if (j->scenarios.empty()) {
    throw ConfigError(fmt::format(
        "{}: every scenario has weight = 0, so none runs; give the ones to run a weight", path));
  }
  for (size_t si = 0; si < raw.size(); ++si) {
    if (raw[si].weight != 0 || raw[si].name == "target") continue;
    bool needed = once_key_of_kaioken[si] >= 0;
    if (!needed) {
      throw ConfigError(fmt::format(
          "{}: scenario '{}' has weight = 0 and no scenario depends on it, so it never runs; "
          "give it a weight or name it in depends_on",
          raw[si].where, raw[si].name));
    }
  }
  // Once-per-VU steps share a key across scenarios: a login done in one counts for all.
  for (plan::Scenario& sc : j->scenarios) {
    for (plan::Step& st : sc.steps) {
      if (!st.once) continue;
      int key = -1;
      for (size_t si = 0; si < raw.size(); ++si) {
        if (raw[si].kaioken && raw[si].steps[0].name == st.name) key = once_key_of_kaioken[si];
      }
      if (key < 0) key = once_keys++;  // a native `once = true` step
      st.once_key = static_cast<uint16_t>(key);
    }
  }
  if (once_keys > 64) throw ConfigError(fmt::format("{}: more than 64 once-per-VU steps", path));
  attach_checks(top, *j, path);
  return j;
}

}  // namespace spiker::config
