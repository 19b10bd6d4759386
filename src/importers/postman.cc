// Postman collections v2.1: each folder becomes a scenario (nested folders flattened as
// "a / b"), top-level requests one more; {{var}} becomes a variable, auth a header.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <unordered_map>
#include <vector>

#include "core/base64.h"
#include "core/error.h"
#include "core/json.h"
#include "importers/importer.h"

namespace spiker::importers {
namespace {

using json = nlohmann::json;

// "a / b / … / y / z": a folder path for a message, each name cut to 32 bytes.
std::string shown_path(const std::vector<std::string>& folders) {
  std::string out;
  for (size_t k = 0; k < folders.size(); ++k) {
    if (folders.size() > 6 && k >= 3 && k + 2 < folders.size()) {
      if (k == 3) out += " / …";
      continue;
    }
    out += (k ? " / " : "") + folders[k].substr(0, 32);
  }
  return out;
}

struct Reader {
  const ImportOptions& o;
  Collection& c;
  const std::string& path;
  Pairs vars;                                      // the collection's variables
  std::unordered_map<std::string, size_t> var_at;  // a name's last place in vars
  std::string where;                               // the request being read, for messages
  size_t url_bytes = 0;  // every request's URL once filled in, kept or left out by --filter

  // {{name}} -> ${name:-value} when the name has an upper-case letter (an environment variable
  // with the collection's value as default), else the value itself (LoadSpiker reads
  // all-lower-case names as values extracted at run time). Built-ins ({{$guid}}, ...) map to
  // ours. The text grows by a value per {{name}}: bounded by kMaxRequestBytes as it grows.
  std::string convert(const std::string& text) const {
    std::string out;
    size_t i = 0;
    while (i < text.size()) {
      size_t open = text.find("{{", i);
      size_t close = open == std::string::npos ? open : text.find("}}", open + 2);
      if (close == std::string::npos) {
        out.append(text, i);
        break;
      }
      out.append(text, i, open - i);
      std::string name = text.substr(open + 2, close - open - 2);
      i = close + 2;
      if (name == "$guid" || name == "$randomUUID") {
        out += "${UUID}";
      } else if (name == "$timestamp") {
        out += "${TIMESTAMP_MS}";
      } else if (name == "$randomInt") {
        out += "${RANDOM_INT:0:1000}";
      } else {
        static const std::string kUnset;
        auto at = var_at.find(name);
        const std::string& value = at == var_at.end() ? kUnset : vars[at->second].second;
        bool env = std::any_of(name.begin(), name.end(), ::isupper) &&
                   std::all_of(name.begin(), name.end(), [](char ch) {
                     return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_';
                   });
        if (env) {
          out += "${" + name + ":-";
          for (char ch : value) {
            if (ch != '}') out += ch;
          }
          out += "}";
        } else {
          out += value;
        }
      }
      check_size(c, out.size(), path, where);
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
    where = item.value("name", "");
    Step st;
    st.templated = true;
    st.method = r.is_string() ? "GET" : r.value("method", "GET");
    std::string raw_url = r.is_string() ? r.get<std::string>() : url_of(r.at("url"));
    st.url = convert(raw_url);
    url_bytes += st.url.size();
    check_size(c, url_bytes, path, where);
    if (!passes_filter(st.url, o)) {
      ++c.skipped;
      return;
    }
    if (!r.is_string()) {
      size_t header_bytes = 0;
      for (const json& h : r.value("header", json::array())) {
        if (h.value("disabled", false)) continue;
        st.headers.emplace_back(h.value("key", ""), convert(h.value("value", "")));
        header_bytes += st.headers.back().first.size() + st.headers.back().second.size();
        check_size(c, header_bytes, path, where);
      }
      if (r.contains("auth")) auth(r["auth"], st.headers, st.url);
      if (r.contains("body")) body(item, r["body"], st);
    }
    st.name = item.value("name", "");
    if (st.name.empty()) st.name = step_name(s.steps.size() + 1, st.method, st.url);
    add_step(c, s, std::move(st), path);
  }

  void body(const json& item, const json& b, Step& st) {
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
        st.body +=
            (st.body.empty() ? "" : "&") + f.value("key", "") + "=" + convert(f.value("value", ""));
        check_size(c, st.body.size(), path, where);
      }
      st.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
    } else if (!mode.empty()) {
      c.notes.push_back(
          fmt::format("'{}': body mode '{}' is not imported", item.value("name", ""), mode));
    }
  }

  // `folders`: the names of the folders this list is in, outermost first. A folder's scenario
  // is named after them ("a / b") once it has a step.
  void items(const json& list, std::vector<std::string>& folders, std::vector<Scenario>& out,
             Scenario& loose) {
    for (const json& item : list) {
      if (!item.is_object()) continue;
      if (item.contains("item")) {  // a folder
        folders.push_back(item.value("name", "folder"));
        if (folders.size() > static_cast<size_t>(kMaxFolderDepth)) {
          throw SetupError(fmt::format("import: '{}': folders nested deeper than {} at item path "
                                       "'{}'; flatten the collection (move the requests of deeper "
                                       "folders up)",
                                       path, kMaxFolderDepth, shown_path(folders)),
                           kExitUsage);
        }
        Scenario s;
        std::vector<Scenario> nested;
        items(item["item"], folders, nested, s);
        if (!s.steps.empty()) {
          for (size_t k = 0; k < folders.size(); ++k) s.name += (k ? " / " : "") + folders[k];
          out.push_back(std::move(s));
        }
        for (Scenario& n : nested) out.push_back(std::move(n));
        folders.pop_back();
      } else if (item.contains("request")) {
        request(item, loose);
      }
    }
  }
};

}  // namespace

Collection read_postman(const std::string& text, const std::string& path, const ImportOptions& o) {
  check_nesting(text, path,
                "a Postman collection this deep has folders nested far past the "
                "64 allowed: flatten the collection");
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
  Reader r{o, c, path, {}, {}, {}};
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
      r.var_at[r.vars.back().first] = r.vars.size() - 1;
    }
    if (d.contains("auth")) {
      std::string unused;
      r.auth(d["auth"], c.headers, unused);
    }
    Scenario loose;
    loose.name = c.title.empty() ? "requests" : c.title;
    std::vector<Scenario> folders;
    std::vector<std::string> names;
    r.items(d.at("item"), names, folders, loose);
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
