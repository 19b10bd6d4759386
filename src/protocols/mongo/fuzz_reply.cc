// Fuzzes MongoDB OP_MSG replies: the frame, then the reply document as the session reads it
// (errors, write errors, a cursor's first batch as JSON). Refusals are fine; crashes are not.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "protocols/mongo/reply.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  while (!in.empty()) {
    int32_t to = 0;
    std::string_view doc;
    size_t n = spiker::mongo::parse_op_msg(in, &to, &doc);
    if (n == 0 || n == SIZE_MAX) break;
    spiker::mongo::Reply r;
    spiker::mongo::read_reply(doc, true, true, false, &r);
    spiker::mongo::read_reply(doc, true, false, true, &r);
    in.remove_prefix(n);
  }
  // The bytes as a bare document too: libbson's reading of any document.
  spiker::mongo::Reply r;
  spiker::mongo::read_reply(std::string_view(reinterpret_cast<const char*>(data), size), true,
                            false, true, &r);
  return 0;
}
