// WebSocket (RFC 6455) framing shared by the client engine and the embedded target: the
// handshake's accept key, frames out (masked from clients), and a reader that validates what
// comes in and reassembles fragmented messages.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace spiker::websocket {

enum class Opcode : uint8_t {
  kContinuation = 0x0,
  kText = 0x1,
  kBinary = 0x2,
  kClose = 0x8,
  kPing = 0x9,
  kPong = 0xA,
};

// Close codes we send.
inline constexpr uint16_t kCloseNormal = 1000;
inline constexpr uint16_t kCloseGoingAway = 1001;
inline constexpr uint16_t kCloseProtocolError = 1002;
inline constexpr uint16_t kCloseInvalidData = 1007;
inline constexpr uint16_t kCloseTooBig = 1009;

// Sec-WebSocket-Accept for a Sec-WebSocket-Key.
std::string accept_key(std::string_view key);
// A fresh Sec-WebSocket-Key: 16 random bytes, base64.
std::string new_key(uint64_t random_a, uint64_t random_b);

// Appends one frame. With `mask` (4 bytes), the payload is masked, as clients must.
void append_frame(std::string& out, Opcode op, std::string_view payload, bool fin = true,
                  const uint8_t* mask = nullptr);
// Appends a close frame with `code` (0: no code) and a reason.
void append_close(std::string& out, uint16_t code, std::string_view reason,
                  const uint8_t* mask = nullptr);

// What the reader found.
struct Event {
  enum Kind : uint8_t {
    kNone,     // needs more bytes
    kMessage,  // a complete text or binary message (fragments joined)
    kPing,
    kPong,
    kClose,  // the peer's close frame: close_code (1005 when it gave none) and payload
    kError,  // a protocol violation: `error` says which; the connection must be closed
  };
  Kind kind = kNone;
  Opcode opcode = Opcode::kText;  // of a message
  uint16_t close_code = 0;
  std::string_view payload;  // valid until the next call
  const char* error = "";
};

// Reads frames from one direction of a connection. Feed bytes with append(), then call next()
// until it returns kNone. Messages above `max_message` bytes are an error.
class Reader {
 public:
  // `masked`: frames must be masked (a server reading a client) or must not be (a client).
  explicit Reader(bool masked, size_t max_message = 16u << 20)
      : masked_(masked), max_message_(max_message) {}
  void append(const char* data, size_t len) { buf_.append(data, len); }
  Event next();
  // Bytes received but not yet read as frames.
  size_t buffered() const { return buf_.size() - off_; }

 private:
  Event error(const char* what);
  bool masked_;
  size_t max_message_;
  std::string buf_;
  size_t off_ = 0;
  std::string message_;  // fragments so far, or the last unmasked payload
  std::string control_;  // the last control frame's payload
  bool fragmented_ = false;
  Opcode message_op_ = Opcode::kText;
  bool failed_ = false;
};

// True when `s` is valid UTF-8 (text messages and close reasons must be).
bool valid_utf8(std::string_view s);

}  // namespace spiker::websocket
