// Fuzzes the HCL parser and evaluator: any bytes as a file and as an expression; errors are
// expected, crashes and hangs are not.
#include <cstddef>
#include <cstdint>
#include <string>

#include "hcl/hcl.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  try {
    spiker::hcl::parse_file(text, "fuzz.hcl");
  } catch (const spiker::SetupError&) {
  }
  try {
    spiker::hcl::Source src{"fuzz", text};
    spiker::hcl::ExprPtr e = spiker::hcl::parse_expression(src);
    spiker::hcl::Context ctx;
    ctx.add_standard_functions();
    ctx.set("x", spiker::hcl::Value::tuple({spiker::hcl::Value::number(1)}));
    spiker::hcl::evaluate(*e, ctx);
  } catch (const spiker::SetupError&) {
  }
  return 0;
}
