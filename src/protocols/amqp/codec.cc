#include "protocols/amqp/codec.h"

#include <algorithm>

namespace spiker::amqp {

Args& Args::u8(uint8_t v) {
  b_.push_back(static_cast<char>(v));
  return *this;
}

Args& Args::u16(uint16_t v) { return u8(static_cast<uint8_t>(v >> 8)).u8(static_cast<uint8_t>(v)); }

Args& Args::u32(uint32_t v) {
  return u16(static_cast<uint16_t>(v >> 16)).u16(static_cast<uint16_t>(v));
}

Args& Args::u64(uint64_t v) {
  return u32(static_cast<uint32_t>(v >> 32)).u32(static_cast<uint32_t>(v));
}

Args& Args::shortstr(std::string_view s) {
  s = s.substr(0, 255);
  u8(static_cast<uint8_t>(s.size()));
  b_.append(s);
  return *this;
}

Args& Args::longstr(std::string_view s) {
  u32(static_cast<uint32_t>(s.size()));
  b_.append(s);
  return *this;
}

Args& Args::bits(bool a, bool b, bool c, bool d, bool e) {
  return u8(
      static_cast<uint8_t>((a ? 1 : 0) | (b ? 2 : 0) | (c ? 4 : 0) | (d ? 8 : 0) | (e ? 16 : 0)));
}

void put_frame(std::string& out, uint8_t type, uint16_t channel, std::string_view payload) {
  auto n = static_cast<uint32_t>(payload.size());
  char head[7] = {static_cast<char>(type),    static_cast<char>(channel >> 8),
                  static_cast<char>(channel), static_cast<char>(n >> 24),
                  static_cast<char>(n >> 16), static_cast<char>(n >> 8),
                  static_cast<char>(n)};
  out.append(head, 7);
  out.append(payload);
  out.push_back(static_cast<char>(kFrameEnd));
}

void put_content(std::string& out, uint16_t channel, std::string_view body, bool persistent,
                 uint32_t frame_max) {
  Args h(60, 0);  // class 60, weight 0
  h.u64(body.size());
  if (persistent) {
    h.u16(0x1000);  // delivery-mode present
    h.u8(2);
  } else {
    h.u16(0);
  }
  put_frame(out, kFrameHeader, channel, h.bytes());
  size_t chunk = frame_max > 8 ? frame_max - 8 : 4096;
  for (size_t at = 0; at < body.size(); at += chunk) {
    put_frame(out, kFrameBody, channel, body.substr(at, std::min(chunk, body.size() - at)));
  }
}

size_t parse_frame(std::string_view in, uint8_t* type, uint16_t* channel,
                   std::string_view* payload) {
  if (in.size() < 7) return 0;
  auto b = [&](size_t i) { return static_cast<uint32_t>(static_cast<uint8_t>(in[i])); };
  uint32_t n = b(3) << 24 | b(4) << 16 | b(5) << 8 | b(6);
  if (n > kMaxFrame) return SIZE_MAX;
  if (in.size() < 8 + static_cast<size_t>(n)) return 0;
  if (static_cast<uint8_t>(in[7 + n]) != kFrameEnd) return SIZE_MAX;
  *type = static_cast<uint8_t>(in[0]);
  *channel = static_cast<uint16_t>(b(1) << 8 | b(2));
  *payload = in.substr(7, n);
  return 8 + static_cast<size_t>(n);
}

std::string_view Reader::take(size_t n) {
  if (!ok_ || s_.size() - at_ < n) {
    ok_ = false;
    return {};
  }
  std::string_view v = s_.substr(at_, n);
  at_ += n;
  return v;
}

uint8_t Reader::u8() {
  std::string_view v = take(1);
  return v.empty() ? 0 : static_cast<uint8_t>(v[0]);
}

// Each half read before the next (the operands of | have no order of their own).
uint16_t Reader::u16() {
  uint16_t hi = u8();
  return static_cast<uint16_t>(hi << 8 | u8());
}

uint32_t Reader::u32() {
  uint32_t hi = u16();
  return hi << 16 | u16();
}

uint64_t Reader::u64() {
  uint64_t hi = u32();
  return hi << 32 | u32();
}

std::string_view Reader::shortstr() { return take(u8()); }

std::string_view Reader::longstr() { return take(u32()); }

}  // namespace spiker::amqp
