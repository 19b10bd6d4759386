// OpenAPI 3 (JSON or YAML): one step per operation, grouped by first tag, with path and query
// parameters from their examples (or a value of their type) and a request body from the
// example or the schema. The server is ${BASE_URL:-servers[0].url}, so BASE_URL=... overrides.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <optional>
#include <unordered_map>
#include <vector>

#include "core/error.h"
#include "importers/importer.h"
#include "importers/openapi_document.h"
#include "importers/openapi_spec.h"

namespace spiker::importers {
namespace {

// `tmpl` with each {name} that `value(name)` knows replaced, in one pass (a value is not searched
// again for names), checked against kMaxRequestBytes as it grows.
template <typename Value>
std::string filled(std::string_view tmpl, Value value, const Collection& c, const std::string& path,
                   std::string_view where) {
  std::string out;
  size_t i = 0;
  while (i < tmpl.size()) {
    size_t open = tmpl.find('{', i);
    size_t close = open == std::string_view::npos ? open : tmpl.find('}', open + 1);
    if (close == std::string_view::npos) {
      out.append(tmpl.substr(i));
      break;
    }
    out.append(tmpl.substr(i, open - i));
    std::optional<std::string> v = value(tmpl.substr(open + 1, close - open - 1));
    out.append(v ? *v : tmpl.substr(open, close - open + 1));
    i = close + 1;
    check_size(c, out.size(), path, where);
  }
  return out;
}

struct Reader {
  const ImportOptions& o;
  const std::string& path;
  Spec& spec;
  Collection& c;
  std::string server;
  std::vector<Scenario> groups;
  size_t url_bytes = 0;  // the URLs of all operations so far

  void read_server(const ojson& doc) {
    spec.at("servers[0]");
    server = o.base_url;
    const ojson* servers = spec.get(doc, "servers");
    if (server.empty() && servers && servers->is_array() && !servers->empty()) {
      const ojson& s = servers->front();
      const ojson* variables = spec.get(s, "variables");
      server = filled(
          spec.text(s, "url"),
          [&](std::string_view name) -> std::optional<std::string> {
            const ojson* v = variables ? spec.get(*variables, name) : nullptr;
            if (!v) return std::nullopt;
            const ojson* d = spec.get(*v, "default");
            return d ? spec.text_of(*d) : std::string();
          },
          c, path, "servers[0].url");
    }
    if (server.find("://") == std::string::npos) {
      c.notes.push_back(
          fmt::format("the document's server '{}' is not an absolute URL: give "
                      "BASE_URL=http://host:port when you run it",
                      server));
      server = "http://127.0.0.1:8080" + server;
    }
    while (server.ends_with("/")) server.pop_back();
  }

  Scenario& group(const std::string& name) {
    for (Scenario& s : groups) {
      if (s.name == name) return s;
    }
    groups.push_back({name, {}});
    return groups.back();
  }

  // Path parameters into the route, required query and header parameters added: the first
  // parameter of a name counts (the path item's before the operation's).
  void parameters(const ojson& item, const ojson& op, const std::string& route, Step& st,
                  std::string& p, std::string& query) {
    std::unordered_map<std::string_view, const ojson*> in_path;
    size_t header_bytes = 0;
    for (const ojson* list : {spec.get(item, "parameters"), spec.get(op, "parameters")}) {
      if (!list || !list->is_array()) continue;
      for (const ojson& x_in : *list) {
        spec.visit(1);
        const ojson& x = spec.resolve(x_in);
        const ojson* name = spec.get(x, "name");
        if (!name || !name->is_string()) continue;
        const std::string& n = name->get_ref<const std::string&>();
        std::string_view in = spec.view(x, "in");
        if (in == "path") {
          in_path.try_emplace(n, &x);
        } else if (in == "query" && spec.flag(x, "required")) {
          query += (query.empty() ? "?" : "&") + n + "=" + spec.param_value(x);
          check_size(c, query.size(), path, route);
        } else if (in == "header" && spec.flag(x, "required")) {
          st.headers.emplace_back(n, spec.param_value(x));
          header_bytes += n.size() + st.headers.back().second.size();
          check_size(c, header_bytes, path, route);
        }
      }
    }
    std::unordered_map<std::string_view, std::string> values;  // each computed once
    p = filled(
        route,
        [&](std::string_view name) -> std::optional<std::string> {
          auto param = in_path.find(name);
          if (param == in_path.end()) return std::nullopt;
          auto [v, fresh] = values.try_emplace(name);
          if (fresh) v->second = spec.param_value(*param->second);
          return v->second;
        },
        c, path, route);
  }

