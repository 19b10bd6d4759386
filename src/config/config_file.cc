#include "config/config_file.h"

#include <fmt/format.h>
#include <strings.h>
#include <toml++/toml.h>

#include <algorithm>
#include <climits>
#include <fstream>
#include <set>
#include <sstream>

#include "config/env_interpolate.h"
#include "config/journey_reader.h"
#include "config/nesting.h"
#include "config/section.h"
#include "core/base64.h"
#include "core/duration.h"
#include "core/error.h"

namespace spiker::config {
namespace {

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
    for (const auto& [name, value] : t.headers) {
      if (strcasecmp(name.c_str(), "Authorization") == 0) {
        throw ConfigError(fmt::format(
            "{}: [target] has basic_auth and an Authorization header: both would be sent; keep "
            "one",
            s.where(*s.get("basic_auth"))));
      }
    }
    std::string pair = auth->find(':') == std::string::npos ? *auth + ":" : *auth;
    t.headers.emplace_back("Authorization", "Basic " + base64_encode(pair));
  }
  t.follow_redirects = s.boolean("follow_redirects");
  t.cookie_jar = s.boolean("cookie_jar");
  t.http2 = s.boolean("http2");
  t.http1 = s.boolean("http1");
  t.max_streams = s.integer("max_streams", 10000);
  t.urls_from_file = s.str("urls_from_file");
  t.body_lines_file = s.str("body_lines_file");
  t.rand_regex_url = s.str("rand_regex_url");
  t.proxy = s.str("proxy");
  t.connect_to = s.str("connect_to");
  if (const toml::node* f = s.get("form_data")) {
    const toml::array* arr = f->as_array();
    if (arr == nullptr)
      s.wrong_type("form_data", *f, "a list such as [\"name=value\", \"file=@a.png\"]");
    for (const toml::node& v : *arr) {
      if (!v.is_string()) s.wrong_type("form_data", v, "strings \"name=value\" or \"name=@path\"");
      t.form_data.push_back(*v.value<std::string>());
    }
  }
  if (t.urls_from_file && t.rand_regex_url) {
    throw ConfigError(
        fmt::format("{}: [target] urls_from_file and rand_regex_url exclude each "
                    "other: give one",
                    s.file()));
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
  if (const toml::node* n = s.get("executor")) {
    static constexpr std::string_view kNames[] = {"constant-vus",          "ramping-vus",
                                                  "constant-arrival-rate", "ramping-arrival-rate",
                                                  "per-vu-iterations",     "shared-iterations"};
    std::string e = n->value_or(std::string());
    if (std::find(std::begin(kNames), std::end(kNames), e) == std::end(kNames)) {
      s.wrong_type("executor", *n,
                   "one of constant-vus, ramping-vus, constant-arrival-rate, "
                   "ramping-arrival-rate, per-vu-iterations, shared-iterations");
    }
    l.executor = e;
  }
  l.burst_rate = s.integer("burst_rate", kMaxVus);
  l.burst_delay = s.duration("burst_delay");
  l.prometheus_port = s.integer("prometheus_port", 65535);
  l.prometheus_pushgateway = s.str("prometheus_pushgateway");
  if (const toml::node* db = s.get("db_url")) {
    l.db_url = s.str("db_url");
    l.db_url_where = s.where(*db);
  }
  s.finish();
}

std::string read_stage(Section s, const std::string& file, bool* is_rate,
                       std::optional<std::string>* db_url) {
  std::optional<std::string> duration = s.duration("duration");
  std::optional<double> target = s.number("target");
  std::optional<double> rate = s.number("target_rate");
  // A top-level key written after the last [[stages]] lands in it (TOML's rule); Kaioken's
  // capacity-test.toml does this with db_url. Read it as the top-level key.
  if (db_url != nullptr) *db_url = s.str("db_url");
  s.finish();
  if (!duration || target.has_value() == rate.has_value()) {
    throw ConfigError(fmt::format(
        "{}: each [[stages]] needs duration and either target (VUs) or target_rate (per second)",
        file));
  }
  *is_rate = rate.has_value();
  return fmt::format("{}:{}{}", *duration, rate ? *rate : *target, rate ? "/s" : "");
}

// [thresholds]: Kaioken's key = "< 300" (strict and documented forms), or k6's
// metric{tag:value} = ["p(95)<300", { threshold = "rate<0.01", abort_on_fail = true }].
std::vector<plan::Threshold> read_thresholds(const toml::table& table, const std::string& path) {
  std::vector<plan::Threshold> out;
  auto where = [&](const toml::node& n) {
    return fmt::format("{}:{}:{}", path, n.source().begin.line, n.source().begin.column);
  };
  static constexpr std::string_view kK6[] = {"http_req_duration", "http_req_failed", "http_reqs",
                                             "checks", "iterations"};
  for (auto&& [k, v] : table) {
    std::string key(k.str());
    std::string_view base = std::string_view(key).substr(0, key.find('{'));
    bool k6 = std::find(std::begin(kK6), std::end(kK6), base) != std::end(kK6);
    if (!k6) {
      if (!v.is_string()) {
        throw ConfigError(
            fmt::format("{}: [thresholds] {}: expected a string such as \"< 300\"", where(v), key));
      }
      out.push_back(plan::parse_kaioken_threshold(key, *v.value<std::string>(), where(v)));
      continue;
    }
    auto one = [&](const toml::node& e) {
      if (e.is_string()) {
        out.push_back(plan::parse_k6_threshold(key, *e.value<std::string>(), where(e)));
        return;
      }
      const toml::table* t = e.as_table();
      if (t == nullptr) {
        throw ConfigError(
            fmt::format("{}: [thresholds] {}: expected \"p(95)<300\" or {{ threshold = \"...\", "
                        "abort_on_fail = true }}",
                        where(e), key));
      }
      Section s(*t, fmt::format("[thresholds] {}", key), path);
      std::optional<std::string> expr = s.str("threshold");
      bool abort = s.boolean("abort_on_fail").value_or(false);
      std::optional<std::string> delay = s.duration("delay_abort_eval");
      s.finish();
      if (!expr) {
        throw ConfigError(
            fmt::format("{}: [thresholds] {}: needs threshold = \"...\"", where(e), key));
      }
      plan::Threshold th = plan::parse_k6_threshold(key, *expr, where(e));
      th.abort_on_fail = abort;
      if (delay) th.delay_abort_ns = parse_duration(*delay, where(e)).count();
      out.push_back(std::move(th));
    };
    if (const toml::array* arr = v.as_array()) {
      for (const toml::node& e : *arr) one(e);
    } else {
      one(v);
    }
  }
  return out;
}

}  // namespace

