// libFuzzer: the TOML config and journey reader. Any text gives a config or a SetupError.
#include <cstdint>
#include <string>

#include "config/config_file.h"
#include "core/error.h"
#include "proto/protocol.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool registered = (spiker::proto::register_protocols(), true);
  (void)registered;
  std::string text(reinterpret_cast<const char*>(data), size);
  try {
    spiker::config::parse_config(text, "fuzz.toml");
  } catch (const spiker::SetupError&) {
  }
  return 0;
}
