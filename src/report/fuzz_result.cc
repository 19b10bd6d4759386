// libFuzzer: reading a JSON result (`report`, `merge`, `compare`). Any text gives output or a
// SetupError; never a crash.
#include <cstdint>
#include <string>

#include "core/error.h"
#include "proto/protocol.h"
#include "report/merge.h"
#include "report/outputs.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool registered = (spiker::proto::register_protocols(), true);
  (void)registered;
  std::string text(reinterpret_cast<const char*>(data), size);
  using spiker::report::Format;
  for (Format f : {Format::kCsv, Format::kMarkdown, Format::kHtml, Format::kJunit, Format::kHlog,
                   Format::kSeriesCsv, Format::kSeriesJsonl}) {
    try {
      (void)spiker::report::render(text, f);
    } catch (const spiker::SetupError&) {
      break;  // not a result: the other formats say the same
    }
  }
  try {
    (void)spiker::report::merge_results({text, text}, {"a.json", "b.json"});
  } catch (const spiker::SetupError&) {
  }
  try {
    (void)spiker::report::compare_results(text, text, "a.json", "b.json", {});
  } catch (const spiker::SetupError&) {
  }
  return 0;
}
