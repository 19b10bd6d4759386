// gRPC's wire pieces shared by the session and the reflection client: length-prefixed messages
// (RFC-less "Length-Prefixed-Message": a compressed flag, a 4-byte big-endian length, the
// bytes), status codes and their names, grpc-timeout, gzip, and the few
// protobuf wire primitives reflection needs.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace spiker::grpc {

inline constexpr int kStatusCount = 17;  // OK .. UNAUTHENTICATED
// "OK", "CANCELLED", ... by code; "UNKNOWN" outside 0..16.
std::string_view status_name(int code);
// The status a call gets from an HTTP status other than 200 (the gRPC spec's mapping).
int status_from_http(int http_status);

// Appends one message to `out`, its flag set when `compressed`.
void frame(std::string_view message, bool compressed, std::string* out);
// Splits `body` into messages; false when it ends inside one or a length is absurd.
struct Frame {
  bool compressed = false;
  std::string_view bytes;
};
bool unframe(std::string_view body, std::vector<Frame>* out);

// Counts messages as a reply streams in, piece by piece.
class FrameCounter {
 public:
  // Feeds a piece; returns how many messages it completed.
  uint32_t feed(std::string_view piece) noexcept;
  void reset() noexcept { have_ = 0, need_ = 0; }

 private:
  uint8_t head_[5] = {};
  uint8_t have_ = 0;   // head bytes gathered
  uint64_t need_ = 0;  // message bytes still to come
};

// grpc-timeout's value for a deadline: "250m", "3S" (at most 8 digits, as the spec asks).
std::string timeout_header(int64_t ns);
// gzip (RFC 1952) with zlib; false when the bytes are not gzip or inflate to over `limit`.
bool gunzip(std::string_view in, size_t limit, std::string* out);
bool gzip(std::string_view in, std::string* out);

// Protobuf wire primitives (reflection's messages are built and read by hand).
void put_string_field(uint32_t field, std::string_view value, std::string* out);
// Calls `each(field, wire_type, bytes)` for length-delimited fields and varints (bytes empty,
// value in `varint`); false on malformed input.
struct Field {
  uint32_t number = 0;
  uint32_t wire_type = 0;
  uint64_t varint = 0;
  std::string_view bytes;
};
bool read_fields(std::string_view message, std::vector<Field>* out);

}  // namespace spiker::grpc
