// libFuzzer: the HTTP/1.1 response parser, fed bytes whole and split at an offset the input
// picks. Both must frame the same way (one grammar for both paths), and neither may crash.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "protocols/http1/response_parser.h"

namespace {

struct Framing {
  spiker::http1::ParseStatus status;
  int code;
  uint64_t body;
  bool keep_alive;
};

Framing parse(std::string_view wire, size_t cut) {
  spiker::http1::ResponseParser p;
  p.start(false);
  size_t at = 0;
  for (size_t bound : {cut, wire.size()}) {
    while (at < bound) {
      size_t used = 0;
      spiker::http1::ParseStatus s = p.feed(wire.data() + at, bound - at, &used);
      at += used;
      if (s != spiker::http1::ParseStatus::kNeedMore) {
        return {s, p.status(), p.body_bytes(),
                s == spiker::http1::ParseStatus::kComplete && p.keep_alive()};
      }
      if (used == 0) break;
    }
  }
  spiker::http1::ParseStatus s = p.finish_eof();
  return {s, p.status(), p.body_bytes(), false};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::string_view wire(reinterpret_cast<const char*>(data + 1), size - 1);
  size_t cut = wire.empty() ? 0 : data[0] % (wire.size() + 1);
  Framing whole = parse(wire, wire.size());
  Framing split = parse(wire, cut);
  if (whole.status != split.status || (whole.status == spiker::http1::ParseStatus::kComplete &&
                                       (whole.code != split.code || whole.body != split.body ||
                                        whole.keep_alive != split.keep_alive))) {
    std::abort();  // the two paths framed the same bytes differently
  }
  return 0;
}
