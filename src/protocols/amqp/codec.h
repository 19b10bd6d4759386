// AMQP 0-9-1's wire format: frames (type, channel, size, payload, 0xCE), methods (class and
// method ids, then arguments: octets, big-endian shorts/longs/long-longs, short and long
// strings, packed bits, field tables), content headers and bodies.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace spiker::amqp {

inline constexpr std::string_view kProtocolHeader{"AMQP\x00\x00\x09\x01", 8};
inline constexpr uint8_t kFrameMethod = 1, kFrameHeader = 2, kFrameBody = 3, kFrameHeartbeat = 8;
inline constexpr uint8_t kFrameEnd = 0xce;
inline constexpr uint32_t kMaxFrame = 1u << 20;  // a larger frame is refused

// A method's arguments as they are written.
class Args {
 public:
  explicit Args(uint16_t class_id, uint16_t method_id) {
    u16(class_id);
    u16(method_id);
  }
  Args& u8(uint8_t v);
  Args& u16(uint16_t v);
  Args& u32(uint32_t v);
  Args& u64(uint64_t v);
  Args& shortstr(std::string_view s);  // at most 255 bytes (longer is cut)
  Args& longstr(std::string_view s);
  Args& bits(bool a, bool b = false, bool c = false, bool d = false, bool e = false);
  Args& empty_table() { return u32(0); }
  const std::string& bytes() const { return b_; }

 private:
  std::string b_;
};

// Appends one frame.
void put_frame(std::string& out, uint8_t type, uint16_t channel, std::string_view payload);
// A content header (class 60) for a body of `size` bytes, with delivery mode 2 when
// `persistent`.
void put_content(std::string& out, uint16_t channel, std::string_view body, bool persistent,
                 uint32_t frame_max);

// The frame at the start of `in`: its length (0: incomplete; SIZE_MAX: malformed), type,
// channel and payload.
size_t parse_frame(std::string_view in, uint8_t* type, uint16_t* channel,
                   std::string_view* payload);

// Reading a method's arguments in order; `ok()` false once something ran past the end.
class Reader {
 public:
  explicit Reader(std::string_view s) : s_(s) {}
  uint8_t u8();
  uint16_t u16();
  uint32_t u32();
  uint64_t u64();
  std::string_view shortstr();
  std::string_view longstr();
  void skip_table() { longstr(); }
  bool ok() const { return ok_; }

 private:
  std::string_view take(size_t n);
  std::string_view s_;
  size_t at_ = 0;
  bool ok_ = true;
};

}  // namespace spiker::amqp
