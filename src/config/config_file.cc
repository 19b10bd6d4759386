#include "config/config_file.h"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <climits>
#include <fstream>
#include <set>
#include <sstream>

#include "config/env_interpolate.h"
#include "core/base64.h"
#include "core/error.h"

namespace spiker::config {
namespace {

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t prev = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t cur = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] == b[j - 1] ? 0 : 1)});
      prev = cur;
    }
  }
  return row[b.size()];
}

// One table of the file: typed reads that mark keys as known, then finish() rejects the rest.
class Section {
 public:
  Section(const toml::table& t, std::string name, const std::string& file)
      : t_(t), name_(std::move(name)), file_(file) {}

  std::string where(const toml::node& n) const {
    return fmt::format("{}:{}:{}", file_, n.source().begin.line, n.source().begin.column);
  }

  const toml::node* get(std::string_view key) {
    known_.insert(std::string(key));
    return t_.get(key);
  }

  [[noreturn]] void wrong_type(std::string_view key, const toml::node& n, const char* want) const {
    throw ConfigError(fmt::format("{}: {} {}: expected {}", where(n), name_, key, want));
  }

  std::optional<std::string> str(std::string_view key) {
    const toml::node* n = get(key);
    if (n == nullptr) return std::nullopt;
    if (!n->is_string()) wrong_type(key, *n, "a string");
    return *n->value<std::string>();
  }

  std::optional<bool> boolean(std::string_view key) {
    const toml::node* n = get(key);
    if (n == nullptr) return std::nullopt;
    if (!n->is_boolean()) wrong_type(key, *n, "true or false");
    return *n->value<bool>();
  }

  std::optional<int64_t> integer(std::string_view key, int64_t max = INT64_MAX) {
    const toml::node* n = get(key);
    if (n == nullptr) return std::nullopt;
    if (!n->is_integer() || *n->value<int64_t>() < 0 || *n->value<int64_t>() > max) {
      wrong_type(key, *n,
                 max == INT64_MAX ? "a whole number >= 0" : "a whole number from 0 to 10,000,000");
    }
    return *n->value<int64_t>();
  }

  std::optional<double> number(std::string_view key) {
    const toml::node* n = get(key);
    if (n == nullptr) return std::nullopt;
    if (!n->is_number() || *n->value<double>() < 0) wrong_type(key, *n, "a number >= 0");
    return *n->value<double>();
  }

  // A duration as Kaioken writes it ("500ms", "2m"); a bare number means seconds.
  std::optional<std::string> duration(std::string_view key) {
    const toml::node* n = get(key);
    if (n == nullptr) return std::nullopt;
    if (n->is_string()) return *n->value<std::string>();
    if (n->is_number() && *n->value<double>() >= 0) return fmt::format("{}s", *n->value<double>());
    wrong_type(key, *n, "a duration such as \"10s\"");
  }

  // Kaioken keys LoadSpiker does not run yet: said plainly rather than ignored.
  void not_yet(std::string_view key, std::string_view instead) {
    if (const toml::node* n = get(key)) {
      throw ConfigError(fmt::format("{}: {} {} is not supported by LoadSpiker yet; {}", where(*n),
                                    name_, key, instead));
    }
  }

  void finish() const {
    for (auto&& [k, v] : t_) {
      std::string key(k.str());
      if (known_.count(key)) continue;
      std::string best;
      size_t best_d = 4;
      for (const std::string& known : known_) {
        size_t d = edit_distance(key, known);
        if (d < best_d) best_d = d, best = known;
      }
      throw ConfigError(fmt::format("{}:{}:{}: unknown key '{}' in {}{}", file_,
                                    k.source().begin.line, k.source().begin.column, key, name_,
                                    best.empty() ? fmt::format("; known keys: {}", list())
                                                 : fmt::format("; did you mean '{}'?", best)));
    }
  }

 private:
  std::string list() const {
    std::string out;
    for (const std::string& k : known_) out += (out.empty() ? "" : ", ") + k;
    return out;
  }

