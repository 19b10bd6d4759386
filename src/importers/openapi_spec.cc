#include "importers/openapi_spec.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "core/error.h"
#include "importers/limits.h"

namespace spiker::importers {
namespace {

const ojson& empty_object() {
  static const ojson kEmpty = ojson::object();
  return kEmpty;
}

// A JSON pointer's part with ~1 and ~0 read as / and ~.
std::string unescaped(std::string_view part) {
  std::string out;
  for (size_t i = 0; i < part.size(); ++i) {
    if (part[i] == '~' && i + 1 < part.size() && (part[i + 1] == '1' || part[i + 1] == '0')) {
      out += part[++i] == '1' ? '/' : '~';
    } else {
      out += part[i];
    }
  }
  return out;
}

}  // namespace

void Spec::visit(size_t n) {
  visits_ += n;
  if (visits_ <= kMaxExpansion) return;
  throw SetupError(fmt::format("import: '{}': its $refs, schemas and parameters expand to over {} "
                               "values (at {}): a $ref cycle or a reference bomb? refer to fewer "
                               "schemas, or give the operation an example",
                               path_, kMaxExpansion, where_),
                   kExitUsage);
}

void Spec::count_bytes(size_t n) {
  bytes_ += n;
  if (bytes_ <= kMaxRequestBytes) return;
  throw SetupError(fmt::format("import: '{}': its examples and schema samples expand to over {} "
                               "MiB (at {}); shorten the examples, or leave the operation out "
                               "with --filter REGEX",
                               path_, kMaxRequestBytes >> 20, where_),
                   kExitUsage);
}

const ojson* Spec::get(const ojson& obj, std::string_view key) const {
  if (!obj.is_object()) return nullptr;
  const auto& items = obj.get_ref<const ojson::object_t&>();
  if (items.size() <= 16) {
    for (const auto& [k, v] : items) {
      if (k == key) return &v;
    }
    return nullptr;
  }
  auto [index, fresh] = index_.try_emplace(&obj);
  if (fresh) {
    for (const auto& [k, v] : items) index->second.try_emplace(std::string_view(k), &v);
  }
  auto found = index->second.find(key);
  return found == index->second.end() ? nullptr : found->second;
}

std::string Spec::text(const ojson& obj, std::string_view key, std::string fallback) const {
  const ojson* v = get(obj, key);
  return v && v->is_string() ? v->get<std::string>() : fallback;
}

std::string_view Spec::view(const ojson& obj, std::string_view key,
                            std::string_view fallback) const {
  const ojson* v = get(obj, key);
  return v && v->is_string() ? std::string_view(v->get_ref<const std::string&>()) : fallback;
}

bool Spec::flag(const ojson& obj, std::string_view key) const {
  const ojson* v = get(obj, key);
  return v && v->is_boolean() && v->get<bool>();
}

const ojson* Spec::target(const ojson& ref_node) {
  auto found = refs_.find(&ref_node);
  if (found != refs_.end()) return found->second;
  const std::string& ref = ref_node.get_ref<const std::string&>();
  const ojson* node = nullptr;
  if (ref.starts_with("#/")) {
    node = &doc_;
    for (size_t i = 2; node;) {
      size_t slash = ref.find('/', i);
      std::string part = unescaped(std::string_view(ref).substr(i, slash - i));
      if (node->is_array()) {
        size_t k = 0;
        auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), k);
        bool ok = ec == std::errc() && end == part.data() + part.size() && k < node->size();
        node = ok ? &(*node)[k] : nullptr;
      } else {
        node = get(*node, part);
      }
      if (slash == std::string::npos) break;
      i = slash + 1;
    }
  }
  refs_.emplace(&ref_node, node);
  return node;
}

const ojson& Spec::resolve(const ojson& n) {
  const ojson* at = &n;
  for (int hop = 0; hop < 16; ++hop) {
    const ojson* ref = get(*at, "$ref");
    if (!ref || !ref->is_string()) break;
    const ojson* to = target(*ref);
    if (!to) break;
    visit(1);
    at = to;
  }
  return *at;
}

