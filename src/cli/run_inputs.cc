// Completing `run`'s arguments from a config file, and building the run's requests.
#include <fmt/format.h>
#include <strings.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <utility>

#include "cli/run_args.h"
#include "config/env_interpolate.h"
#include "core/base64.h"
#include "core/error.h"
#include "core/strings.h"
#include "plan/template.h"
#include "proto/http_message.h"

namespace spiker::cli {

std::string read_file(const std::string& path, const char* flag) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw SetupError(fmt::format("{}: cannot read '{}'", flag, path));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void note_unrendered(std::string_view body) {
  if (body.find("${") == std::string_view::npos) return;
  std::fputs(
      "note: --body-file holds ${...}: sent as written; add --body-template to render it per "
      "request\n",
      stderr);
}

void validate_method(const std::string& m) {
  bool ok = !m.empty();
  for (char c : m) ok = ok && (std::isupper(static_cast<unsigned char>(c)) || c == '-' || c == '_');
  if (!ok) {
    throw SetupError(fmt::format(
        "-m/--method: '{}' is not an HTTP method; use an upper-case name such as GET, POST, PUT",
        m));
  }
}

// One request, serialized once, or compiled to render per send when it has placeholders
// (${REQUEST_ID}, ...). `where` names the body's source in messages.
namespace {
// The request's own headers say how long its body is.
bool spec_sets_length(const http1::RequestSpec& spec) {
  for (const auto& [name, value] : spec.headers) {
    if (iequals(name, "content-length") || iequals(name, "transfer-encoding")) return true;
  }
  return false;
}
}  // namespace

plan::Request make_variant(const http1::RequestSpec& spec, std::string_view where, uint32_t weight,
                           std::string_view shared_body) {
  if (spec.url.host.find("${") != std::string::npos) {
    throw SetupError("URL: the host cannot hold a ${...} variable (it is resolved once, at start)");
  }
  plan::Request v;
  v.head = spec.method == "HEAD";
  v.weight = weight;
  auto t = std::make_shared<plan::HttpTemplate>();
  t->method = spec.method;
  t->authority = spec.url.host_header;
  t->target = plan::Template::compile(spec.url.target, "URL");
  bool has_ua = false, has_accept = false;
  for (const auto& [name, value] : spec.headers) {
    has_ua |= iequals(name, "user-agent");
    has_accept |= iequals(name, "accept");
  }
  if (!has_ua) t->headers.emplace_back("User-Agent", plan::Template::literal("loadspiker/0.1"));
  if (!has_accept) t->headers.emplace_back("Accept", plan::Template::literal("*/*"));
  for (const auto& [name, value] : spec.headers) {
    if (iequals(name, "host")) {
      t->authority = value;
      continue;
    }
    t->headers.emplace_back(name, plan::Template::compile(value, "-H/--header"));
  }
  t->body = plan::Template::compile(spec.body, where);
  t->shared_body = shared_body;
  t->length =
      http1::needs_content_length(spec) || (!shared_body.empty() && !spec_sets_length(spec));
  t->close = !spec.keep_alive;
  if (t->is_static()) {
    t->render(v.http, plan::RenderContext{});
    proto::append_http1(v.http, v.wire);
  } else {
    v.dynamic = std::move(t);
  }
  return v;
}

bool flag_given(const RunArgs& a, const char* flag) {
  const CLI::Option* o = a.cmd == nullptr ? nullptr : a.cmd->get_option_no_throw(flag);
  return o != nullptr && o->count() > 0;
}

// "Basic " and base64 of user:password (a missing password is empty, as curl -u user:).
std::string basic_auth_value(const std::string& user_pass) {
  std::string pair = user_pass.find(':') == std::string::npos ? user_pass + ":" : user_pass;
  return "Basic " + base64_encode(pair);
}

// Fills what the command line left unset from the config file: a flag given always wins.
namespace {

// Kaioken's gRPC form: an http(s):// URL with --grpc-service and --grpc-method, the body the
// message's raw protobuf bytes; here a grpc(s):// call with raw messages (no schema).
void kaioken_grpc(RunArgs& a) {
  if (a.grpc_service.empty() && a.grpc_method.empty()) return;
  if (a.grpc_service.empty() || a.grpc_method.empty()) {
    throw SetupError("--grpc-service and --grpc-method go together: give both", kExitUsage);
  }
  if (a.url.starts_with("http://")) {
    a.url = "grpc://" + a.url.substr(7);
  } else if (a.url.starts_with("https://")) {
    a.url = "grpcs://" + a.url.substr(8);
  } else if (!a.url.starts_with("grpc://") && !a.url.starts_with("grpcs://")) {
    throw SetupError(fmt::format("--grpc-service: the URL is http://host:port (h2c) or "
                                 "https://host:port (got '{}')",
                                 a.url),
                     kExitUsage);
  }
  bool schema = false;
  for (auto& [name, values] : a.protocol_flags) {
    if (name == "call") {
      if (!values.empty()) {
        throw SetupError("--call and --grpc-service/--grpc-method name the call twice: give one",
                         kExitUsage);
      }
      values.push_back(a.grpc_service + "/" + a.grpc_method);
    }
    if ((name == "proto" || name == "reflect") && !values.empty()) schema = true;
  }
  for (auto& [name, values] : a.protocol_flags) {
    if (name == "raw" && values.empty() && !schema) values.push_back("true");
  }
}

}  // namespace

RunArgs with_config_file(RunArgs a) {
  kaioken_grpc(a);
  // `loadspiker run test.toml`: a file in the URL's place is the config file.
  if (a.hooks != nullptr && !a.hooks->config_text.empty()) {
    a.config = a.hooks->config_name;
    a.config_text = a.hooks->config_text;
  }
  if (a.config.empty() && a.url.find("://") == std::string::npos && a.url.ends_with(".toml")) {
    a.config = std::exchange(a.url, "");
  }
  // Kaioken's flags for [target] keys go into the file's [target] (or make one).
  config::TargetOverrides o;
  auto text = [](const std::string& v) -> std::optional<std::string> {
    return v.empty() ? std::nullopt : std::optional<std::string>(v);
  };
  if (a.cookie_jar) o.cookie_jar = true;
  if (a.no_follow_redirects) o.follow_redirects = false;
  o.urls_from_file = text(a.urls_from_file);
  o.rand_regex_url = text(a.rand_regex_url);
  o.body_lines_file = text(a.body_lines_file);
  o.form_data = a.form;
  o.graphql_query = text(a.graphql_query);
  o.graphql_variables = text(a.graphql_variables);
  o.graphql_operation = text(a.graphql_operation);
  if (o.graphql_query && (!a.body.empty() || !a.body_file.empty())) {
    throw SetupError("--graphql-query sends the query as the body: remove -b / --body-file",
                     kExitUsage);
  }
  if (!o.graphql_query && (o.graphql_variables || o.graphql_operation)) {
    throw SetupError("--graphql-variables and --graphql-operation go with --graphql-query",
                     kExitUsage);
  }
  if (a.config.empty()) {
    if (!a.basic_auth.empty()) {
      for (const std::string& h : a.headers) {
        if (h.size() > 14 && strncasecmp(h.c_str(), "Authorization:", 14) == 0) {
          throw SetupError(
              "-a/--basic-auth and -H 'Authorization: ...' would send two Authorization "
              "headers: give one of them",
              kExitUsage);
        }
      }
      a.headers.push_back("Authorization: " + basic_auth_value(a.basic_auth));
    }
    if (!o.any()) return a;
    // These need a journey: read the command line as a file with only this [target].
    o.url = text(a.url);
    o.method = a.method;
    o.body = text(a.body_file.empty() ? a.body : read_file(a.body_file, "--body-file"));
    for (const std::string& h : a.headers) o.headers.push_back(http1::parse_header_arg(h));
    try {
      a.journey = config::command_line_config(o).journey;
    } catch (const config::ConfigError& e) {  // from flags: a usage error
      throw SetupError(e.what(), kExitUsage);
    }
    a.journey_from_flags = true;
    return a;
  }
  o.basic_auth = text(a.basic_auth);
  config::ConfigFile f = !a.config_text.empty() ? config::parse_config(a.config_text, a.config, o)
                                                : config::load_config_file(a.config, o);
  auto given = [&](const char* flag) { return flag_given(a, flag); };
  auto take = [&](const char* flag, auto& field, const auto& value) {
    if (!given(flag) && value) field = *value;
  };
  // The load keys: errors about them name the file's key, not a flag the user never gave.
  auto take_load = [&](const char* flag, const char* key, auto& field, const auto& value) {
    if (given(flag) || !value) return;
    field = *value;
    a.from_file.emplace_back(flag, fmt::format("[load] {}", key));
  };
  const config::TargetSection& t = f.target;
  if (a.url.empty()) {  // a URL on the command line replaces the file's target and scenarios
    if (t.url) a.url = *t.url;
    a.scenarios = f.scenarios;
    a.journey = f.journey;
  }
  take("--method", a.method, t.method);
  take("--body", a.body, t.body);
  take("--body-file", a.body_file, t.body_file);
  take("--timeout", a.timeout, t.timeout);
  take("--connect-timeout", a.connect_timeout, t.connect_timeout);
  take("--cacert", a.cacert, t.cacert);
  take("--cert", a.cert, t.cert);
  take("--key", a.key, t.key);
  take("--insecure", a.insecure, t.insecure);
  take("--disable-keepalive", a.disable_keepalive, t.disable_keepalive);
  take("--http2", a.http2, t.http2);
  take("--ws-message-interval", a.ws_message_interval, f.websocket.message_interval);
  take("--ws-fire-and-forget", a.ws_fire_and_forget, f.websocket.fire_and_forget);
  take("--ws-binary", a.ws_binary, f.websocket.binary);
  take("--http1", a.http1, t.http1);
  take("--max-streams", a.max_streams, t.max_streams);
  // Headers merge; a header given with -H replaces the file's header of that name. A journey
  // has compiled the file's headers into its steps already: only -H is added there.
  std::vector<std::string> headers;
  for (const auto& [name, value] : a.journey ? decltype(t.headers){} : t.headers) {
    bool overridden = false;
    for (const std::string& h : a.headers) {
      overridden |= strncasecmp(h.c_str(), (name + ":").c_str(), name.size() + 1) == 0;
    }
    if (!overridden) headers.push_back(name + ": " + value);
  }
  headers.insert(headers.end(), a.headers.begin(), a.headers.end());
  a.headers = headers;
  a.redact.insert(a.redact.end(), f.redact.begin(), f.redact.end());  // both lists count
  take("--db-url", a.db_url, f.db_url);
  a.notes.insert(a.notes.end(), f.notes.begin(), f.notes.end());
  const config::LoadSection& l = f.load;
  take_load("--concurrency", "concurrency", a.concurrency, l.concurrency);
  if (!f.stages.empty() && !given("--stage") && l.duration && !given("--duration")) {
    // Kaioken's capacity-test.toml has both: the stages set the length, as in Kaioken.
    a.notes.push_back(
        fmt::format("{}: [[stages]] set the run's length; [load] duration = \"{}\" is not used",
                    a.config, *l.duration));
  } else {
    take_load("--duration", "duration", a.duration, l.duration);
  }
  if (!given("--max-requests") && l.max_requests) {
    a.max_requests = std::to_string(*l.max_requests);
    a.from_file.emplace_back("--max-requests", "[load] max_requests");
  }
  if (l.executor == "per-vu-iterations" && l.iterations && !given("--per-vu-iterations") &&
      !given("--iterations")) {
    a.per_vu_iterations = std::to_string(*l.iterations);  // k6: iterations per VU here
  } else if (!given("--iterations") && l.iterations) {
    a.iterations = std::to_string(*l.iterations);
  }
  // The file's executor is checked against the file's keys; load flags on the command line
  // reshape the test, and win.
  bool reshaped = false;
  for (const char* flag : {"--concurrency", "--duration", "--max-requests", "--iterations",
                           "--per-vu-iterations", "--rate", "--arrival-rate", "--stage"}) {
    reshaped |= given(flag);
  }
  if (l.executor && !reshaped) a.executor = *l.executor;
  take_load("--rate", "rate", a.rate, l.rate);
  take_load("--arrival-rate", "arrival_rate", a.arrival_rate, l.arrival_rate);
  take_load("--max-vus", "max_vus", a.max_vus, l.max_vus);
  take_load("--ramp-up", "ramp_up", a.ramp_up, l.ramp_up);
  take_load("--warmup", "warmup", a.warmup, l.warmup);
  take_load("--think-time", "think_time", a.think_time, l.think_time);
  take_load("--burst-rate", "burst_rate", a.burst_rate, l.burst_rate);
  take_load("--burst-delay", "burst_delay", a.burst_delay, l.burst_delay);
  take("--prometheus-port", a.prometheus_port, l.prometheus_port);
  take("--prometheus-pushgateway", a.prometheus_pushgateway, l.prometheus_pushgateway);
  take("--proxy", a.proxy, t.proxy);
  take("--connect-to", a.connect_to, t.connect_to);
  if (!given("--stage") && !f.stages.empty()) {
    a.stages = f.stages;
    a.from_file.emplace_back("--stage", "[[stages]]");
  }
  a.thresholds = f.thresholds;
  return a;
}

// The requests of the run: the URL's, or one per [[scenarios]] (all on one host).
std::vector<http1::RequestSpec> request_specs(const RunArgs& a, const http1::RequestSpec& base,
                                              std::vector<uint32_t>* weights) {
  if (a.scenarios.empty()) {
    weights->push_back(1);
    return {base};
  }
  std::vector<http1::RequestSpec> specs;
  for (const config::ScenarioSection& sc : a.scenarios) {
    http1::RequestSpec spec = base;
    std::string where = fmt::format("{}: [[scenarios]] '{}' url", a.config, sc.name);
    spec.url = parse_url(sc.url, where);
    if (sc.method) spec.method = *sc.method;
    validate_method(spec.method);
    for (const auto& header : sc.headers) {  // (no structured binding in the lambda: clang 14)
      const std::string& name = header.first;
      std::erase_if(spec.headers,
                    [&](const auto& h) { return strcasecmp(h.first.c_str(), name.c_str()) == 0; });
      spec.headers.emplace_back(name, header.second);
    }
    spec.body = sc.body_file ? read_file(*sc.body_file, "body_file") : sc.body.value_or("");
    const Url& first = specs.empty() ? spec.url : specs.front().url;
    if (spec.url.scheme != first.scheme || spec.url.host != first.host ||
        spec.url.port != first.port) {
      throw config::ConfigError(fmt::format(
          "{}: [[scenarios]] on more than one host ({} and {}) are not supported yet; put each "
          "host in its own file",
          a.config, first.host_header, spec.url.host_header));
    }
    specs.push_back(std::move(spec));
    weights->push_back(sc.weight);
  }
  return specs;
}

}  // namespace spiker::cli
