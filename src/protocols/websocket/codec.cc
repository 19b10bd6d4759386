#include "protocols/websocket/codec.h"

#include <openssl/sha.h>

#include <cstring>

#include "core/base64.h"

namespace spiker::websocket {
namespace {

constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

void unmask(char* p, size_t n, const uint8_t* key) {
  for (size_t i = 0; i < n; ++i) p[i] = static_cast<char>(p[i] ^ key[i & 3]);
}

bool is_control(uint8_t op) { return (op & 0x8) != 0; }

bool valid_close_code(uint16_t c) {
  if (c >= 3000 && c <= 4999) return true;
  switch (c) {
    case 1000:
    case 1001:
    case 1002:
    case 1003:
    case 1007:
    case 1008:
    case 1009:
    case 1010:
    case 1011:
    case 1012:
    case 1013:
    case 1014:
      return true;
    default:
      return false;
  }
}

}  // namespace

std::string accept_key(std::string_view key) {
  std::string text(key);
  text += kGuid;
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  return base64_encode(std::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

std::string new_key(uint64_t a, uint64_t b) {
  char raw[16];
  std::memcpy(raw, &a, 8);
  std::memcpy(raw + 8, &b, 8);
  return base64_encode(std::string_view(raw, 16));
}

void append_frame(std::string& out, Opcode op, std::string_view payload, bool fin,
                  const uint8_t* mask) {
  out += static_cast<char>((fin ? 0x80 : 0) | static_cast<uint8_t>(op));
  uint8_t m = mask != nullptr ? 0x80 : 0;
  size_t n = payload.size();
  if (n < 126) {
    out += static_cast<char>(m | n);
  } else if (n <= 0xFFFF) {
    out += static_cast<char>(m | 126);
    out += static_cast<char>(n >> 8);
    out += static_cast<char>(n & 0xFF);
  } else {
    out += static_cast<char>(m | 127);
    for (int i = 7; i >= 0; --i) out += static_cast<char>((n >> (8 * i)) & 0xFF);
  }
  if (mask == nullptr) {
    out += payload;
    return;
  }
  out.append(reinterpret_cast<const char*>(mask), 4);
  size_t at = out.size();
  out += payload;
  unmask(out.data() + at, n, mask);  // the same XOR masks
}

void append_close(std::string& out, uint16_t code, std::string_view reason, const uint8_t* mask) {
  std::string payload;
  if (code != 0) {
    payload += static_cast<char>(code >> 8);
    payload += static_cast<char>(code & 0xFF);
    payload += reason.substr(0, 123);
  }
  append_frame(out, Opcode::kClose, payload, true, mask);
}

Event Reader::error(const char* what) {
  failed_ = true;
  Event e;
  e.kind = Event::kError;
  e.error = what;
  return e;
}

Event Reader::next() {
  if (failed_) return error("after an earlier error");
  for (;;) {
    if (off_ > 0 && (off_ == buf_.size() || off_ > 64 * 1024)) {
      buf_.erase(0, off_);
      off_ = 0;
    }
    size_t avail = buf_.size() - off_;
    if (avail < 2) return {};
    const auto* h = reinterpret_cast<const uint8_t*>(buf_.data() + off_);
    bool fin = (h[0] & 0x80) != 0;
    uint8_t op = h[0] & 0x0F;
    if ((h[0] & 0x70) != 0) return error("reserved bits set (no extension was negotiated)");
    bool masked = (h[1] & 0x80) != 0;
    if (masked != masked_) {
      return error(masked_ ? "unmasked frame from a client" : "masked frame from a server");
    }
    uint64_t len = h[1] & 0x7F;
    size_t head = 2;
    if (len == 126) {
      if (avail < 4) return {};
      len = (uint64_t{h[2]} << 8) | h[3];
      head = 4;
      if (len < 126) return error("length not in its shortest form");
    } else if (len == 127) {
      if (avail < 10) return {};
      len = 0;
      for (int i = 0; i < 8; ++i) len = (len << 8) | h[2 + i];
      head = 10;
      if ((len >> 63) != 0) return error("64-bit length with the top bit set");
      if (len <= 0xFFFF) return error("length not in its shortest form");
    }
    if (is_control(op)) {
      if (!fin) return error("fragmented control frame");
      if (len > 125) return error("control frame over 125 bytes");
    }
    if (len > max_message_) return error("frame larger than the message limit");
    size_t mask_at = head;
    if (masked) head += 4;
    if (avail < head + len) return {};
    char* payload = buf_.data() + off_ + head;
    if (masked) unmask(payload, len, h + mask_at);
    std::string_view data(payload, len);
    off_ += head + len;
    Event e;
    switch (op) {
      case 0x0:  // continuation
        if (!fragmented_) return error("continuation frame with no message to continue");
        if (message_.size() + len > max_message_) return error("message over the size limit");
        message_.append(data);
        if (!fin) continue;
        fragmented_ = false;
        e.kind = Event::kMessage;
        e.opcode = message_op_;
        e.payload = message_;
        break;
      case 0x1:
      case 0x2:
        if (fragmented_) return error("new message inside a fragmented one");
        if (!fin) {
          fragmented_ = true;
          message_op_ = static_cast<Opcode>(op);
          message_.assign(data);
          continue;
        }
        e.kind = Event::kMessage;
        e.opcode = static_cast<Opcode>(op);
        e.payload = data;
        break;
      case 0x8:
        e.kind = Event::kClose;
        e.close_code = 1005;
        if (len == 1) return error("close frame with a 1-byte payload");
        if (len >= 2) {
          e.close_code = static_cast<uint16_t>((static_cast<uint8_t>(data[0]) << 8) |
                                               static_cast<uint8_t>(data[1]));
          if (!valid_close_code(e.close_code)) return error("invalid close code");
          if (!valid_utf8(data.substr(2))) return error("close reason is not UTF-8");
        }
        control_.assign(data);
        e.payload = control_;
        return e;
      case 0x9:
      case 0xA:
        e.kind = op == 0x9 ? Event::kPing : Event::kPong;
        control_.assign(data);
        e.payload = control_;
        return e;
      default:
        return error("unknown opcode");
    }
    if (e.opcode == Opcode::kText && !valid_utf8(e.payload)) {
      return error("text message is not UTF-8");
    }
    return e;
  }
}

bool valid_utf8(std::string_view s) {
  size_t i = 0;
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  size_t n = s.size();
  while (i < n) {
    uint8_t c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t extra;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      extra = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + extra >= n) return false;
    for (size_t k = 1; k <= extra; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    if ((extra == 1 && cp < 0x80) || (extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += extra + 1;
  }
  return true;
}

}  // namespace spiker::websocket