const ojson& Spec::counted(const ojson& v) {
  std::vector<const ojson*> todo{&v};
  while (!todo.empty()) {
    const ojson* x = todo.back();
    todo.pop_back();
    visit(1);
    if (x->is_string()) {
      count_bytes(x->get_ref<const std::string&>().size());
    } else if (x->is_object()) {
      for (auto it = x->begin(); it != x->end(); ++it) {
        count_bytes(it.key().size());
        todo.push_back(&it.value());
      }
    } else if (x->is_array()) {
      for (const ojson& y : *x) todo.push_back(&y);
    }
  }
  return v;
}

ojson Spec::sample(const ojson& schema) {
  std::vector<const ojson*> open;  // the schemas being sampled, outermost first
  return sample(schema, open).value_or(ojson());
}

std::optional<ojson> Spec::sample(const ojson& schema, std::vector<const ojson*>& open) {
  visit(1);
  const ojson& s = resolve(schema);
  if (!s.is_object()) return ojson();
  if (std::find(open.begin(), open.end(), &s) != open.end()) return std::nullopt;
  if (open.size() >= kMaxSchemaDepth) {
    throw SetupError(fmt::format("import: '{}': schemas nested deeper than {} levels (at {}); "
                                 "give the operation an example",
                                 path_, kMaxSchemaDepth, where_),
                     kExitUsage);
  }
  open.push_back(&s);
  std::optional<ojson> v = sample_of(s, open);
  open.pop_back();
  return v;
}

std::optional<ojson> Spec::sample_of(const ojson& s, std::vector<const ojson*>& open) {
  for (const char* k : {"example", "default"}) {
    if (const ojson* v = get(s, k)) return counted(*v);
  }
  for (const char* k : {"examples", "enum"}) {
    const ojson* v = get(s, k);
    if (v && v->is_array() && !v->empty()) return counted(v->front());
  }
  for (const char* k : {"oneOf", "anyOf"}) {
    const ojson* v = get(s, k);
    if (v && v->is_array() && !v->empty()) return sample(v->front(), open);
  }
  if (const ojson* parts = get(s, "allOf")) {
    ObjectBuilder merged;
    for (const ojson& part : parts->is_array() ? *parts : empty_object()) {
      std::optional<ojson> v = sample(part, open);
      if (!v || !v->is_object()) continue;
      for (auto& [k, x] : v->get_ref<ojson::object_t&>()) merged.set(k, std::move(x));
    }
    return merged.take();
  }
  std::string_view type = view(s, "type", get(s, "properties") ? "object" : "string");
  if (type == "object") {
    ObjectBuilder o;
    const ojson* props = get(s, "properties");
    if (props && props->is_object()) {
      for (auto it = props->begin(); it != props->end(); ++it) {
        std::optional<ojson> v = sample(it.value(), open);
        if (!v) continue;  // refers back to a schema being sampled
        count_bytes(it.key().size());
        o.set(it.key(), std::move(*v));
      }
    }
    return o.take();
  }
  if (type == "array") {
    ojson a = ojson::array();
    const ojson* items = get(s, "items");
    std::optional<ojson> v = sample(items ? *items : empty_object(), open);
    if (v) a.push_back(std::move(*v));
    return a;
  }
  if (type == "integer") return 1;
  if (type == "number") return 1.5;
  if (type == "boolean") return true;
  std::string_view format = view(s, "format");
  if (format == "date-time") return "2026-01-01T00:00:00Z";
  if (format == "date") return "2026-01-01";
  if (format == "email") return "user@example.com";
  if (format == "uuid") return "00000000-0000-4000-8000-000000000001";
  return "string";
}

std::string Spec::text_of(const ojson& v) {
  return v.is_string() ? v.get<std::string>() : v.is_null() ? std::string("1") : v.dump();
}

std::string Spec::param_value(const ojson& param) {
  const ojson& p = resolve(param);
  if (const ojson* v = get(p, "example")) return text_of(counted(*v));
  const ojson* examples = get(p, "examples");
  if (examples && examples->is_object() && !examples->empty()) {
    const ojson& first = resolve(examples->begin().value());
    if (const ojson* v = get(first, "value")) return text_of(counted(*v));
  }
  const ojson* schema = get(p, "schema");
  return text_of(sample(schema ? *schema : empty_object()));
}

}  // namespace spiker::importers
