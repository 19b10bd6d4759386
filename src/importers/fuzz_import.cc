// libFuzzer: the HAR, Postman and OpenAPI readers and the TOML writer. Any file gives a test
// file or an error (SetupError, or a JSON/YAML library's exception): never a crash. Inputs go up
// to 64 KiB (MAX_LEN in CMakeLists.txt) and the seeds nest folders, $refs and YAML aliases up to
// and past limits.h, whose bounds keep one input well under libFuzzer's 2 GB RSS limit and its
// 10 s timeout (the worst, a YAML alias bomb or a $ref bomb refused at its limit, takes a few
// hundred MB).
#include <cstdint>
#include <string>

#include "core/error.h"
#include "importers/importer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  spiker::importers::ImportOptions o;
  for (auto* read : {&spiker::importers::read_har, &spiker::importers::read_postman,
                     &spiker::importers::read_openapi}) {
    try {
      spiker::importers::Collection c = read(text, "fuzz", o);
      (void)spiker::importers::to_toml(c, "fuzz");
    } catch (const std::exception&) {
    }
  }
  return 0;
}
