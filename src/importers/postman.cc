// Postman collections v2.1: each folder becomes a scenario (nested folders flattened as
// "a / b"), top-level requests one more; {{var}} becomes a variable, auth a header.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "core/base64.h"
#include "core/error.h"
#include "core/json.h"
#include "importers/importer.h"

namespace spiker::importers {
namespace {

using json = nlohmann::json;

struct Reader {
  const ImportOptions& o;
  Collection& c;
  Pairs vars;  // the collection's variables

  // {{name}} -> ${name:-value} when the name has an upper-case letter (an environment variable
  // with the collection's value as default), else the value itself (LoadSpiker reads
  // all-lower-case names as values extracted at run time). Built-ins ({{$guid}}, ...) map to
  // ours.
  std::string convert(const std::string& text) const {
    std::string out;
    size_t i = 0;
    while (i < text.size()) {
      size_t open = text.find("{{", i);
      size_t close = open == std::string::npos ? open : text.find("}}", open + 2);
      if (close == std::string::npos) {
        out += text.substr(i);
        break;
      }
      out += text.substr(i, open - i);
      std::string name = text.substr(open + 2, close - open - 2);
      i = close + 2;
      if (name == "$guid" || name == "$randomUUID") {
        out += "${UUID}";
        continue;
      }
      if (name == "$timestamp") {
        out += "${TIMESTAMP_MS}";
        continue;
      }
      if (name == "$randomInt") {
        out += "${RANDOM_INT:0:1000}";
        continue;
      }
      std::string value;
      for (const auto& [k, v] : vars) {
        if (k == name) value = v;
      }
      bool env = std::any_of(name.begin(), name.end(), ::isupper) &&
                 std::all_of(name.begin(), name.end(), [](char ch) {
                   return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_';
                 });
      if (env) {
        std::string escaped;
        for (char ch : value) escaped += ch == '}' ? std::string("") : std::string(1, ch);
        out += "${" + name + ":-" + escaped + "}";
      } else {
        out += value;
      }
    }
    return out;
  }

  std::string url_of(const json& u) const {
    if (u.is_string()) return u.get<std::string>();
    if (u.contains("raw")) return u["raw"].get<std::string>();
    std::string out = u.value("protocol", "http") + "://";
    if (u.contains("host")) {
      const json& h = u["host"];
      if (h.is_string()) {
        out += h.get<std::string>();
      } else {
        for (size_t k = 0; k < h.size(); ++k) out += (k ? "." : "") + h[k].get<std::string>();
      }
    }
    if (u.contains("port")) out += ":" + u["port"].get<std::string>();
    for (const json& p : u.value("path", json::array())) out += "/" + p.get<std::string>();
    std::string q;
    for (const json& p : u.value("query", json::array())) {
      if (p.value("disabled", false)) continue;
      q += (q.empty() ? "?" : "&") + p.value("key", "") + "=" + p.value("value", "");
    }
    return out + q;
  }

  // Bearer, basic and API-key auth as a header (or a query parameter).
  void auth(const json& a, Pairs& headers, std::string& url) const {
    std::string type = a.value("type", "");
    auto field = [&](const char* k) {
      for (const json& f : a.value(type, json::array())) {
        if (f.value("key", "") == k) return convert(f.value("value", ""));
      }
      return std::string();
    };
    if (type == "bearer") {
      headers.emplace_back("Authorization", "Bearer " + field("token"));
    } else if (type == "basic") {
      headers.emplace_back("Authorization",
                           "Basic " + base64_encode(field("username") + ":" + field("password")));
    } else if (type == "apikey") {
      std::string k = field("key"), v = field("value");
      if (field("in") == "query") {
        url += (url.find('?') == std::string::npos ? "?" : "&") + k + "=" + v;
      } else {
        headers.emplace_back(k.empty() ? "X-API-Key" : k, v);
      }
    } else if (!type.empty() && type != "noauth") {
      c.notes.push_back(
          fmt::format("auth type '{}' is not imported; add its header by hand", type));
    }
  }

