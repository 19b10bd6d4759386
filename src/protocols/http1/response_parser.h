// Incremental HTTP/1.1 response parser. Keeps only its state between calls (no buffering):
// responses may be split at any byte. Handles Content-Length, chunked (with extensions and
// trailers), close-delimited bodies, HEAD, 1xx, 204 and 304, and stops exactly at the end of a
// response so pipelined leftovers go to the next one. Body bytes are counted and discarded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "metrics/error_kind.h"

namespace spiker::http1 {

enum class ParseStatus : uint8_t { kNeedMore, kComplete, kError };

class ResponseParser {
 public:
  // The longest response head (status line + headers) accepted.
  static constexpr uint32_t kMaxHeadBytes = 64 * 1024;

  // Readies the parser for the response to a new request (`head`: the request was HEAD).
  void start(bool head) noexcept;
  // Consumes bytes; `*consumed` is how many belong to this response. kNeedMore means all were
  // consumed and more are needed; kComplete means the response ended at data + *consumed.
  ParseStatus feed(const char* data, size_t len, size_t* consumed) noexcept;
  // The peer closed the connection: completes a close-delimited body, else kError.
  ParseStatus finish_eof() noexcept;

  int status() const noexcept { return status_; }
  // True when the connection may carry another request after this response.
  bool keep_alive() const noexcept { return keep_alive_; }
  uint64_t body_bytes() const noexcept { return body_bytes_; }
  // True once any byte of the response was seen.
  bool started() const noexcept { return state_ != State::kStatusLine || pos_ != 0; }
  // Why the last kError happened.
  metrics::ErrorKind error_kind() const noexcept { return error_kind_; }

 private:
  enum class State : uint8_t {
    kStatusLine,
    kStatusRest,
    kHeaderStart,
    kHeaderName,
    kHeaderNameOther,
    kHeaderValue,
    kHeaderValueCr,  // a CR in a framing header's value: the line ends only with LF next
    kHeaderSkip,
    kHeadEndLf,
    kBody,
    kChunkSize,
    kChunkExt,
    kChunkSizeLf,
    kChunkData,
    kChunkDataCr,
    kChunkDataLf,
    kTrailerStart,
    kTrailerSkip,
    kTrailerEndLf,
    kCloseBody,
    kDone,
  };
  ParseStatus fail(metrics::ErrorKind kind) noexcept;
  // Parses a whole response head found in one piece, line by line with memchr (the common
  // case). Returns the bytes it used, 0 when the head is not complete in [data, data + len)
  // (the byte-wise states then take over), or SIZE_MAX on malformed input.
  size_t parse_head_at_once(const char* data, size_t len) noexcept;
  enum class Header : uint8_t { kOther, kContentLength, kTransferEncoding, kConnection };
  static Header classify(std::string_view name) noexcept;
  // Applies a framing header's value; false when malformed.
  bool known_value(Header h, std::string_view value) noexcept;
  // Returns kComplete, kNeedMore (continue parsing) or kError.
  ParseStatus on_head_done() noexcept;
  bool status_line_byte(char c) noexcept;
  bool header_name_byte(char c) noexcept;
  bool header_value_byte(char c) noexcept;
  void header_value_token_end() noexcept;
  bool header_line_end() noexcept;
  void reset_response() noexcept;

  State state_ = State::kStatusLine;
  Header header_ = Header::kOther;
  metrics::ErrorKind error_kind_ = metrics::ErrorKind::kHttp;
  bool head_ = false;
  bool http10_ = false;
  bool keep_alive_ = true;
  bool has_length_ = false;
  bool has_te_ = false;
  bool chunked_ = false;
  bool conn_close_ = false;
  bool conn_keep_alive_ = false;
  bool value_digits_ = false;    // digits (Content-Length) or a token's chars seen
  bool value_ended_ = false;     // whitespace after them
  uint8_t name_candidates_ = 0;  // bit per known header name still matching
  int8_t token_pos_ = 0;         // chars of the current value token matched (-1: differs)
  int8_t token_pos2_ = 0;        // same, for the second word (Connection: keep-alive)
  uint16_t pos_ = 0;             // position in the status line or header name
  int status_ = 0;
  uint32_t head_bytes_ = 0;
  uint64_t length_ = 0;     // Content-Length value being parsed
  uint64_t remaining_ = 0;  // body or chunk bytes still to come
  uint64_t body_bytes_ = 0;
};

}  // namespace spiker::http1
