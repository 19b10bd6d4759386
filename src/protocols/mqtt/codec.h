// MQTT's wire format (3.1.1 and 5): big-endian 16-bit integers, length-prefixed strings,
// variable-byte integers and packets (a first byte, the remaining length, the body).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace spiker::mqtt {

inline constexpr size_t kMaxPacket = 16u << 20;  // a larger packet is refused

void put_u16(std::string& out, size_t v);
void put_str(std::string& out, std::string_view s);
void put_varint(std::string& out, size_t v);
// One packet: its fixed header's first byte, then the remaining length and `body`.
void put_packet(std::string& out, uint8_t first, std::string_view body);
uint16_t get_u16(std::string_view s, size_t at);
// The packet at the start of `in`: its length (0: incomplete; SIZE_MAX: malformed), first byte
// and body.
size_t parse_packet(std::string_view in, uint8_t* first, std::string_view* body);
// MQTT 5: moves `*at` past the properties (their length, a variable-byte integer of at most 4
// bytes, then themselves) at `*at`; false when they run past the body.
bool skip_properties(std::string_view body, size_t* at);

// A PUBLISH from the broker: QoS, packet id (QoS 1 and 2), topic and payload (views into the
// body). False when the body is too short for what its header says.
struct Publish {
  uint8_t qos = 0;
  uint16_t id = 0;
  std::string_view topic, payload;
};
bool parse_publish(uint8_t first, std::string_view body, bool v5, Publish* out);

}  // namespace spiker::mqtt
