#include "protocols/http1/response_parser.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <string_view>

#include "protocols/http1/parser_chars.h"

namespace spiker::http1 {
namespace {

using metrics::ErrorKind;
using namespace chars;

// Moves *i past the next '\n' and returns true, or to `len` (the line goes on) and false.
inline bool skip_line(const char* data, size_t len, size_t* i) noexcept {
  const void* nl = std::memchr(data + *i, '\n', len - *i);
  if (nl == nullptr) {
    *i = len;
    return false;
  }
  *i = static_cast<size_t>(static_cast<const char*>(nl) - data) + 1;
  return true;
}

// Advances a token match of `word` by one lower-cased char.
inline void match(int8_t& pos, std::string_view word, char c) noexcept {
  if (pos >= 0 && static_cast<size_t>(pos) < word.size() && word[static_cast<size_t>(pos)] == c) {
    ++pos;
  } else {
    pos = -1;
  }
}

}  // namespace

void ResponseParser::start(bool head) noexcept {
  head_ = head;
  body_bytes_ = 0;
  head_bytes_ = 0;
  reset_response();
}

void ResponseParser::reset_response() noexcept {
  state_ = State::kStatusLine;
  pos_ = 0;
  status_ = 0;
  http10_ = false;
  keep_alive_ = true;
  has_length_ = has_te_ = chunked_ = conn_close_ = conn_keep_alive_ = false;
  length_ = remaining_ = 0;
}

ParseStatus ResponseParser::fail(ErrorKind kind) noexcept {
  error_kind_ = kind;
  state_ = State::kDone;
  keep_alive_ = false;
  return ParseStatus::kError;
}

bool ResponseParser::status_line_byte(char c) noexcept {
  static constexpr std::string_view kPrefix = "HTTP/1.";
  if (pos_ < kPrefix.size()) {
    if (c != kPrefix[pos_]) return false;
  } else if (pos_ == 7) {
    if (!is_digit(c)) return false;
    http10_ = c == '0';
  } else if (pos_ == 8) {
    if (c != ' ') return false;
  } else if (pos_ <= 11) {
    if (!is_digit(c)) return false;
    status_ = status_ * 10 + (c - '0');
  } else {  // pos_ == 12: reason phrase, or the end of the line
    if (status_ < 100) return false;
    if (c == ' ') {
      state_ = State::kStatusRest;
    } else if (c == '\r') {
      state_ = State::kStatusRest;
    } else if (c == '\n') {
      state_ = State::kHeaderStart;
    } else {
      return false;
    }
  }
  ++pos_;
  return true;
}

bool ResponseParser::header_name_byte(char c) noexcept {
  if (c == ':') {
    if (pos_ == 0) return false;  // an empty name
    header_ = Header::kOther;
    for (uint8_t h = 1; h < 4; ++h) {
      if ((name_candidates_ & (1u << h)) && kHeaderNames[h].size() == pos_) {
        header_ = static_cast<Header>(h);
      }
    }
    if (header_ == Header::kOther) {
      state_ = State::kHeaderSkip;
    } else {
      state_ = State::kHeaderValue;
      token_pos_ = token_pos2_ = 0;
      value_digits_ = value_ended_ = false;
      length_ = 0;
    }
    return true;
  }
  if (!is_token(c)) return false;
  c = lower(c);
  for (uint8_t h = 1; h < 4; ++h) {
    if ((name_candidates_ & (1u << h)) &&
        (pos_ >= kHeaderNames[h].size() || kHeaderNames[h][pos_] != c)) {
      name_candidates_ &= static_cast<uint8_t>(~(1u << h));
    }
  }
  ++pos_;
  if (name_candidates_ == 0) state_ = State::kHeaderNameOther;
  return true;
}

void ResponseParser::header_value_token_end() noexcept {
  if (header_ == Header::kTransferEncoding) {
    chunked_ = token_pos_ == 7;  // only the last coding counts
  } else if (header_ == Header::kConnection) {
    if (token_pos_ == 5) conn_close_ = true;
    if (token_pos2_ == 10) conn_keep_alive_ = true;
  }
  token_pos_ = token_pos2_ = 0;
}

bool ResponseParser::header_value_byte(char c) noexcept {
  if (header_ == Header::kContentLength) {
    if (is_digit(c) && !value_ended_) {
      if (length_ > (UINT64_MAX - 9) / 10) return false;
      length_ = length_ * 10 + static_cast<uint64_t>(c - '0');
      value_digits_ = true;
      return true;
    }
    if (is_ws(c)) {
      value_ended_ = value_digits_;
      return true;
    }
    return false;
  }
  // Tokens as the whole-head path reads them: whitespace around a token is skipped, whitespace
  // inside one makes it another word ("chun ked" is not "chunked").
  if (is_ws(c)) {
    value_ended_ = value_digits_;
    return true;
  }
  if (c == ',') {
    header_value_token_end();
    value_digits_ = value_ended_ = false;
    return true;
  }
  if (value_ended_) token_pos_ = token_pos2_ = -1;
  value_digits_ = true;
  c = lower(c);
  if (header_ == Header::kTransferEncoding) {
    match(token_pos_, "chunked", c);
  } else {
    match(token_pos_, "close", c);
    match(token_pos2_, "keep-alive", c);
  }
  return true;
}

// The end of a known header's line.
bool ResponseParser::header_line_end() noexcept {
  if (header_ == Header::kContentLength) {
    if (!value_digits_) return false;
    if (has_length_ && length_ != remaining_) return false;  // conflicting lengths
    has_length_ = true;
    remaining_ = length_;
  } else {
    header_value_token_end();
    if (header_ == Header::kTransferEncoding) has_te_ = true;
  }
  return true;
}

ParseStatus ResponseParser::on_head_done() noexcept {
  keep_alive_ = http10_ ? conn_keep_alive_ && !conn_close_ : !conn_close_;
  if (status_ < 200 && status_ != 101) {  // informational: the real response follows
    bool head = head_;
    reset_response();
    head_ = head;
    return ParseStatus::kNeedMore;
  }
  if (status_ == 101) keep_alive_ = false;  // a protocol switch we do not speak
  if (head_ || status_ == 204 || status_ == 304 || status_ == 101) {
    state_ = State::kDone;
    return ParseStatus::kComplete;
  }
  if (has_te_) {
    if (chunked_) {
      state_ = State::kChunkSize;
      remaining_ = 0;
      pos_ = 0;
      return ParseStatus::kNeedMore;
    }
    keep_alive_ = false;
    state_ = State::kCloseBody;
    return ParseStatus::kNeedMore;
  }
  if (has_length_) {
    if (remaining_ == 0) {
      state_ = State::kDone;
      return ParseStatus::kComplete;
    }
    state_ = State::kBody;
    return ParseStatus::kNeedMore;
  }
  keep_alive_ = false;
  state_ = State::kCloseBody;
  return ParseStatus::kNeedMore;
}

ParseStatus ResponseParser::feed(const char* data, size_t len, size_t* consumed) noexcept {
  size_t i = 0;
  while (i < len) {
    if (state_ == State::kStatusLine && pos_ == 0) {
      size_t used = parse_head_at_once(data + i, len - i);
      if (used == SIZE_MAX) return fail(ErrorKind::kHttp);
      if (used > 0) {
        i += used;
        ParseStatus s = on_head_done();
        if (s != ParseStatus::kNeedMore) return *consumed = i, s;
        continue;
      }
      reset_response();  // not all here: the byte-wise states parse it as it comes
    }
    // Head bytes are bounded; body states return before this matters.
    switch (state_) {
      case State::kStatusLine:
        if (!status_line_byte(data[i++])) return fail(ErrorKind::kHttp);
        break;
      case State::kStatusRest:
      case State::kHeaderSkip: {
        size_t from = i;
        if (skip_line(data, len, &i)) state_ = State::kHeaderStart;
        head_bytes_ += static_cast<uint32_t>(i - from);
        if (head_bytes_ > kMaxHeadBytes) return fail(ErrorKind::kHttp);
        break;
      }
      case State::kHeaderStart: {
        char c = data[i++];
        ++head_bytes_;
        if (c == '\r') {
          state_ = State::kHeadEndLf;
        } else if (c == '\n') {
          ParseStatus s = on_head_done();
          if (s != ParseStatus::kNeedMore) return *consumed = i, s;
        } else if (is_ws(c)) {
          state_ = State::kHeaderSkip;  // obsolete line folding of a header we skip
        } else {
          state_ = State::kHeaderName;
          name_candidates_ = kAllCandidates;
          pos_ = 0;
          if (!header_name_byte(c)) return fail(ErrorKind::kHttp);
        }
        break;
      }
      case State::kHeaderName:
        ++head_bytes_;
        if (!header_name_byte(data[i++])) return fail(ErrorKind::kHttp);
        if (head_bytes_ > kMaxHeadBytes) return fail(ErrorKind::kHttp);
        break;
      case State::kHeaderNameOther: {
        char c = data[i++];
        ++head_bytes_;
        if (c == ':') {
          state_ = State::kHeaderSkip;
        } else if (!is_token(c) || head_bytes_ > kMaxHeadBytes) {
          return fail(ErrorKind::kHttp);
        }
        break;
      }
      case State::kHeaderValue:
      case State::kHeaderValueCr: {
        // As the whole-head path reads a line: it ends at LF (CRLF); a CR not before the LF
        // is part of the value.
        char c = data[i++];
        ++head_bytes_;
        if (c == '\n') {
          if (!header_line_end()) return fail(ErrorKind::kHttp);
          state_ = State::kHeaderStart;
        } else {
          if (state_ == State::kHeaderValueCr && !header_value_byte('\r')) {
            return fail(ErrorKind::kHttp);
          }
          if (c == '\r') {
            state_ = State::kHeaderValueCr;
          } else {
            state_ = State::kHeaderValue;
            if (!header_value_byte(c)) return fail(ErrorKind::kHttp);
          }
        }
        if (head_bytes_ > kMaxHeadBytes) return fail(ErrorKind::kHttp);
        break;
      }
      case State::kHeadEndLf: {
        if (data[i++] != '\n') return fail(ErrorKind::kHttp);
        ParseStatus s = on_head_done();
        if (s != ParseStatus::kNeedMore) return *consumed = i, s;
        break;
      }
      case State::kBody: {
        size_t take = static_cast<size_t>(std::min<uint64_t>(remaining_, len - i));
        i += take;
        remaining_ -= take;
        body_bytes_ += take;
        if (remaining_ == 0) {
          state_ = State::kDone;
          *consumed = i;
          return ParseStatus::kComplete;
        }
        break;
      }
      case State::kChunkSize: {
        char c = data[i++];
        int v = hex_value(c);
        if (v >= 0) {
          if (++pos_ > 15) return fail(ErrorKind::kHttp);
          remaining_ = remaining_ * 16 + static_cast<uint64_t>(v);
        } else if (pos_ == 0) {
          return fail(ErrorKind::kHttp);
        } else if (c == '\r') {
          state_ = State::kChunkSizeLf;
        } else if (c == '\n') {
          state_ = remaining_ == 0 ? State::kTrailerStart : State::kChunkData;
        } else if (c == ';' || is_ws(c)) {
          state_ = State::kChunkExt;
        } else {
          return fail(ErrorKind::kHttp);
        }
        break;
      }
      case State::kChunkExt:
        if (skip_line(data, len, &i)) {
          state_ = remaining_ == 0 ? State::kTrailerStart : State::kChunkData;
        }
        break;
      case State::kChunkSizeLf:
        if (data[i++] != '\n') return fail(ErrorKind::kHttp);
        state_ = remaining_ == 0 ? State::kTrailerStart : State::kChunkData;
        break;
      case State::kChunkData: {
        size_t take = static_cast<size_t>(std::min<uint64_t>(remaining_, len - i));
        i += take;
        remaining_ -= take;
        body_bytes_ += take;
        if (remaining_ == 0) state_ = State::kChunkDataCr;
        break;
      }
      case State::kChunkDataCr: {
        char c = data[i++];
        if (c == '\r') {
          state_ = State::kChunkDataLf;
        } else if (c == '\n') {
          state_ = State::kChunkSize;
          pos_ = 0;
        } else {
          return fail(ErrorKind::kHttp);
        }
        break;
      }
      case State::kChunkDataLf:
        if (data[i++] != '\n') return fail(ErrorKind::kHttp);
        state_ = State::kChunkSize;
        pos_ = 0;
        break;
      case State::kTrailerStart: {
        char c = data[i++];
        if (c == '\r') {
          state_ = State::kTrailerEndLf;
        } else if (c == '\n') {
          state_ = State::kDone;
          *consumed = i;
          return ParseStatus::kComplete;
        } else {
          state_ = State::kTrailerSkip;
        }
        break;
      }
      case State::kTrailerSkip:
        if (skip_line(data, len, &i)) state_ = State::kTrailerStart;
        break;
      case State::kTrailerEndLf:
        if (data[i++] != '\n') return fail(ErrorKind::kHttp);
        state_ = State::kDone;
        *consumed = i;
        return ParseStatus::kComplete;
      case State::kCloseBody:
        body_bytes_ += len - i;
        i = len;
        break;
      case State::kDone:
        // Bytes after a complete response that was not restarted: the caller's bug or the
        // server sent more than it framed.
        return fail(ErrorKind::kHttp);
    }
  }
  *consumed = len;
  return ParseStatus::kNeedMore;
}

ParseStatus ResponseParser::finish_eof() noexcept {
  switch (state_) {
    case State::kCloseBody:
      state_ = State::kDone;
      return ParseStatus::kComplete;
    case State::kStatusLine:
      return fail(pos_ == 0 ? ErrorKind::kReset : ErrorKind::kHttp);
    case State::kBody:
    case State::kChunkSize:
    case State::kChunkExt:
    case State::kChunkSizeLf:
    case State::kChunkData:
    case State::kChunkDataCr:
    case State::kChunkDataLf:
    case State::kTrailerStart:
    case State::kTrailerSkip:
    case State::kTrailerEndLf:
      return fail(ErrorKind::kBody);
    default:
      return fail(ErrorKind::kHttp);
  }
}

}  // namespace spiker::http1
