#include "config/journey_reader.h"

#include <fmt/format.h>
#include <strings.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "config/checks_reader.h"
#include "config/data_table.h"
#include "core/base64.h"
#include "core/duration.h"
#include "core/error.h"

namespace spiker::config {
namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;

// A piece of a body: template text, or bytes taken as they are (an uploaded file).
struct BodyPart {
  bool literal = false;
  std::string text;
};

struct Auth {
  std::optional<std::string> header_name, header_value, query_name, query_value;
};

struct RawStep {
  std::string name, where;
  std::optional<std::string> method, url, action, match;
  std::optional<bool> binary;
  std::string match_where;
  Pairs headers, query, extracts, tags;
  std::vector<std::string> extract_where;
  std::vector<BodyPart> body;
  bool has_body = false;
  std::string content_type;
  std::vector<plan::Check> checks;
  std::vector<std::string> depends_on;
  bool explicit_deps = false;
  std::string if_text;
  bool once = false;
  std::optional<std::string> think, timeout;
  Auth auth;
};

struct RawScenario {
  std::optional<plan::ScenarioLoad> load;
  std::string name, where;
  uint32_t weight = 1;
  bool kaioken = false;  // one request, depends_on names other scenarios
  std::optional<std::string> think;
  Pairs tags;
  std::vector<RawStep> steps;
};

struct Defaults {
  std::optional<std::string> base_url, timeout, think;
  Pairs headers;
  Auth auth;
  bool cookie_jar = false;
  int max_redirects = 10;
};

bool is_var_name(std::string_view s) {
  if (s.empty() || !(std::islower(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  for (char c : s) {
    if (!(std::islower(static_cast<unsigned char>(c)) ||
          std::isdigit(static_cast<unsigned char>(c)) || c == '_')) {
      return false;
    }
  }
  return true;
}

std::string resolve_path(const std::string& file, const std::string& config_path) {
  namespace fs = std::filesystem;
  if (fs::path(file).is_absolute() || fs::exists(file)) return file;
  fs::path beside = fs::path(config_path).parent_path() / file;
  return fs::exists(beside) ? beside.string() : file;
}

std::string read_whole(const std::string& path, const std::string& where) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(fmt::format("{}: cannot read '{}'; check the path", where, path));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Pairs read_string_table(Section& s, std::string_view key) {
  Pairs out;
  if (const toml::node* n = s.get(key)) {
    const toml::table* tbl = n->as_table();
    if (tbl == nullptr) s.wrong_type(key, *n, "a table such as { name = \"value\" }");
    for (auto&& [k, v] : *tbl) {
      if (v.is_string()) {
        out.emplace_back(std::string(k.str()), *v.value<std::string>());
      } else if (v.is_integer()) {
        out.emplace_back(std::string(k.str()), std::to_string(*v.value<int64_t>()));
      } else if (v.is_floating_point()) {
        out.emplace_back(std::string(k.str()), fmt::format("{}", *v.value<double>()));
      } else if (v.is_boolean()) {
        out.emplace_back(std::string(k.str()), *v.value<bool>() ? "true" : "false");
      } else {
        s.wrong_type(fmt::format("{}.{}", key, k.str()), v, "a string");
      }
    }
  }
  return out;
}

nlohmann::json to_json(const toml::node& n) {
  if (const toml::table* t = n.as_table()) {
    nlohmann::json o = nlohmann::json::object();
    for (auto&& [k, v] : *t) o[std::string(k.str())] = to_json(v);
    return o;
  }
  if (const toml::array* a = n.as_array()) {
    nlohmann::json arr = nlohmann::json::array();
    for (const toml::node& v : *a) arr.push_back(to_json(v));
    return arr;
  }
  if (n.is_string()) return *n.value<std::string>();
  if (n.is_integer()) return *n.value<int64_t>();
  if (n.is_floating_point()) return *n.value<double>();
  if (n.is_boolean()) return *n.value<bool>();
  std::string text;
  n.visit([&](const auto& x) {
    if constexpr (toml::is_date<decltype(x)> || toml::is_time<decltype(x)> ||
                  toml::is_date_time<decltype(x)>) {
      std::ostringstream os;
      os << x;
      text = os.str();
    }
  });
  return text;  // dates and times as TOML writes them
}

// Percent-encodes what a query needs encoded, leaving ${...} placeholders whole.
std::string query_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s.substr(i).starts_with("${")) {
      size_t close = s.find('}', i);
      if (close != std::string_view::npos) {
        out.append(s.substr(i, close - i + 1));
        i = close;
        continue;
      }
    }
    auto c = static_cast<unsigned char>(s[i]);
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

Auth read_auth(Section& s) {
  Auth a;
  const toml::node* n = s.get("auth");
  if (n == nullptr) return a;
  const toml::table* t = n->as_table();
  if (t == nullptr) {
    s.wrong_type("auth", *n,
                 "a table: { basic = \"user:pass\" }, { bearer = \"${token}\" } or { api_key = "
                 "\"...\", header = \"X-API-Key\" } (or query = \"api_key\")");
  }
  Section as(*t, "auth", s.file());
  std::string where = s.where(*n);
  std::optional<std::string> basic = as.str("basic"), bearer = as.str("bearer"),
                             key = as.str("api_key"), header = as.str("header"),
                             query = as.str("query");
  try {
    as.finish();
  } catch (const ConfigError& e) {
    throw ConfigError(fmt::format("{}: {}", where, e.what()));
  }
  int kinds = basic.has_value() + bearer.has_value() + key.has_value();
  if (kinds != 1) {
    throw ConfigError(fmt::format("{}: auth takes one of basic, bearer or api_key", where));
  }
  if (basic) {
    if (basic->find("${") != std::string::npos) {
      throw ConfigError(fmt::format(
          "{}: auth.basic cannot hold a runtime ${{variable}}; use an environment variable",
          where));
    }
    std::string pair = basic->find(':') == std::string::npos ? *basic + ":" : *basic;
    a.header_name = "Authorization";
    a.header_value = "Basic " + base64_encode(pair);
  } else if (bearer) {
    a.header_name = "Authorization";
    a.header_value = "Bearer " + *bearer;
  } else {
    if (header.has_value() == query.has_value()) {
      throw ConfigError(
          fmt::format("{}: auth.api_key needs header = \"Name\" or query = \"name\"", where));
    }
    if (header) {
      a.header_name = *header;
      a.header_value = *key;
    } else {
      a.query_name = *query;
      a.query_value = *key;
    }
  }
  return a;
}

// The request keys shared by a Kaioken scenario and a native step.
void read_request(Section& s, RawStep& r, const std::string& path) {
  r.action = s.str("action");
  r.match = s.str("match");
  r.binary = s.boolean("binary");
  if (r.match) r.match_where = s.where(*s.get("match"));
  r.method = s.str("method");
  r.url = s.str("url");
  r.headers = read_string_table(s, "headers");
  r.query = read_string_table(s, "query");
  r.auth = read_auth(s);
  std::optional<std::string> body = s.str("body"), body_file = s.str("body_file");
  const toml::node* json = s.get("json");
  const toml::node* form = s.get("form");
  const toml::node* multipart = s.get("multipart");
  int kinds = body.has_value() + body_file.has_value() + (json != nullptr) + (form != nullptr) +
              (multipart != nullptr);
  if (kinds > 1) {
    throw ConfigError(fmt::format(
        "{}: give one of body, body_file, json, form or multipart in step '{}'", r.where, r.name));
  }
  r.has_body = kinds == 1;
  if (body) r.body.push_back({false, *body});
  if (body_file) {
    r.body.push_back({false, read_whole(resolve_path(*body_file, path), r.where + " body_file")});
  }
  if (json) {
    r.body.push_back({false, to_json(*json).dump()});
    r.content_type = "application/json";
  }
  if (form) {
    Pairs fields = read_string_table(s, "form");
    std::string text;
    for (const auto& [k, v] : fields) {
      text += (text.empty() ? "" : "&") + query_encode(k) + "=" + query_encode(v);
    }
    r.body.push_back({false, text});
    r.content_type = "application/x-www-form-urlencoded";
  }
  if (multipart) {
    // field = "value", or file = "@path;filename=name;type=mime" (curl -F's form).
    Pairs fields = read_string_table(s, "multipart");
    const std::string boundary = "----loadspiker-boundary-7MA4YWxkTrZu0gW";
    for (const auto& [k, v] : fields) {
      std::string head = "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + k + "\"";
      if (v.starts_with("@")) {
        std::string spec = v.substr(1), file = spec.substr(0, spec.find(';'));
        std::string filename = std::filesystem::path(file).filename().string();
        std::string type = "application/octet-stream";
        for (size_t at = spec.find(';'); at != std::string::npos;) {
          size_t next = spec.find(';', at + 1);
          std::string opt = spec.substr(at + 1, next == std::string::npos ? next : next - at - 1);
          if (opt.starts_with("filename=")) filename = opt.substr(9);
          if (opt.starts_with("type=")) type = opt.substr(5);
          at = next;
        }
        head += "; filename=\"" + filename + "\"\r\nContent-Type: " + type + "\r\n\r\n";
        r.body.push_back({false, head});
        r.body.push_back({true, read_whole(resolve_path(file, path), r.where + " multipart")});
        r.body.push_back({false, "\r\n"});
      } else {
        r.body.push_back({false, head + "\r\n\r\n" + v + "\r\n"});
      }
    }
    r.body.push_back({false, "--" + boundary + "--\r\n"});
    r.content_type = "multipart/form-data; boundary=" + boundary;
  }
  if (const toml::node* ex = s.get("extract")) {
    const toml::table* t = ex->as_table();
    if (t == nullptr) s.wrong_type("extract", *ex, "a table { var = \"json:$.path\" }");
    for (auto&& [k, v] : *t) {
      if (!v.is_string()) s.wrong_type(fmt::format("extract.{}", k.str()), v, "a string");
      r.extracts.emplace_back(std::string(k.str()), *v.value<std::string>());
      r.extract_where.push_back(s.where(v));
    }
  }
  if (const toml::node* ch = s.get("checks")) {
    const toml::array* arr = ch->as_array();
    if (arr == nullptr) s.wrong_type("checks", *ch, "an array of conditions [\"status == 200\"]");
    for (const toml::node& c : *arr) {
      if (!c.is_string()) s.wrong_type("checks", c, "strings such as \"status == 200\"");
      r.checks.push_back(plan::Check::compile(*c.value<std::string>(), s.where(c)));
    }
  }
  if (const toml::node* d = s.get("depends_on")) {
    r.explicit_deps = true;
    if (d->is_string()) {
      r.depends_on.push_back(*d->value<std::string>());
    } else if (const toml::array* arr = d->as_array()) {
      for (const toml::node& x : *arr) {
        if (!x.is_string()) s.wrong_type("depends_on", x, "step names");
        r.depends_on.push_back(*x.value<std::string>());
      }
    } else {
      s.wrong_type("depends_on", *d, "a step name or an array of them");
    }
  }
  if (std::optional<std::string> c = s.str("if")) r.if_text = *c;
  r.once = s.boolean("once").value_or(false);
  r.think = s.str("think_time");
  r.timeout = s.duration("timeout");
  if (const toml::node* tags = s.get("tags")) {
    if (const toml::table* t = tags->as_table()) {
      for (auto&& [k, v] : *t) {
        if (!v.is_string()) s.wrong_type("tags", v, "strings");
        r.tags.emplace_back(std::string(k.str()), *v.value<std::string>());
      }
    } else if (const toml::array* arr = tags->as_array()) {
      for (const toml::node& v : *arr) {
        if (!v.is_string()) s.wrong_type("tags", v, "strings");
        r.tags.emplace_back(*v.value<std::string>(), "");
      }
    } else {
      s.wrong_type("tags", *tags, "a table { k = \"v\" } or an array of strings");
    }
  }
}

class Compiler {
 public:
  Compiler(plan::Journey& j, const Defaults& d, const std::string& path)
      : j_(j), d_(d), path_(path) {}

  void set_scope(const plan::Scope& scope) { scope_ = scope; }

  int var_slot(std::string_view name) const {
    for (size_t i = 0; i < scope_.variables.size(); ++i) {
      if (scope_.variables[i] == name) return static_cast<int>(i);
    }
    return -1;
  }

  // Steps of a new scenario: ws.send/receive/close use its own ws.connect's host.
  void begin_scenario() { ws_origin_.reset(); }

  plan::Step compile(const RawStep& r, uint16_t id) {
    plan::Step st;
    st.name = r.name;
    st.id = id;
    st.action = action_of(r);
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
        throw ConfigError(fmt::format("{}: step '{}' sets {}, which LoadSpiker writes itself",
                                      r.where, r.name, k));
      }
      st.headers.emplace_back(
          k, plan::Template::compile(v, fmt::format("{} header {}", r.where, k), &scope_));
    }
    st.has_body = r.has_body;
    for (const BodyPart& p : r.body) {
      st.body.append(p.literal ? plan::Template::literal(p.text)
                               : plan::Template::compile(p.text, r.where + " body", &scope_));
    }
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

  uint64_t tables_used(const plan::Step& st) const {
    uint64_t t = st.target.tables_used() | st.body.tables_used();
    for (const auto& [k, v] : st.headers) t |= v.tables_used();
    return t;
  }

 private:
  static plan::Action action_of(const RawStep& r) {
    if (!r.action || *r.action == "http") return plan::Action::kHttp;
    if (*r.action == "ws.connect") return plan::Action::kWsConnect;
    if (*r.action == "ws.send") return plan::Action::kWsSend;
    if (*r.action == "ws.receive") return plan::Action::kWsReceive;
    if (*r.action == "ws.close") return plan::Action::kWsClose;
    throw ConfigError(fmt::format(
        "{}: step '{}' has action = \"{}\"; use http (the default), ws.connect, ws.send, "
        "ws.receive or ws.close",
        r.where, r.name, *r.action));
  }

  // ws.send, ws.receive and ws.close: on the WebSocket the scenario's ws.connect opened.
  plan::Step compile_ws_use(const RawStep& r, plan::Step& st) {
    const char* name = st.action == plan::Action::kWsSend      ? "ws.send"
                       : st.action == plan::Action::kWsReceive ? "ws.receive"
                                                               : "ws.close";
    if (!ws_origin_) {
      throw ConfigError(
          fmt::format("{}: step '{}' ({}) needs a ws.connect step before it in its scenario",
                      r.where, r.name, name));
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
    for (const BodyPart& p : r.body) {
      st.body.append(p.literal ? plan::Template::literal(p.text)
                               : plan::Template::compile(p.text, r.where + " body", &scope_));
    }
    st.has_body = r.has_body;
    if (r.match) st.match.push_back(plan::Check::compile(*r.match, r.match_where));
    if (r.binary && !sends) {
      throw ConfigError(
          fmt::format("{}: binary applies to action = \"ws.send\" (step '{}')", r.where, r.name));
    }
    st.binary = r.binary.value_or(false);
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
    st.vars_used = st.body.vars_used();
    st.tags = r.tags;
    return st;
  }

  void split_url(const std::string& url, const RawStep& r, std::string* origin,
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

  uint16_t origin_index(const Url& u) {
    for (size_t i = 0; i < j_.origins.size(); ++i) {
      const Url& o = j_.origins[i].url;
      if (o.scheme == u.scheme && o.host == u.host && o.port == u.port) {
        return static_cast<uint16_t>(i);
      }
    }
    if (j_.origins.size() >= 16) {
      throw ConfigError(fmt::format("{}: more than 16 hosts in one file", path_));
    }
    j_.origins.push_back({u});
    return static_cast<uint16_t>(j_.origins.size() - 1);
  }

  plan::Journey& j_;
  const Defaults& d_;
  const std::string& path_;
  plan::Scope scope_;
  std::optional<uint16_t> ws_origin_;  // the current scenario's ws.connect host
};

plan::Condition parse_condition(const std::string& text, const std::vector<RawStep>& steps,
                                const Compiler& c, const RawStep& at, uint16_t* step_dep) {
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

}  // namespace

bool uses_journeys(const toml::table& root) {
  for (const char* key : {"defaults", "data", "extraction", "checks"}) {
    if (root.contains(key)) return true;
  }
  if (const toml::table* t = root["target"].as_table()) {
    if (t->contains("cookie_jar") || t->contains("follow_redirects")) return true;
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
  if (target.url && (raw.empty() || root.contains("extraction"))) {
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
  Compiler c(*j, d, path);
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
