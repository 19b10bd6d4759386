// OpenAPI 3 (JSON or YAML): one step per operation, grouped by first tag, with path and query
// parameters from their examples (or a value of their type) and a request body from the
// example or the schema. The server is ${BASE_URL:-servers[0].url}, so BASE_URL=... overrides.
#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>

#include "core/error.h"
#include "core/json.h"
#include "importers/importer.h"

namespace spiker::importers {
namespace {

using ojson = nlohmann::ordered_json;

ojson from_yaml(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map: {
      ojson o = ojson::object();
      for (const auto& kv : n) o[kv.first.as<std::string>()] = from_yaml(kv.second);
      return o;
    }
    case YAML::NodeType::Sequence: {
      ojson a = ojson::array();
      for (const auto& v : n) a.push_back(from_yaml(v));
      return a;
    }
    case YAML::NodeType::Scalar: {
      std::string s = n.as<std::string>();
      if (n.Tag() == "!") return s;  // quoted in the file: a string
      if (s == "true" || s == "false") return s == "true";
      if (s == "null" || s == "~") return nullptr;
      char* end = nullptr;
      long long i = std::strtoll(s.c_str(), &end, 10);
      if (!s.empty() && *end == '\0') return i;
      double d = std::strtod(s.c_str(), &end);
      if (!s.empty() && *end == '\0') return d;
      return s;
    }
    default:
      return nullptr;
  }
}

struct Spec {
  const ojson& doc;

  const ojson& resolve(const ojson& n, int depth = 0) const {
    if (n.is_object() && n.contains("$ref") && depth < 16) {
      std::string ref = n["$ref"].get<std::string>();
      if (ref.starts_with("#/")) {
        const ojson* at = &doc;
        size_t i = 2;
        while (i <= ref.size()) {
          size_t slash = ref.find('/', i);
          std::string part = ref.substr(i, slash == std::string::npos ? slash : slash - i);
          if (!at->is_object() || !at->contains(part)) return n;
          at = &(*at)[part];
          if (slash == std::string::npos) break;
          i = slash + 1;
        }
        return resolve(*at, depth + 1);
      }
    }
    return n;
  }

  // A value that fits the schema: its example, default or first enum value, else one made
  // from its type.
  ojson sample(const ojson& schema_in, int depth = 0) const {
    const ojson& s = resolve(schema_in);
    if (!s.is_object() || depth > 8) return nullptr;
    for (const char* k : {"example", "default"}) {
      if (s.contains(k)) return s[k];
    }
    if (s.contains("examples") && s["examples"].is_array() && !s["examples"].empty()) {
      return s["examples"][0];
    }
    if (s.contains("enum") && !s["enum"].empty()) return s["enum"][0];
    for (const char* k : {"oneOf", "anyOf"}) {
      if (s.contains(k) && !s[k].empty()) return sample(s[k][0], depth + 1);
    }
    if (s.contains("allOf")) {
      ojson merged = ojson::object();
      for (const ojson& part : s["allOf"]) {
        ojson v = sample(part, depth + 1);
        if (v.is_object()) merged.update(v);
      }
      return merged;
    }
    std::string type = s.value("type", s.contains("properties") ? "object" : "string");
    if (type == "object") {
      ojson o = ojson::object();
      const ojson props = s.value("properties", ojson::object());  // (items() needs an lvalue)
      for (const auto& [k, v] : props.items()) o[k] = sample(v, depth + 1);
      return o;
    }
    if (type == "array")
      return ojson::array({sample(s.value("items", ojson::object()), depth + 1)});
    if (type == "integer") return 1;
    if (type == "number") return 1.5;
    if (type == "boolean") return true;
    std::string format = s.value("format", "");
    if (format == "date-time") return "2026-01-01T00:00:00Z";
    if (format == "date") return "2026-01-01";
    if (format == "email") return "user@example.com";
    if (format == "uuid") return "00000000-0000-4000-8000-000000000001";
    return "string";
  }

  std::string text_of(const ojson& v) const {
    return v.is_string() ? v.get<std::string>() : v.is_null() ? std::string("1") : v.dump();
  }

  std::string param_value(const ojson& p_in) const {
    const ojson& p = resolve(p_in);
    if (p.contains("example")) return text_of(p["example"]);
    if (p.contains("examples") && p["examples"].is_object() && !p["examples"].empty()) {
      const ojson& first = resolve(p["examples"].begin().value());
      if (first.contains("value")) return text_of(first["value"]);
    }
    return text_of(sample(p.value("schema", ojson::object())));
  }
};

}  // namespace

