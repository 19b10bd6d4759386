// The request keys of a step (method, url, headers, query, auth, body in its forms, extract,
// checks, depends_on, if, once, think_time, timeout, tags, and WebSocket's action, match and
// binary), read from one TOML table into a RawStep.
#include <fmt/format.h>
#include <strings.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "config/journey_parts.h"
#include "core/base64.h"
#include "core/error.h"
#include "core/json.h"
#include "proto/protocol.h"

namespace spiker::config::detail {

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

// field = "value", or file = "@path;filename=name;type=mime" (curl -F's form), as the step's
// multipart/form-data body.
void add_multipart(const Pairs& fields, RawStep& r, const std::string& path) {
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
  r.has_body = true;
}

// The request keys shared by a Kaioken scenario and a native step.
// action = "graphql": an HTTP POST of {"query", "variables", "operationName"} as JSON (templates
// inside its strings), whose response passes only without GraphQL errors.
void read_graphql(Section& s, RawStep& r) {
  r.action.reset();
  std::optional<std::string> query = s.str("query");
  if (!query) {
    throw ConfigError(
        fmt::format("{}: graphql step '{}' needs query = \"{{ ... }}\"", r.where, r.name));
  }
  nlohmann::json body = {{"query", *query}};
  if (const toml::node* v = s.get("variables")) {
    if (v->is_table()) {
      body["variables"] = to_json(*v);
    } else if (v->is_string()) {
      body["variables"] = nlohmann::json::parse(*v->value<std::string>(), nullptr, false);
      if (body["variables"].is_discarded() || !body["variables"].is_object()) {
        s.wrong_type("variables", *v, "a table or a JSON object");
      }
    } else {
      s.wrong_type("variables", *v, "a table or a JSON object");
    }
  }
  if (std::optional<std::string> op = s.str("operation_name")) body["operationName"] = *op;
  r.body.push_back({false, body.dump()});
  r.has_body = true;
  r.content_type = "application/json";
  if (!r.method) r.method = "POST";
  r.graphql = true;
}

void read_request(Section& s, RawStep& r, const std::string& path) {
  r.action = s.str("action");
  if (r.action && *r.action == "graphql") read_graphql(s, r);
  int action = -1;
  bool query_is_protocols = r.graphql;  // an SQL or GraphQL step's query is its own key
  if (const proto::Protocol* p =
          r.action ? proto::Registry::by_action(*r.action, &action) : nullptr) {
    for (const std::string& key : p->actions[action].keys) {
      query_is_protocols = query_is_protocols || key == "query";
      const toml::node* n = s.get(key);
      if (n == nullptr) continue;
      // A scalar, or an array of them: one value each (params = ["${id}", 3]).
      auto scalar = [&](const toml::node& v) {
        std::string value;
        if (v.is_string()) {
          value = *v.value<std::string>();
        } else if (v.is_integer()) {
          value = std::to_string(*v.value<int64_t>());
        } else if (v.is_floating_point()) {
          value = fmt::format("{}", *v.value<double>());
        } else {
          s.wrong_type(key, v, "a string, a number, or an array of them");
        }
        r.proto_keys.push_back({key, value, s.where(v)});
      };
      if (const toml::array* list = n->as_array()) {
        for (const toml::node& v : *list) scalar(v);
      } else {
        scalar(*n);
      }
    }
  }
  r.match = s.str("match");
  r.binary = s.boolean("binary");
  if (r.match) r.match_where = s.where(*s.get("match"));
  r.method = s.str("method");
  r.url = s.str("url");
  r.connection = s.str("connection");
  if (r.connection) r.connection_where = s.where(*s.get("connection"));
  r.headers = read_string_table(s, "headers");
  if (!query_is_protocols) r.query = read_string_table(s, "query");
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
  if (r.graphql && kinds > 0) {
    throw ConfigError(
        fmt::format("{}: graphql step '{}' sends its query and variables; remove "
                    "body, json, form and multipart",
                    r.where, r.name));
  }
  if (!r.graphql) r.has_body = kinds == 1;
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
  if (multipart) add_multipart(read_string_table(s, "multipart"), r, path);
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
  if (r.graphql) r.checks.push_back(plan::Check::compile("graphql.errors == 0", r.where));
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

}  // namespace spiker::config::detail