  void body(const ojson& op, Step& st) {
    const ojson* request_body = spec.get(op, "requestBody");
    if (!request_body) return;
    const ojson* content = spec.get(spec.resolve(*request_body), "content");
    if (!content || !content->is_object() || content->empty()) return;
    auto first = content->begin();
    const ojson& media = first.value();
    ojson value;
    const ojson* examples = spec.get(media, "examples");
    if (const ojson* example = spec.get(media, "example")) {
      value = spec.counted(*example);
    } else if (examples && examples->is_object() && !examples->empty()) {
      const ojson* v = spec.get(spec.resolve(examples->begin().value()), "value");
      if (v) value = spec.counted(*v);
    } else {
      const ojson* schema = spec.get(media, "schema");
      value = spec.sample(schema ? *schema : ojson::object());
    }
    st.body = value.is_string() ? value.get<std::string>() : value.dump();
    st.headers.emplace_back("Content-Type", first.key());
  }

  void operation(const ojson& item, const ojson& op, const std::string& route,
                 const std::string& method) {
    spec.visit(1);
    Step st;
    st.templated = true;
    st.method = method;
    std::transform(st.method.begin(), st.method.end(), st.method.begin(), ::toupper);
    spec.at(st.method + " " + route.substr(0, 80));
    std::string p, query;
    parameters(item, op, route, st, p, query);
    // Every operation's URL, kept or not, counts: a long server or route is copied once each.
    url_bytes += server.size() + p.size() + query.size();
    check_size(c, url_bytes, path, route);
    st.url = "${BASE_URL:-" + server + "}" + p + query;
    if (!passes_filter(server + p + query, o)) {
      ++c.skipped;
      return;
    }
    body(op, st);
    if (const ojson* responses = spec.get(op, "responses"); responses && responses->is_object()) {
      for (auto it = responses->begin(); it != responses->end(); ++it) {
        const std::string& code = it.key();
        if (code.size() == 3 && code[0] == '2' && std::isdigit(code[1]) && std::isdigit(code[2])) {
          st.expect_status = std::stoi(code);
          break;
        }
      }
    }
    std::string id = spec.text(op, "operationId");
    std::string summary = spec.text(op, "summary", id);
    st.name = id.empty() ? fmt::format("{} {}", st.method, route) : id;
    st.note = fmt::format("{} {}{}", st.method, route, summary.empty() ? "" : ": " + summary);
    const ojson* tags = spec.get(op, "tags");
    std::string tag = c.title.empty() ? "api" : c.title;
    if (tags && tags->is_array() && !tags->empty() && tags->front().is_string()) {
      tag = tags->front().get<std::string>();
    }
    add_step(c, group(tag), std::move(st), path);
  }
};

}  // namespace

Collection read_openapi(const std::string& text, const std::string& path, const ImportOptions& o) {
  ojson doc = read_openapi_document(text, path);
  Spec spec{doc, path};
  const ojson* paths = spec.get(doc, "paths");
  if (!spec.get(doc, "openapi") || !paths) {
    throw SetupError(fmt::format("import: '{}' is not an OpenAPI 3 document (no openapi and "
                                 "paths); Swagger 2 files: convert them to OpenAPI 3 first",
                                 path),
                     kExitUsage);
  }
  Collection c;
  c.kind = "OpenAPI document";
  if (const ojson* info = spec.get(doc, "info")) c.title = spec.text(*info, "title");
  Reader r{o, path, spec, c, {}, {}, 0};
  try {
    r.read_server(doc);
    if (paths->is_object()) {
      for (auto it = paths->begin(); it != paths->end(); ++it) {
        spec.visit(1);
        const ojson& item = spec.resolve(it.value());
        for (const char* method : {"get", "post", "put", "patch", "delete", "head", "options"}) {
          const ojson* op = spec.get(item, method);
          if (op && op->is_object()) r.operation(item, *op, it.key(), method);
        }
      }
    }
  } catch (const SetupError&) {
    throw;
  } catch (const std::exception& e) {
    throw SetupError(
        fmt::format("import: '{}' is not an OpenAPI 3 document we can read: {}", path, e.what()),
        kExitUsage);
  }
  c.scenarios = std::move(r.groups);
  c.notes.push_back(
      "steps run in the document's order; one that needs an id another creates may need an "
      "extract (extract = { id = \"json:$.id\" }) and ${id} in its url");
  return c;
}

}  // namespace spiker::importers
