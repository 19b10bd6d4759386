// Fuzzes what an AMQP 0-9-1 client reads from a broker: frames (type, channel, size up to
// kMaxFrame, the end octet), and method arguments read as the session reads the methods it
// handles (connection.start/tune/close, channel.close, queue.declare-ok, basic.deliver,
// basic.ack/nack, content headers). Refusals are fine; crashes are not.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "protocols/amqp/codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace spiker::amqp;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  while (!in.empty()) {
    uint8_t type = 0;
    uint16_t channel = 0;
    std::string_view payload;
    size_t n = parse_frame(in, &type, &channel, &payload);
    if (n == 0 || n == SIZE_MAX) break;
    Reader rd(payload);
    if (type == kFrameMethod) {
      uint32_t key = static_cast<uint32_t>(rd.u16()) << 16;
      key |= rd.u16();
      switch (key) {
        case (10u << 16) | 10:  // connection.start
          rd.u8(), rd.u8(), rd.skip_table(), rd.longstr(), rd.longstr();
          break;
        case (10u << 16) | 30:  // connection.tune
          rd.u16(), rd.u32(), rd.u16();
          break;
        case (10u << 16) | 50:  // connection.close
        case (20u << 16) | 40:  // channel.close
          rd.u16(), rd.shortstr(), rd.u16(), rd.u16();
          break;
        case (50u << 16) | 11:  // queue.declare-ok
          rd.shortstr(), rd.u32(), rd.u32();
          break;
        case (60u << 16) | 60:  // basic.deliver
          rd.shortstr(), rd.u64(), rd.u8(), rd.shortstr(), rd.shortstr();
          break;
        case (60u << 16) | 80:   // basic.ack
        case (60u << 16) | 120:  // basic.nack
          rd.u64(), rd.u8();
          break;
        default:
          while (rd.ok() && !rd.shortstr().empty()) {
          }
      }
    } else if (type == kFrameHeader) {
      rd.u16(), rd.u16(), rd.u64(), rd.u16();
    }
    (void)rd.ok();
    in.remove_prefix(n);
  }
  return 0;
}