  const toml::table& t_;
  std::string name_;
  const std::string& file_;
  std::set<std::string> known_;
};

// headers = { Name = "value", ... }
std::vector<std::pair<std::string, std::string>> read_headers(Section& s) {
  std::vector<std::pair<std::string, std::string>> out;
  if (const toml::node* h = s.get("headers")) {
    const toml::table* tbl = h->as_table();
    if (tbl == nullptr) s.wrong_type("headers", *h, "a table such as { Accept = \"text/html\" }");
    for (auto&& [name, value] : *tbl) {
      if (!value.is_string())
        s.wrong_type(std::string("headers.") += name.str(), value, "a string");
      out.emplace_back(std::string(name.str()), *value.value<std::string>());
    }
  }
  return out;
}

void read_scenario(Section s, ScenarioSection& sc, const toml::node& at) {
  std::optional<std::string> name = s.str("name");
  std::optional<std::string> url = s.str("url");
  if (!name || !url) {
    throw ConfigError(fmt::format("{}: each [[scenarios]] needs name and url", s.where(at)));
  }
  sc.name = *name;
  sc.url = *url;
  sc.method = s.str("method");
  sc.body = s.str("body");
  sc.body_file = s.str("body_file");
  sc.headers = read_headers(s);
  if (std::optional<int64_t> w = s.integer("weight", 1'000'000)) {
    if (*w == 0) {
      s.not_yet("weight", "weight = 0 marks a dependency-only step, which needs depends_on");
    }
    sc.weight = static_cast<uint32_t>(*w);
  }
  if (const toml::node* tags = s.get("tags")) {
    if (const toml::table* t = tags->as_table()) {
      for (auto&& [k, v] : *t) {
        if (!v.is_string()) s.wrong_type("tags", v, "strings");
        sc.tags.emplace_back(std::string(k.str()), *v.value<std::string>());
      }
    } else if (const toml::array* arr = tags->as_array()) {
      for (const toml::node& v : *arr) {
        if (!v.is_string()) s.wrong_type("tags", v, "strings");
        sc.tags.emplace_back(*v.value<std::string>(), "");
      }
    } else {
      s.wrong_type("tags", *tags, "a table { k = \"v\" } or an array of strings");
    }
  }
  s.not_yet("extract", "variables extracted from responses need the scenario engine");
  s.not_yet("depends_on", "ordered steps need the scenario engine");
  s.finish();
}

void read_target(Section s, TargetSection& t) {
  t.url = s.str("url");
  t.method = s.str("method");
  t.timeout = s.duration("timeout");
  t.connect_timeout = s.duration("connect_timeout");
  t.body = s.str("body");
  t.body_file = s.str("body_file");
  t.insecure = s.boolean("insecure");
  t.disable_keepalive = s.boolean("disable_keepalive");
  t.cacert = s.str("cacert");
  t.cert = s.str("cert");
  t.key = s.str("key");
  t.headers = read_headers(s);
  if (std::optional<std::string> auth = s.str("basic_auth")) {
    std::string pair = auth->find(':') == std::string::npos ? *auth + ":" : *auth;
    t.headers.emplace_back("Authorization", "Basic " + base64_encode(pair));
  }
  if (s.boolean("follow_redirects").value_or(false)) {
    s.not_yet("follow_redirects", "redirects are reported as 3xx; set follow_redirects = false");
  }
  if (s.boolean("http2").value_or(false)) s.not_yet("http2", "HTTP/2 comes with its own issue");
  for (const char* key : {"body_lines_file", "cookie_jar", "proxy", "form_data", "rand_regex_url",
                          "urls_from_file", "connect_to"}) {
    s.not_yet(key, "remove it to run the rest");
  }
  s.finish();
}

