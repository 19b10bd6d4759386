// An OpenAPI document (JSON or YAML) read into an ordered_json (the document's order is the
// order of the steps), within limits.h: nesting at most kMaxNesting; YAML aliases expanded to at
// most max(kMaxYamlValues, bytes / 2) values and max(kMaxRequestBytes, bytes) bytes of text (no
// file without aliases holds more); objects built in time linear in their keys (ordered_json's
// own parser searches an object's keys one by one for each new key: 14 s for a document of
// 100,000 paths).
#pragma once

#include <string>
#include <unordered_map>

#include "core/json.h"

namespace spiker::importers {

using ojson = nlohmann::ordered_json;

// The document, or SetupError naming `path` and what is wrong (bad syntax, too deep, an alias
// bomb).
ojson read_openapi_document(const std::string& text, const std::string& path);

// An ordered_json object built in O(1) per key. A key given twice keeps its first place and its
// last value, as nlohmann's parser does.
class ObjectBuilder {
 public:
  void set(std::string key, ojson value);
  ojson take() { return std::move(object_); }

 private:
  ojson object_ = ojson::object();
  std::unordered_map<std::string, size_t> at_;  // a key's index in object_, past 16 keys
};

}  // namespace spiker::importers
