// The journey file's sections other than steps: [defaults], [data.NAME] tables and a
// scenario's own executor (k6 scenarios).
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>

#include "config/data_table.h"
#include "config/journey_parts.h"
#include "core/duration.h"
#include "core/error.h"

namespace spiker::config::detail {

Defaults read_defaults(const toml::table& root, Section& top, const TargetSection& target,
                       const std::string& path) {
  Defaults d;
  if (target.url) {  // [target] url names a resource: relative step urls go to its host
    size_t scheme = target.url->find("://");
    d.base_url = target.url->substr(
        0, scheme == std::string::npos ? std::string::npos : target.url->find('/', scheme + 3));
  }
  d.timeout = target.timeout;
  d.headers = target.headers;
  d.cookie_jar = target.cookie_jar.value_or(false);
  if (target.follow_redirects && !*target.follow_redirects) d.max_redirects = 0;
  if (const toml::node* n = top.get("defaults")) {
    if (!n->is_table()) top.wrong_type("defaults", *n, "a table [defaults]");
    Section s(*n->as_table(), "[defaults]", path);
    if (auto v = s.str("base_url")) d.base_url = v;
    if (auto v = s.duration("timeout")) d.timeout = v;
    d.think = s.str("think_time");
    for (auto& h : read_string_table(s, "headers")) {
      std::erase_if(d.headers, [&](const auto& x) {
        return strcasecmp(x.first.c_str(), h.first.c_str()) == 0;
      });
      d.headers.push_back(h);
    }
    d.auth = read_auth(s);
    if (auto v = s.boolean("cookie_jar")) d.cookie_jar = *v;
    if (auto v = s.boolean("follow_redirects")) d.max_redirects = *v ? d.max_redirects : 0;
    if (auto v = s.integer("max_redirects", 100)) d.max_redirects = static_cast<int>(*v);
    s.finish();
  }
  if (const toml::node* n = top.get("connections")) {
    const toml::table* t = n->as_table();
    if (t == nullptr)
      top.wrong_type("connections", *n, "a table [connections] db = \"postgres://...\"");
    for (auto&& [k, v] : *t) {
      std::string name(k.str());
      if (v.is_string()) {
        d.connections.emplace_back(name, *v.value<std::string>());
      } else if (v.is_table()) {
        Section c(*v.as_table(), "[connections." + name + "]", path);
        std::optional<std::string> url = c.str("url");
        if (!url) {
          throw ConfigError(fmt::format("{}: [connections.{}] needs url = \"scheme://host:port\"",
                                        top.where(v), name));
        }
        d.connections.emplace_back(name, *url);
        c.finish();
      } else {
        top.wrong_type("connections." + name, v, "a URL string or a table with url");
      }
    }
  }
  (void)root;
  return d;
}

void read_data(Section& top, plan::Journey& j, const std::string& path) {
  const toml::node* n = top.get("data");
  if (n == nullptr) return;
  const toml::table* t = n->as_table();
  if (t == nullptr) top.wrong_type("data", *n, "tables [data.NAME] with file = \"users.csv\"");
  for (auto&& [name, v] : *t) {
    std::string title = fmt::format("[data.{}]", name.str());
    if (!v.is_table()) top.wrong_type(title, v, "a table with file = \"users.csv\"");
    if (!is_var_name(name.str())) {
      throw ConfigError(
          fmt::format("{}: {}: use a lower-case name (letters, digits, _)", top.where(v), title));
    }
    Section s(*v.as_table(), title, path);
    plan::DataTable table;
    table.name = std::string(name.str());
    std::optional<std::string> file = s.str("file");
    if (!file)
      throw ConfigError(fmt::format("{}: {} needs file = \"rows.csv\"", top.where(v), title));
    std::string strategy = s.str("strategy").value_or("sequential");
    static const std::pair<const char*, plan::Strategy> kStrategies[] = {
        {"sequential", plan::Strategy::kSequential},
        {"circular", plan::Strategy::kCircular},
        {"random", plan::Strategy::kRandom},
        {"unique", plan::Strategy::kUnique},
        {"per-vu", plan::Strategy::kPerVu}};
    bool found = false;
    for (const auto& [k, st] : kStrategies) {
      if (strategy == k) table.strategy = st, found = true;
    }
    if (!found) {
      throw ConfigError(fmt::format(
          "{}: {} strategy = \"{}\"; use sequential, circular, random, unique or per-vu",
          top.where(v), title, strategy));
    }
    std::string exhausted = s.str("on_exhausted").value_or("stop");
    if (exhausted != "stop" && exhausted != "stop-vu") {
      throw ConfigError(fmt::format(
          "{}: {} on_exhausted = \"{}\"; use \"stop\" (end the run) or \"stop-vu\" (end the VU)",
          top.where(v), title, exhausted));
    }
    table.stop_run_when_exhausted = exhausted == "stop";
    s.finish();
    table.file = resolve_path(*file, path);
    load_data_table(table, table.file, fmt::format("{} {}", top.where(v), title));
    j.data.push_back(std::move(table));
  }
  if (j.data.size() > 64) throw ConfigError(fmt::format("{}: at most 64 [data] tables", path));
}

// k6's per-scenario load: executor plus its keys, or nothing.
std::optional<plan::ScenarioLoad> read_scenario_load(Section& s, const std::string& path) {
  const toml::node* e = s.get("executor");
  std::optional<int64_t> vus = s.integer("vus", 10'000'000);
  std::optional<int64_t> iterations = s.integer("iterations");
  std::optional<int64_t> max_vus = s.integer("max_vus", 10'000'000);
  std::optional<double> rate = s.number("arrival_rate");
  std::optional<std::string> duration = s.duration("duration");
  const toml::node* stages = s.get("stages");
  if (e == nullptr) {
    for (const char* key : {"vus", "iterations", "max_vus", "arrival_rate", "duration", "stages"}) {
      if (const toml::node* n = s.get(key)) {
        throw ConfigError(fmt::format(
            "{}: {} on a scenario needs executor = \"...\" beside it (a scenario with its own "
            "load runs beside the others); or move it to [load]",
            s.where(*n), key));
      }
    }
    return std::nullopt;
  }
  plan::ScenarioLoad l;
  l.where = s.where(*e);
  l.executor = e->value_or(std::string());
  static constexpr std::string_view kNames[] = {"constant-vus",          "ramping-vus",
                                                "constant-arrival-rate", "ramping-arrival-rate",
                                                "per-vu-iterations",     "shared-iterations"};
  if (std::find(std::begin(kNames), std::end(kNames), l.executor) == std::end(kNames)) {
    s.wrong_type("executor", *e,
                 "one of constant-vus, ramping-vus, constant-arrival-rate, ramping-arrival-rate, "
                 "per-vu-iterations, shared-iterations");
  }
  if (vus) l.vus = static_cast<uint64_t>(*vus);
  if (iterations) l.iterations = static_cast<uint64_t>(*iterations);
  if (max_vus) l.max_vus = static_cast<uint64_t>(*max_vus);
  l.arrival_rate = rate;
  l.duration = duration;
  if (stages != nullptr) {
    const toml::array* arr = stages->as_array();
    if (arr == nullptr || !arr->is_array_of_tables()) {
      s.wrong_type("stages", *stages, "[[scenarios.stages]] tables");
    }
    for (const toml::node& n : *arr) {
      Section st(*n.as_table(), "[[scenarios.stages]]", path);
      std::optional<std::string> d = st.duration("duration");
      std::optional<double> target = st.number("target"), target_rate = st.number("target_rate");
      st.finish();
      if (!d || target.has_value() == target_rate.has_value()) {
        throw ConfigError(
            fmt::format("{}: each [[scenarios.stages]] needs duration and either "
                        "target (VUs) or target_rate (per second)",
                        st.where(n)));
      }
      l.stages.push_back(fmt::format("{}:{}{}", *d, target_rate ? *target_rate : *target,
                                     target_rate ? "/s" : ""));
    }
  }
  return l;
}

}  // namespace spiker::config::detail