void read_load(Section s, LoadSection& l) {
  constexpr int64_t kMaxVus = 10'000'000;
  l.concurrency = s.integer("concurrency", kMaxVus);
  if (std::optional<int64_t> vus = s.integer("vus", kMaxVus)) l.concurrency = vus;
  l.duration = s.duration("duration");
  if (std::optional<int64_t> n = s.integer("max_requests"))
    l.max_requests = static_cast<uint64_t>(*n);
  if (std::optional<int64_t> n = s.integer("iterations")) l.iterations = static_cast<uint64_t>(*n);
  l.rate = s.number("rate");
  l.arrival_rate = s.number("arrival_rate");
  l.max_vus = s.integer("max_vus", kMaxVus);
  l.ramp_up = s.duration("ramp_up");
  l.warmup = s.duration("warmup");
  l.think_time = s.str("think_time");
  for (const char* key :
       {"burst_rate", "burst_delay", "prometheus_pushgateway", "prometheus_port", "executor"}) {
    s.not_yet(key, "remove it to run the rest");
  }
  s.finish();
}

std::string read_stage(Section s, const std::string& file, bool* is_rate) {
  std::optional<std::string> duration = s.duration("duration");
  std::optional<double> target = s.number("target");
  std::optional<double> rate = s.number("target_rate");
  s.finish();
  if (!duration || target.has_value() == rate.has_value()) {
    throw ConfigError(fmt::format(
        "{}: each [[stages]] needs duration and either target (VUs) or target_rate (per second)",
        file));
  }
  *is_rate = rate.has_value();
  return fmt::format("{}:{}{}", *duration, rate ? *rate : *target, rate ? "/s" : "");
}

}  // namespace

ConfigFile parse_config(const std::string& raw, const std::string& path) {
  std::string text = interpolate_env(raw, path);
  toml::table root;
  try {
    root = toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    throw ConfigError(fmt::format("{}:{}:{}: {}", path, e.source().begin.line,
                                  e.source().begin.column, e.description()));
  }
  ConfigFile cfg;
  cfg.path = path;
  Section top(root, "the file", path);
  if (const toml::node* t = top.get("target")) {
    if (!t->is_table()) top.wrong_type("target", *t, "a table [target]");
    read_target(Section(*t->as_table(), "[target]", path), cfg.target);
  }
  if (const toml::node* l = top.get("load")) {
    if (!l->is_table()) top.wrong_type("load", *l, "a table [load]");
    read_load(Section(*l->as_table(), "[load]", path), cfg.load);
  }
  if (const toml::node* st = top.get("stages")) {
    const toml::array* arr = st->as_array();
    if (arr == nullptr || !arr->is_array_of_tables()) {
      top.wrong_type("stages", *st, "[[stages]] tables");
    }
    bool first_kind = false;
    for (size_t i = 0; i < arr->size(); ++i) {
      bool is_rate = false;
      cfg.stages.push_back(
          read_stage(Section(*arr->get(i)->as_table(), "[[stages]]", path), path, &is_rate));
      if (i > 0 && is_rate != first_kind) {
        throw ConfigError(fmt::format("{}: [[stages]] mix target and target_rate; use one kind",
                                      top.where(*arr->get(i))));
      }
      first_kind = is_rate;
    }
  }
  if (const toml::node* sc = top.get("scenarios")) {
    const toml::array* arr = sc->as_array();
    if (arr == nullptr || !arr->is_array_of_tables()) {
      top.wrong_type("scenarios", *sc, "[[scenarios]] tables");
    }
    if (arr->size() > 64) throw ConfigError(fmt::format("{}: at most 64 [[scenarios]]", path));
    for (const toml::node& n : *arr) {
      cfg.scenarios.emplace_back();
      read_scenario(Section(*n.as_table(), "[[scenarios]]", path), cfg.scenarios.back(), n);
    }
  }
  for (const char* section :
       {"extraction", "checks", "thresholds", "websocket", "defaults", "data"}) {
    top.not_yet(section, "this build runs [target], [load], [[stages]] and [[scenarios]]");
  }
  top.finish();
  return cfg;
}

ConfigFile load_config_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw ConfigError(fmt::format("-f/--config: cannot read '{}'; check the path", path));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_config(ss.str(), path);
}

}  // namespace spiker::config
