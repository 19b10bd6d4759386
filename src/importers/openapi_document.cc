#include "importers/openapi_document.h"

#include <fmt/format.h>
#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>
#include <stdexcept>
#include <vector>

#include "core/error.h"
#include "importers/limits.h"

namespace spiker::importers {

void ObjectBuilder::set(std::string key, ojson value) {
  // ordered_map is a vector of pairs: append without its search for the key. Up to 16 keys a
  // search is cheaper than an index.
  auto& items = static_cast<ojson::object_t::Container&>(object_.get_ref<ojson::object_t&>());
  if (items.size() < 16) {
    for (auto& [k, v] : items) {
      if (k == key) {
        v = std::move(value);
        return;
      }
    }
  } else {
    if (at_.empty()) {
      for (size_t i = 0; i < items.size(); ++i) at_.emplace(items[i].first, i);
    }
    auto [at, fresh] = at_.try_emplace(key, items.size());
    if (!fresh) {
      items[at->second].second = std::move(value);
      return;
    }
  }
  items.emplace_back(std::move(key), std::move(value));
}

namespace {

constexpr const char* kNotThisDeep =
    "an OpenAPI document is never this deep: is it the right file?";

// nlohmann's SAX interface, building an ordered_json with ObjectBuilder. check_nesting has run:
// the stack is at most kMaxNesting deep.
class JsonBuilder {
 public:
  bool null() { return add(nullptr); }
  bool boolean(bool v) { return add(v); }
  bool number_integer(ojson::number_integer_t v) { return add(v); }
  bool number_unsigned(ojson::number_unsigned_t v) { return add(v); }
  bool number_float(ojson::number_float_t v, const std::string&) { return add(v); }
  bool string(std::string& v) { return add(std::move(v)); }
  bool binary(ojson::binary_t& v) { return add(ojson::binary(std::move(v))); }
  bool start_object(size_t) {
    open_.push_back({true, {}, {}, {}});
    return true;
  }
  bool key(std::string& k) {
    open_.back().key = std::move(k);
    return true;
  }
  bool end_object() { return close(open_.back().object.take()); }
  bool start_array(size_t) {
    open_.push_back({false, {}, ojson::array(), {}});
    return true;
  }
  bool end_array() { return close(std::move(open_.back().array)); }
  bool parse_error(size_t, const std::string&, const nlohmann::detail::exception& e) {
    throw std::runtime_error(e.what());
  }

  ojson take() { return std::move(root_); }

 private:
  struct Open {
    bool is_object;
    ObjectBuilder object;
    ojson array;
    std::string key;  // the key whose value comes next (objects)
  };

  bool add(ojson v) {
    if (open_.empty()) {
      root_ = std::move(v);
    } else if (open_.back().is_object) {
      open_.back().object.set(std::move(open_.back().key), std::move(v));
    } else {
      open_.back().array.push_back(std::move(v));
    }
    return true;
  }
  bool close(ojson v) {
    open_.pop_back();
    return add(std::move(v));
  }

  std::vector<Open> open_;
  ojson root_;
};

// yaml-cpp shares an anchored node between its aliases; turning the node graph into a tree
// copies it once per alias, so each value and byte made is counted.
class YamlReader {
 public:
  YamlReader(const std::string& path, size_t text_bytes)
      : path_(path),
        max_values_(std::max(kMaxYamlValues, text_bytes / 2)),
        max_bytes_(std::max(kMaxRequestBytes, text_bytes)) {}

  ojson read(const YAML::Node& n, int depth) {
    if (++values_ > max_values_) bomb(n);
    switch (n.Type()) {
      case YAML::NodeType::Map: {
        if (depth >= kMaxNesting) too_deep(n);
        ObjectBuilder o;
        for (const auto& kv : n) {
          std::string k = kv.first.as<std::string>();
          count_bytes(k.size(), kv.first);
          o.set(std::move(k), read(kv.second, depth + 1));
        }
        return o.take();
      }
      case YAML::NodeType::Sequence: {
        if (depth >= kMaxNesting) too_deep(n);
        ojson a = ojson::array();
        for (const auto& v : n) a.push_back(read(v, depth + 1));
        return a;
      }
      case YAML::NodeType::Scalar:
        count_bytes(n.Scalar().size(), n);
        return scalar(n);
      default:
        return nullptr;
    }
  }

 private:
  static ojson scalar(const YAML::Node& n) {
    const std::string& s = n.Scalar();
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

  void count_bytes(size_t n, const YAML::Node& at) {
    bytes_ += n;
    if (bytes_ > max_bytes_) bomb(at);
  }

  [[noreturn]] void bomb(const YAML::Node& at) const {
    throw SetupError(fmt::format("import: '{}': its YAML expands to over {} values or {} MiB of "
                                 "text once aliases (*name) are expanded (line {}): an alias "
                                 "bomb, not an API; write the repeated parts out, or share them "
                                 "with $ref",
                                 path_, max_values_, max_bytes_ >> 20, at.Mark().line + 1),
                     kExitUsage);
  }

  [[noreturn]] void too_deep(const YAML::Node& at) const {
    throw SetupError(fmt::format("import: '{}': arrays and objects nested deeper than {} levels "
                                 "(line {}); {}",
                                 path_, kMaxNesting, at.Mark().line + 1, kNotThisDeep),
                     kExitUsage);
  }

  const std::string& path_;
  size_t max_values_, max_bytes_;
  size_t values_ = 0, bytes_ = 0;
};

}  // namespace

ojson read_openapi_document(const std::string& text, const std::string& path) {
  try {
    size_t first = text.find_first_not_of(" \t\r\n");
    if (first != std::string::npos && text[first] == '{') {
      check_nesting(text, path, kNotThisDeep);
      JsonBuilder b;
      ojson::sax_parse(text, &b);
      return b.take();
    }
    return YamlReader(path, text.size()).read(YAML::Load(text), 0);
  } catch (const SetupError&) {
    throw;
  } catch (const YAML::DeepRecursion& e) {
    throw SetupError(fmt::format("import: '{}': arrays and objects nested deeper than {} levels "
                                 "(line {}); {}",
                                 path, kMaxNesting, e.mark.line + 1, kNotThisDeep),
                     kExitUsage);
  } catch (const std::exception& e) {
    throw SetupError(fmt::format("import: '{}' is neither JSON nor YAML: {}", path, e.what()),
                     kExitUsage);
  }
}

}  // namespace spiker::importers
