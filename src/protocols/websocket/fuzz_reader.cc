// libFuzzer: the WebSocket frame reader (client side: server frames), any bytes in any pieces.
#include <cstdint>
#include <string_view>

#include "protocols/websocket/codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  spiker::websocket::Reader reader(false, 1u << 20);
  const char* p = reinterpret_cast<const char*>(data);
  size_t step = size == 0 ? 1 : 1 + data[0] % 64;  // feed in pieces the input picks
  for (size_t at = 0; at < size; at += step) {
    reader.append(p + at, std::min(step, size - at));
    for (;;) {
      spiker::websocket::Event e = reader.next();
      if (e.kind == spiker::websocket::Event::kNone) break;
      if (e.kind == spiker::websocket::Event::kError) return 0;
      if (e.kind == spiker::websocket::Event::kMessage &&
          e.opcode == spiker::websocket::Opcode::kText) {
        (void)spiker::websocket::valid_utf8(e.payload);
      }
    }
  }
  return 0;
}
