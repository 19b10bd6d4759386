// Reading an OpenAPI document's parts: key lookups, $refs, values for parameters and sample
// bodies from schemas. A document can ask for unbounded work through its $refs (a schema whose
// properties refer back to it, a chain of schemas each referring several times to the next, a
// shared parameter listed 100,000 times): every node visited through them counts against
// kMaxExpansion, every byte of example or sample text against kMaxRequestBytes, a sample stops
// where a schema refers back to one being sampled, and chains of distinct schemas go at most
// kMaxSchemaDepth deep. Past a limit: SetupError naming the operation.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "importers/openapi_document.h"

namespace spiker::importers {

class Spec {
 public:
  Spec(const ojson& doc, const std::string& path) : doc_(doc), path_(path) {}

  // What is being read ("POST /items"), for messages.
  void at(std::string where) { where_ = std::move(where); }
  // Counts `n` nodes visited; refuses past kMaxExpansion.
  void visit(size_t n);

  // `obj[key]` or nullptr (obj not an object, or no such key). `obj` is a node of the document:
  // objects of more than 16 keys get an index (a pointer to it) on their first lookup, so that
  // looking up in one reached again and again through $refs is not quadratic.
  const ojson* get(const ojson& obj, std::string_view key) const;
  // obj[key] when it is a string, else `fallback`.
  std::string text(const ojson& obj, std::string_view key, std::string fallback = "") const;
  // The same without a copy (what is looked up for every node visited: a long string there must
  // not cost its length each time).
  std::string_view view(const ojson& obj, std::string_view key,
                        std::string_view fallback = {}) const;
  // obj[key] when it is true.
  bool flag(const ojson& obj, std::string_view key) const;
  // What `n` refers to when it is {"$ref": "#/..."} (through chains of $refs, at most 16), else
  // `n` itself.
  const ojson& resolve(const ojson& n);

  // A value that fits the schema: its example, default or first enum value, else one made from
  // its type. A property or item whose schema refers back to one being sampled is left out (a
  // tree's children: the sample stops at the first repetition).
  ojson sample(const ojson& schema);
  // A parameter's value: its example, its first example's value, or a sample of its schema.
  std::string param_value(const ojson& param);
  // `v` (an example from the document), counted: its nodes as visits, its text as bytes.
  const ojson& counted(const ojson& v);
  // A value as URL or header text: strings as they are, others as JSON.
  std::string text_of(const ojson& v);

 private:
  std::optional<ojson> sample(const ojson& schema, std::vector<const ojson*>& open);
  std::optional<ojson> sample_of(const ojson& s, std::vector<const ojson*>& open);
  void count_bytes(size_t n);
  const ojson* target(const ojson& ref);

  const ojson& doc_;
  const std::string& path_;
  std::string where_;
  size_t visits_ = 0;  // nodes visited through $refs, samples and examples
  size_t bytes_ = 0;   // text of the examples and samples made
  mutable std::unordered_map<const ojson*, std::unordered_map<std::string_view, const ojson*>>
      index_;
  // A "$ref" string of the document (by address: a long one is read once) -> its target, or
  // nullptr where it has none.
  std::unordered_map<const ojson*, const ojson*> refs_;
};

}  // namespace spiker::importers
