// Fuzzes the HCL parser and evaluator: any bytes as a file and as an expression; errors are
// expected, crashes, hangs and unbounded memory are not. A file's top-level attributes are
// evaluated in order, each then a variable of the next (as locals chain: a value may double at
// each step), so the limits on what an expression builds are reached too.
#include <cstddef>
#include <cstdint>
#include <string>

#include "hcl/hcl.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  spiker::hcl::Context ctx;
  ctx.add_standard_functions();
  ctx.set("x", spiker::hcl::Value::tuple({spiker::hcl::Value::number(1)}));
  try {
    spiker::hcl::File f = spiker::hcl::parse_file(text, "fuzz.hcl");
    spiker::hcl::Context chain(&ctx);
    spiker::hcl::Footprint all;  // as a grid's locals: together within the limits of one value
    for (const spiker::hcl::Attribute& a : f.body.attributes) {
      try {
        spiker::hcl::Value v = spiker::hcl::evaluate(*a.expr, chain);
        all.add_element(v.footprint(), a.name.size());
        if (!spiker::hcl::limit_passed(all).empty()) break;
        chain.set(a.name, std::move(v));
      } catch (const spiker::SetupError&) {
      }
    }
  } catch (const spiker::SetupError&) {
  }
  try {
    spiker::hcl::Source src{"fuzz", text};
    spiker::hcl::ExprPtr e = spiker::hcl::parse_expression(src);
    spiker::hcl::evaluate(*e, ctx);
  } catch (const spiker::SetupError&) {
  }
  return 0;
}
