// Fuzzes what an MQTT client reads from a broker: packets (remaining lengths up to 4 bytes,
// kMaxPacket), PUBLISH bodies as the session takes them apart (topic, packet id, MQTT 5
// properties, payload) and the acknowledgements' fields. Refusals are fine; crashes are not.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "protocols/mqtt/codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace spiker::mqtt;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  while (!in.empty()) {
    uint8_t first = 0;
    std::string_view body;
    size_t n = parse_packet(in, &first, &body);
    if (n == 0 || n == SIZE_MAX) break;
    switch (first >> 4) {
      case 3: {  // PUBLISH, read as MQTT 3.1.1 and as MQTT 5
        Publish p;
        parse_publish(first, body, false, &p);
        parse_publish(first, body, true, &p);
        break;
      }
      case 4:
      case 5:
      case 6:
      case 7:  // PUBACK, PUBREC, PUBREL, PUBCOMP: a packet id, then (5) a reason code
        if (body.size() >= 2) (void)get_u16(body, 0);
        break;
      case 9: {  // SUBACK with MQTT 5 properties
        size_t at = 2;
        if (body.size() >= 3) skip_properties(body, &at);
        break;
      }
      default:
        break;
    }
    in.remove_prefix(n);
  }
  return 0;
}