namespace {

// The command line's [target] keys over the file's (or into an empty table).
void apply_overrides(toml::table& root, const TargetOverrides& o) {
  if (!o.any() && !o.url && !o.basic_auth && o.headers.empty()) return;
  toml::table* t = root["target"].as_table();
  if (t == nullptr) {
    root.insert_or_assign("target", toml::table{});
    t = root["target"].as_table();
  }
  auto put = [&](const char* key, const auto& v) {
    if (v) t->insert_or_assign(key, *v);
  };
  put("url", o.url);
  put("method", o.method);
  put("body", o.body);
  put("basic_auth", o.basic_auth);
  put("cookie_jar", o.cookie_jar);
  put("follow_redirects", o.follow_redirects);
  put("urls_from_file", o.urls_from_file);
  put("body_lines_file", o.body_lines_file);
  put("rand_regex_url", o.rand_regex_url);
  if (!o.form_data.empty()) {
    toml::array arr;
    for (const std::string& f : o.form_data) arr.push_back(f);
    t->insert_or_assign("form_data", std::move(arr));
  }
  if (!o.headers.empty()) {
    toml::table h;
    if (const toml::table* old = (*t)["headers"].as_table()) h = *old;
    for (const auto& [k, v] : o.headers) h.insert_or_assign(k, v);
    t->insert_or_assign("headers", std::move(h));
  }
  if (o.graphql_query) {  // one graphql step on the URL; [target]'s headers are its defaults
    toml::table step{{"name", "graphql"}, {"action", "graphql"}, {"query", *o.graphql_query}};
    if (o.url) step.insert_or_assign("url", *o.url);
    if (o.graphql_variables) step.insert_or_assign("variables", *o.graphql_variables);
    if (o.graphql_operation) step.insert_or_assign("operation_name", *o.graphql_operation);
    toml::array steps;
    steps.push_back(std::move(step));
    toml::table scenario{{"name", "graphql"}};
    scenario.insert_or_assign("steps", std::move(steps));
    toml::array scenarios;
    scenarios.push_back(std::move(scenario));
    root.insert_or_assign("scenarios", std::move(scenarios));
    t->erase("method");
    t->erase("body");
  }
}

ConfigFile from_table(toml::table& root, const std::string& path);

}  // namespace

