// Fuzzes the RESP reply parser and the command splitter: errors are fine, crashes are not.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "protocols/redis/resp.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  spiker::redis::Reply r;
  while (!in.empty()) {
    size_t n = spiker::redis::parse_reply(in, &r);
    if (n == 0 || n == SIZE_MAX) break;
    in.remove_prefix(n);
  }
  std::vector<std::string> args;
  spiker::redis::split_command(std::string_view(reinterpret_cast<const char*>(data), size), &args);
  return 0;
}
