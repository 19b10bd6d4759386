// hcl_eval CORPUS: evaluates a conformance corpus (JSON lines) and prints one JSON result per
// case, for comparison with HCL's reference implementation (tests/hcl/reference.go).
// The first line is {"vars": "<an HCL object expression>"}: its attributes are the variables.
// Each further line is {"name": N, "kind": "expr" | "template", "text": T}. Results:
// {"name": N, "ok": true, "type": "string|number|bool|null|sequence|mapping", "value": J} or
// {"name": N, "ok": false, "error": "..."}.
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "hcl/hcl.h"

using namespace spiker::hcl;

namespace {

const char* family(const Value& v) {
  if (v.is_null()) return "null";
  if (v.is_sequence()) return "sequence";
  if (v.is_mapping()) return "mapping";
  return type_name(v.type());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: hcl_eval CORPUS.jsonl\n";
    return 2;
  }
  std::ifstream in(argv[1]);
  std::string line;
  Context ctx;
  ctx.add_standard_functions();
  bool first = true;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    nlohmann::json c = nlohmann::json::parse(line);
    if (first) {
      first = false;
      Source src{"vars", c.at("vars").get<std::string>()};
      Value vars = evaluate(*parse_expression(src), ctx);
      for (const auto& [k, v] : vars.fields()) ctx.set(k, v);
      continue;
    }
    nlohmann::json out;
    out["name"] = c.at("name");
    try {
      Source src{c.at("name").get<std::string>(), c.at("text").get<std::string>()};
      ExprPtr e = c.at("kind") == "template" ? parse_template(src) : parse_expression(src);
      Value v = evaluate(*e, ctx);
      out["ok"] = true;
      out["type"] = family(v);
      out["value"] = nlohmann::json::parse(to_json(v));
    } catch (const std::exception& e) {
      out["ok"] = false;
      out["error"] = e.what();
    }
    std::cout << out.dump() << "\n";
  }
  return 0;
}