Collection read_openapi(const std::string& text, const std::string& path, const ImportOptions& o) {
  ojson doc;
  try {
    if (text.find_first_not_of(" \t\r\n") != std::string::npos &&
        text[text.find_first_not_of(" \t\r\n")] == '{') {
      doc = ojson::parse(text);
    } else {
      doc = from_yaml(YAML::Load(text));
    }
  } catch (const std::exception& e) {
    throw SetupError(fmt::format("import: '{}' is neither JSON nor YAML: {}", path, e.what()),
                     kExitUsage);
  }
  if (!doc.is_object() || !doc.contains("openapi") || !doc.contains("paths")) {
    throw SetupError(fmt::format("import: '{}' is not an OpenAPI 3 document (no openapi and "
                                 "paths); Swagger 2 files: convert them to OpenAPI 3 first",
                                 path),
                     kExitUsage);
  }
  Spec spec{doc};
  Collection c;
  c.kind = "OpenAPI document";
  c.title = doc.value("/info/title"_json_pointer, std::string());
  std::string server = o.base_url;
  if (server.empty() && doc.contains("servers") && !doc["servers"].empty()) {
    const ojson& s = doc["servers"][0];
    server = s.value("url", "");
    const ojson variables = s.value("variables", ojson::object());
    for (const auto& [name, v] : variables.items()) {
      std::string value = v.contains("default") ? spec.text_of(v["default"]) : "";
      for (size_t at; (at = server.find("{" + name + "}")) != std::string::npos;) {
        server.replace(at, name.size() + 2, value);
      }
    }
  }
  if (server.find("://") == std::string::npos) {
    c.notes.push_back(
        fmt::format("the document's server '{}' is not an absolute URL: give "
                    "BASE_URL=http://host:port when you run it",
                    server));
    server = "http://127.0.0.1:8080" + server;
  }
  while (server.ends_with("/")) server.pop_back();
  std::vector<Scenario> groups;
  auto group = [&](const std::string& name) -> Scenario& {
    for (Scenario& s : groups) {
      if (s.name == name) return s;
    }
    groups.push_back({name, {}});
    return groups.back();
  };
  for (const auto& [route, item_in] : doc["paths"].items()) {
    const ojson& item = spec.resolve(item_in);
    for (const char* method : {"get", "post", "put", "patch", "delete", "head", "options"}) {
      if (!item.contains(method)) continue;
      const ojson& op = item[method];
      Step st;
      st.templated = true;
      st.method = method;
      std::transform(st.method.begin(), st.method.end(), st.method.begin(), ::toupper);
      std::string p = route, query;
      std::vector<ojson> params;
      for (const ojson& x : item.value("parameters", ojson::array())) params.push_back(x);
      for (const ojson& x : op.value("parameters", ojson::array())) params.push_back(x);
      for (const ojson& x_in : params) {
        const ojson& x = spec.resolve(x_in);
        std::string name = x.value("name", ""), in = x.value("in", "");
        std::string value = spec.param_value(x);
        if (in == "path") {
          for (size_t at; (at = p.find("{" + name + "}")) != std::string::npos;) {
            p.replace(at, name.size() + 2, value);
          }
        } else if (in == "query" && x.value("required", false)) {
          query += (query.empty() ? "?" : "&") + name + "=" + value;
        } else if (in == "header" && x.value("required", false)) {
          st.headers.emplace_back(name, value);
        }
      }
      st.url = "${BASE_URL:-" + server + "}" + p + query;
      if (!passes_filter(server + p + query, o)) {
        ++c.skipped;
        continue;
      }
      if (op.contains("requestBody")) {
        const ojson& body = spec.resolve(op["requestBody"]);
        const ojson content = body.value("content", ojson::object());
        for (const auto& [type, media] : content.items()) {
          ojson value;
          if (media.contains("example")) {
            value = media["example"];
          } else if (media.contains("examples") && !media["examples"].empty()) {
            value = spec.resolve(media["examples"].begin().value()).value("value", ojson());
          } else {
            value = spec.sample(media.value("schema", ojson::object()));
          }
          st.body = value.is_string() ? value.get<std::string>() : value.dump();
          st.headers.emplace_back("Content-Type", type);
          break;
        }
      }
      const ojson responses = op.value("responses", ojson::object());
      for (const auto& [code, unused] : responses.items()) {
        if (code.size() == 3 && code[0] == '2') {
          st.expect_status = std::stoi(code);
          break;
        }
      }
      std::string summary = op.value("summary", op.value("operationId", ""));
      st.name = op.value("operationId", "");
      if (st.name.empty()) st.name = fmt::format("{} {}", st.method, route);
      st.note = fmt::format("{} {}{}", st.method, route, summary.empty() ? "" : ": " + summary);
      std::string tag = op.contains("tags") && !op["tags"].empty()
                            ? op["tags"][0].get<std::string>()
                            : (c.title.empty() ? "api" : c.title);
      Scenario& g = group(tag);
      for (const Step& other : g.steps) {
        if (other.name == st.name) st.name += fmt::format(" ({})", g.steps.size() + 1);
      }
      g.steps.push_back(std::move(st));
    }
  }
  c.scenarios = std::move(groups);
  c.notes.push_back(
      "steps run in the document's order; one that needs an id another creates may need an "
      "extract (extract = { id = \"json:$.id\" }) and ${id} in its url");
  return c;
}

}  // namespace spiker::importers