  void request(const json& item, Scenario& s) {
    const json& r = item.at("request");
    Step st;
    st.templated = true;
    st.method = r.is_string() ? "GET" : r.value("method", "GET");
    std::string raw_url = r.is_string() ? r.get<std::string>() : url_of(r.at("url"));
    st.url = convert(raw_url);
    if (!passes_filter(st.url, o)) {
      ++c.skipped;
      return;
    }
    if (!r.is_string()) {
      for (const json& h : r.value("header", json::array())) {
        if (h.value("disabled", false)) continue;
        st.headers.emplace_back(h.value("key", ""), convert(h.value("value", "")));
      }
      if (r.contains("auth")) auth(r["auth"], st.headers, st.url);
      if (r.contains("body")) {
        const json& b = r["body"];
        std::string mode = b.value("mode", "");
        if (mode == "raw") {
          st.body = convert(b.value("raw", ""));
          if (b.value("/options/raw/language"_json_pointer, std::string()) == "json" &&
              std::none_of(st.headers.begin(), st.headers.end(),
                           [](const auto& h) { return h.first == "Content-Type"; })) {
            st.headers.emplace_back("Content-Type", "application/json");
          }
        } else if (mode == "urlencoded") {
          for (const json& f : b.value("urlencoded", json::array())) {
            if (f.value("disabled", false)) continue;
            st.body += (st.body.empty() ? "" : "&") + f.value("key", "") + "=" +
                       convert(f.value("value", ""));
          }
          st.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
        } else if (!mode.empty()) {
          c.notes.push_back(
              fmt::format("'{}': body mode '{}' is not imported", item.value("name", ""), mode));
        }
      }
    }
    st.name = item.value("name", "");
    if (st.name.empty()) st.name = step_name(s.steps.size() + 1, st.method, st.url);
    for (const Step& other : s.steps) {
      if (other.name == st.name) st.name += fmt::format(" ({})", s.steps.size() + 1);
    }
    s.steps.push_back(std::move(st));
  }

  void items(const json& list, const std::string& prefix, std::vector<Scenario>& out,
             Scenario& loose) {
    for (const json& item : list) {
      if (item.contains("item")) {  // a folder
        Scenario s;
        s.name = prefix + item.value("name", "folder");
        std::vector<Scenario> nested;
        items(item["item"], s.name + " / ", nested, s);
        if (!s.steps.empty()) out.push_back(std::move(s));
        for (Scenario& n : nested) out.push_back(std::move(n));
      } else if (item.contains("request")) {
        request(item, loose);
      }
    }
  }
};

}  // namespace

Collection read_postman(const std::string& text, const std::string& path, const ImportOptions& o) {
  json d;
  try {
    d = json::parse(text);
  } catch (const std::exception& e) {
    throw SetupError(
        fmt::format("import: '{}' is not JSON (a Postman collection is): {}", path, e.what()),
        kExitUsage);
  }
  Collection c;
  c.kind = "Postman collection";
  Reader r{o, c, {}};
  try {
    c.title = d.at("info").value("name", "");
    std::string schema = d["info"].value("schema", "");
    if (!schema.empty() && schema.find("v2.1") == std::string::npos &&
        schema.find("v2.0") == std::string::npos) {
      throw SetupError(fmt::format("import: '{}' is a Postman collection of schema {}; export "
                                   "it as v2.1 from Postman",
                                   path, schema),
                       kExitUsage);
    }
    for (const json& v : d.value("variable", json::array())) {
      r.vars.emplace_back(v.value("key", ""), v.contains("value") && v["value"].is_string()
                                                  ? v["value"].get<std::string>()
                                                  : std::string());
    }
    if (d.contains("auth")) {
      std::string unused;
      r.auth(d["auth"], c.headers, unused);
    }
    Scenario loose;
    loose.name = c.title.empty() ? "requests" : c.title;
    std::vector<Scenario> folders;
    r.items(d.at("item"), "", folders, loose);
    if (!loose.steps.empty()) c.scenarios.push_back(std::move(loose));
    for (Scenario& s : folders) c.scenarios.push_back(std::move(s));
  } catch (const SetupError&) {
    throw;
  } catch (const std::exception& e) {
    throw SetupError(fmt::format("import: '{}' is not a Postman collection: {} (expected info "
                                 "and item[])",
                                 path, e.what()),
                     kExitUsage);
  }
  c.variables = r.vars;
  c.cookie_jar = true;
  return c;
}

}  // namespace spiker::importers
