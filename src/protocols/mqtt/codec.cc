#include "protocols/mqtt/codec.h"

namespace spiker::mqtt {

void put_u16(std::string& out, size_t v) {
  out.push_back(static_cast<char>((v >> 8) & 0xff));
  out.push_back(static_cast<char>(v & 0xff));
}

void put_str(std::string& out, std::string_view s) {
  put_u16(out, s.size());
  out.append(s);
}

void put_varint(std::string& out, size_t v) {
  do {
    auto b = static_cast<unsigned char>(v % 128);
    v /= 128;
    if (v > 0) b |= 0x80;
    out.push_back(static_cast<char>(b));
  } while (v > 0);
}

void put_packet(std::string& out, uint8_t first, std::string_view body) {
  out.push_back(static_cast<char>(first));
  put_varint(out, body.size());
  out.append(body);
}

uint16_t get_u16(std::string_view s, size_t at) {
  return static_cast<uint16_t>((static_cast<unsigned char>(s[at]) << 8) |
                               static_cast<unsigned char>(s[at + 1]));
}

size_t parse_packet(std::string_view in, uint8_t* first, std::string_view* body) {
  if (in.size() < 2) return 0;
  size_t len = 0, mult = 1, i = 1;
  for (;; ++i) {
    if (i >= in.size()) return 0;
    if (i > 4) return SIZE_MAX;
    auto b = static_cast<unsigned char>(in[i]);
    len += (b & 0x7f) * mult;
    mult *= 128;
    if ((b & 0x80) == 0) break;
  }
  if (len > kMaxPacket) return SIZE_MAX;
  size_t total = i + 1 + len;
  if (in.size() < total) return 0;
  *first = static_cast<uint8_t>(in[0]);
  *body = in.substr(i + 1, len);
  return total;
}

bool skip_properties(std::string_view body, size_t* at) {
  size_t props = 0, mult = 1;
  for (int i = 0;; ++i) {
    if (i == 4 || *at >= body.size()) return false;
    auto b = static_cast<unsigned char>(body[(*at)++]);
    props += (b & 0x7f) * mult;
    mult *= 128;
    if ((b & 0x80) == 0) break;
  }
  if (props > body.size() - *at) return false;
  *at += props;
  return true;
}

bool parse_publish(uint8_t first, std::string_view body, bool v5, Publish* out) {
  out->qos = (first >> 1) & 3;
  if (out->qos == 3 || body.size() < 2) return false;
  size_t tlen = get_u16(body, 0);
  if (2 + tlen > body.size()) return false;
  out->topic = body.substr(2, tlen);
  size_t at = 2 + tlen;
  out->id = 0;
  if (out->qos > 0) {
    if (at + 2 > body.size()) return false;
    out->id = get_u16(body, at);
    at += 2;
  }
  if (v5 && !skip_properties(body, &at)) return false;
  out->payload = body.substr(at);
  return true;
}

}  // namespace spiker::mqtt
