// Raw steps into plan steps (see StepCompiler in journey_parts.h).
#include <fmt/format.h>
#include <strings.h>

#include <algorithm>

#include "config/journey_parts.h"
#include "core/duration.h"
#include "core/error.h"
#include "proto/protocol.h"

namespace spiker::config::detail {

int StepCompiler::var_slot(std::string_view name) const {
  for (size_t i = 0; i < scope_.variables.size(); ++i) {
    if (scope_.variables[i] == name) return static_cast<int>(i);
  }
  return -1;
}

plan::Step StepCompiler::compile(const RawStep& r, uint16_t id) {
  plan::Step st;
  st.name = r.name;
  st.id = id;
  st.action = action_of(r);
  if (st.action == plan::Action::kProtocol) return compile_protocol_step(r, st);
  if (r.connection) {
    throw ConfigError(fmt::format(
        "{}: step '{}': connection names a [connections] URL for protocol steps (sql, redis, "
        "...); an HTTP or WebSocket step gives url",
        r.connection_where, r.name));
  }
  if (st.action != plan::Action::kHttp && st.action != plan::Action::kWsConnect) {
    return compile_ws_use(r, st);
  }
  st.method = r.method.value_or(r.has_body ? "POST" : "GET");
  for (char c : st.method) {
    if (!(std::isupper(static_cast<unsigned char>(c)) || c == '-' || c == '_')) {
      throw ConfigError(
          fmt::format("{}: method '{}' of step '{}' is not an HTTP method; use "
                      "an upper-case name such as GET or POST",
                      r.where, st.method, r.name));
    }
  }
  if (!r.url) throw ConfigError(fmt::format("{}: step '{}' needs a url", r.where, r.name));
  if (r.match) {
    throw ConfigError(
        fmt::format("{}: match applies to action = \"ws.receive\" (step '{}')", r.where, r.name));
  }
  st.url_text = *r.url;
  std::string origin_text, target;
  split_url(*r.url, r, &origin_text, &target);
  if (st.action == plan::Action::kWsConnect && r.url->find("://") == std::string::npos) {
    // A relative url on an http(s) base_url: the same host over ws(s).
    if (origin_text.starts_with("http://")) origin_text.replace(0, 4, "ws");
    if (origin_text.starts_with("https://")) origin_text.replace(0, 5, "wss");
  }
  Url origin = parse_url(origin_text, fmt::format("{} url of step '{}'", r.where, r.name));
  if (!origin.web()) {
    std::string actions;
    for (const proto::Protocol* p : proto::Registry::all()) {
      for (const proto::ActionDef& a : p->actions)
        actions += (actions.empty() ? "" : ", ") + a.name;
    }
    throw ConfigError(fmt::format(
        "{}: step '{}' has a {}:// url; HTTP steps take http(s)://, ws.connect ws(s)://; "
        "other protocols have their own actions ({})",
        r.where, r.name, origin.scheme, actions));
  }
  if (origin.websocket() != (st.action == plan::Action::kWsConnect)) {
    throw ConfigError(fmt::format("{}: step '{}': {}", r.where, r.name,
                                  origin.websocket()
                                      ? "a ws:// or wss:// url needs action = \"ws.connect\""
                                      : "action = \"ws.connect\" needs a ws:// or wss:// url"));
  }
  if (st.action == plan::Action::kWsConnect) {
    if (r.has_body || r.method) {
      throw ConfigError(
          fmt::format("{}: step '{}' (ws.connect) takes no method or body; send messages with "
                      "action = \"ws.send\"",
                      r.where, r.name));
    }
  }
  st.origin = origin_index(origin);
  if (st.action == plan::Action::kWsConnect) ws_origin_ = st.origin;
  Pairs query = r.query;
  const Auth* auth = r.auth.header_name || r.auth.query_name ? &r.auth : &d_.auth;
  if (auth->query_name) query.emplace_back(*auth->query_name, *auth->query_value);
  for (const auto& [k, v] : query) {
    target += (target.find('?') == std::string::npos ? "?" : "&") + query_encode(k) + "=" +
              query_encode(v);
  }
  st.target = plan::Template::compile(target, r.where + " url", &scope_);
  Pairs headers = d_.headers;
  auto set_header = [&](const std::string& name, const std::string& value) {
    std::erase_if(headers,
                  [&](const auto& h) { return strcasecmp(h.first.c_str(), name.c_str()) == 0; });
    headers.emplace_back(name, value);
  };
  if (auth->header_name) set_header(*auth->header_name, *auth->header_value);
  if (!r.content_type.empty()) set_header("Content-Type", r.content_type);
  for (const auto& [k, v] : r.headers) set_header(k, v);
  for (const auto& [k, v] : headers) {
    if (strcasecmp(k.c_str(), "host") == 0 || strcasecmp(k.c_str(), "content-length") == 0) {
      throw ConfigError(
          fmt::format("{}: step '{}' sets {}, which LoadSpiker writes itself", r.where, r.name, k));
    }
    st.headers.emplace_back(
        k, plan::Template::compile(v, fmt::format("{} header {}", r.where, k), &scope_));
  }
  st.has_body = r.has_body;
  compile_body(r, st);
  compile_outcome(r, st);
  for (const plan::Extractor& x : st.extracts) {
    st.capture_body |= x.needs_body();
    st.capture_headers |= x.needs_headers();
  }
  for (const plan::Check& c : st.checks) {
    st.capture_body |= c.needs_body();
    st.capture_headers |= c.needs_headers();
  }
  st.capture_headers |= st.capture_body || j_.cookie_jar || j_.max_redirects > 0;
  st.vars_used = st.target.vars_used() | st.body.vars_used();
  for (const auto& [k, v] : st.headers) st.vars_used |= v.vars_used();
  st.tags = r.tags;
  return st;
}

uint64_t StepCompiler::tables_used(const plan::Step& st) const {
  uint64_t t = st.target.tables_used() | st.body.tables_used();
  for (const auto& [k, v] : st.headers) t |= v.tables_used();
  return t;
}

plan::Action StepCompiler::action_of(const RawStep& r) {
  if (!r.action || *r.action == "http") return plan::Action::kHttp;
  if (*r.action == "ws.connect") return plan::Action::kWsConnect;
  if (*r.action == "ws.send") return plan::Action::kWsSend;
  if (*r.action == "ws.receive") return plan::Action::kWsReceive;
  if (*r.action == "ws.close") return plan::Action::kWsClose;
  int index = -1;
  if (proto::Registry::by_action(*r.action, &index) != nullptr) return plan::Action::kProtocol;
  std::string others;
  for (const proto::Protocol* p : proto::Registry::all()) {
    for (const proto::ActionDef& a : p->actions) others += ", " + a.name;
  }
  throw ConfigError(
      fmt::format("{}: step '{}' has action = \"{}\"; use http (the default), ws.connect, ws.send, "
                  "ws.receive, ws.close{}",
                  r.where, r.name, *r.action, others));
}

// ws.send, ws.receive and ws.close: on the WebSocket the scenario's ws.connect opened.
plan::Step StepCompiler::compile_ws_use(const RawStep& r, plan::Step& st) {
  const char* name = st.action == plan::Action::kWsSend      ? "ws.send"
                     : st.action == plan::Action::kWsReceive ? "ws.receive"
                                                             : "ws.close";
  if (!ws_origin_) {
    throw ConfigError(
        fmt::format("{}: step '{}' ({}) needs a ws.connect step before it in its scenario", r.where,
                    r.name, name));
  }
  if (r.url || r.method || !r.headers.empty() || !r.query.empty()) {
    throw ConfigError(fmt::format(
        "{}: step '{}' ({}) uses the connection its scenario's ws.connect opened: remove url, "
        "method, headers and query",
        r.where, r.name, name));
  }
  bool sends = st.action == plan::Action::kWsSend;
  if (sends != r.has_body) {
    throw ConfigError(
        fmt::format("{}: step '{}' ({}): {}", r.where, r.name, name,
                    sends ? "give the message as body (or json)" : "only ws.send takes a body"));
  }
  if (r.match && st.action != plan::Action::kWsReceive) {
    throw ConfigError(
        fmt::format("{}: match applies to action = \"ws.receive\" (step '{}')", r.where, r.name));
  }
  st.origin = *ws_origin_;
  st.url_text = name;
  st.method = name;
  compile_body(r, st);
  st.has_body = r.has_body;
  if (r.match) st.match.push_back(plan::Check::compile(*r.match, r.match_where));
  if (r.binary && !sends) {
    throw ConfigError(
        fmt::format("{}: binary applies to action = \"ws.send\" (step '{}')", r.where, r.name));
  }
  st.binary = r.binary.value_or(false);
  compile_outcome(r, st);
  st.vars_used = st.body.vars_used();
  st.tags = r.tags;
  return st;
}

void StepCompiler::compile_body(const RawStep& r, plan::Step& st) {
  for (const BodyPart& p : r.body) {
    st.body.append(p.literal ? plan::Template::literal(p.text)
                             : plan::Template::compile(p.text, r.where + " body", &scope_));
  }
}

void StepCompiler::compile_outcome(const RawStep& r, plan::Step& st) {
  for (size_t i = 0; i < r.extracts.size(); ++i) {
    int slot = var_slot(r.extracts[i].first);
    st.extracts.push_back(plan::Extractor::compile(
        r.extracts[i].second, static_cast<uint16_t>(slot), r.extract_where[i]));
  }
  st.checks = r.checks;
  st.once = r.once;
  std::optional<std::string> think = r.think ? r.think : d_.think;
  if (think) st.think = plan::ThinkTime::parse(*think, r.where + " think_time");
  std::optional<std::string> timeout = r.timeout ? r.timeout : d_.timeout;
  if (timeout) st.timeout_ns = parse_duration(*timeout, r.where + " timeout").count();
}

void StepCompiler::split_url(const std::string& url, const RawStep& r, std::string* origin,
                             std::string* target) {
  size_t scheme = url.find("://");
  if (scheme != std::string::npos) {
    size_t slash = url.find('/', scheme + 3);
    *origin = url.substr(0, slash);
    *target = slash == std::string::npos ? "/" : url.substr(slash);
    if (origin->find("${") != std::string::npos) {
      throw ConfigError(fmt::format(
          "{}: the host of step '{}' cannot hold a ${{variable}} (hosts are resolved once, at "
          "start)",
          r.where, r.name));
    }
    return;
  }
  if (!d_.base_url) {
    throw ConfigError(fmt::format(
        "{}: step '{}' has the relative url '{}'; set [defaults] base_url (or [target] url) or "
        "write a full http:// URL",
        r.where, r.name, url));
  }
  std::string base = *d_.base_url;
  size_t s = base.find("://");
  size_t slash = s == std::string::npos ? std::string::npos : base.find('/', s + 3);
  *origin = base.substr(0, slash);
  std::string prefix = slash == std::string::npos ? "" : base.substr(slash);
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  *target = prefix + (url.starts_with("/") || url.starts_with("?") ? "" : "/") + url;
}

uint16_t StepCompiler::origin_index(const Url& u) {
  for (size_t i = 0; i < j_.origins.size(); ++i) {
    const Url& o = j_.origins[i].url;
    // A protocol's URL also names its user and database: another of those, another origin.
    if (o.scheme == u.scheme && o.host == u.host && o.port == u.port && o.user == u.user &&
        (u.web() || o.target == u.target)) {
      return static_cast<uint16_t>(i);
    }
  }
  if (j_.origins.size() >= 16) {
    throw ConfigError(fmt::format("{}: more than 16 hosts in one file", path_));
  }
  j_.origins.push_back({u});
  return static_cast<uint16_t>(j_.origins.size() - 1);
}

}  // namespace spiker::config::detail