ConfigFile command_line_config(const TargetOverrides& o) {
  toml::table root;
  apply_overrides(root, o);
  return from_table(root, "the command line");
}

ConfigFile parse_config(const std::string& raw, const std::string& path, const TargetOverrides& o) {
  std::string text = interpolate_env(raw, path);
  check_nesting(text, path);  // before toml++ recurses into it
  toml::table root;
  try {
    root = toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    throw ConfigError(fmt::format("{}:{}:{}: {}", path, e.source().begin.line,
                                  e.source().begin.column, e.description()));
  }
  apply_overrides(root, o);
  return from_table(root, path);
}

namespace {

ConfigFile from_table(toml::table& root, const std::string& path) {
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
      std::optional<std::string> db_url;
      cfg.stages.push_back(read_stage(Section(*arr->get(i)->as_table(), "[[stages]]", path), path,
                                      &is_rate, i + 1 == arr->size() ? &db_url : nullptr));
      if (db_url) {
        cfg.db_url = db_url;
        cfg.notes.push_back(fmt::format(
            "{}: db_url is inside the last [[stages]] table (TOML puts keys written after a "
            "table header in that table); read as the top-level db_url. Move it above the "
            "first table to silence this",
            top.where(*arr->get(i))));
      }
      if (i > 0 && is_rate != first_kind) {
        throw ConfigError(fmt::format("{}: [[stages]] mix target and target_rate; use one kind",
                                      top.where(*arr->get(i))));
      }
      first_kind = is_rate;
    }
  }
  if (uses_journeys(root)) {
    try {
      cfg.journey = read_journey(root, top, cfg.target, path);
    } catch (const ConfigError&) {
      throw;
    } catch (const SetupError& e) {  // from compiling templates, extractors, checks: exit 1
      throw ConfigError(e.what());
    }
  } else if (const toml::node* sc = top.get("scenarios")) {
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
  if (const toml::node* th = top.get("thresholds")) {
    if (!th->is_table()) top.wrong_type("thresholds", *th, "a table [thresholds]");
    try {
      cfg.thresholds = read_thresholds(*th->as_table(), path);
    } catch (const ConfigError&) {
      throw;
    } catch (const SetupError& e) {
      throw ConfigError(e.what());
    }
  }
  if (const toml::node* ws = top.get("websocket")) {
    if (!ws->is_table()) top.wrong_type("websocket", *ws, "a table [websocket]");
    Section s(*ws->as_table(), "[websocket]", path);
    cfg.websocket.message_interval = s.str("message_interval");
    cfg.websocket.binary = s.boolean("binary");
    if (std::optional<std::string> mode = s.str("mode")) {
      if (*mode != "echo" && *mode != "fire_and_forget") {
        s.wrong_type("mode", *s.get("mode"), "\"echo\" or \"fire_and_forget\"");
      }
      cfg.websocket.fire_and_forget = *mode == "fire_and_forget";
    }
    s.finish();
  }
  if (std::optional<std::string> db = top.str("db_url")) cfg.db_url = db;
  if (cfg.load.db_url) {  // Kaioken's form: [load] db_url
    if (cfg.db_url && *cfg.db_url != *cfg.load.db_url) {
      throw ConfigError(fmt::format(
          "{}: [load] db_url and the top-level db_url name different histories; keep one",
          cfg.load.db_url_where));
    }
    cfg.db_url = cfg.load.db_url;
  }
  if (const toml::node* r = top.get("redact")) {
    const toml::array* arr = r->as_array();
    bool ok = arr != nullptr;
    for (size_t i = 0; ok && i < arr->size(); ++i) {
      const auto* name = arr->get(i)->as_string();
      ok = name != nullptr && !name->get().empty();
      if (ok) cfg.redact.push_back(name->get());
    }
    if (!ok) top.wrong_type("redact", *r, "a list of header or query parameter names");
  }
  top.finish();
  return cfg;
}

}  // namespace

ConfigFile load_config_file(const std::string& path, const TargetOverrides& o) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw ConfigError(fmt::format("-f/--config: cannot read '{}'; check the path", path));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_config(ss.str(), path, o);
}

}  // namespace spiker::config
