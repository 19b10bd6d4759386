// The response parser's fast path: a whole response head parsed in one pass, line by line.
#include <cstring>
#include <string_view>

#include "protocols/http1/parser_chars.h"
#include "protocols/http1/response_parser.h"

namespace spiker::http1 {
namespace {

using namespace chars;

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && is_ws(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ws(s.back())) s.remove_suffix(1);
  return s;
}

// Case-insensitive equality with a lower-case word.
bool is_word(std::string_view s, std::string_view lower_word) noexcept {
  if (s.size() != lower_word.size()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (lower(s[i]) != lower_word[i]) return false;
  }
  return true;
}

}  // namespace

ResponseParser::Header ResponseParser::classify(std::string_view name) noexcept {
  Header h;
  switch (name.size()) {  // the known names differ in length
    case 14:
      h = Header::kContentLength;
      break;
    case 17:
      h = Header::kTransferEncoding;
      break;
    case 10:
      h = Header::kConnection;
      break;
    default:
      return Header::kOther;
  }
  // Most servers write the canonical case: one compare, before the case-insensitive one.
  std::string_view canonical = kCanonicalNames[static_cast<size_t>(h)];
  if (std::memcmp(name.data(), canonical.data(), canonical.size()) == 0) return h;
  return is_word(name, kHeaderNames[static_cast<size_t>(h)]) ? h : Header::kOther;
}

bool ResponseParser::known_value(Header h, std::string_view value) noexcept {
  value = trim(value);
  if (h == Header::kContentLength) {  // 1*DIGIT (leading zeros too), as long as it fits
    if (value.empty()) return false;
    uint64_t n = 0;
    for (char c : value) {
      if (!is_digit(c) || n > (UINT64_MAX - 9) / 10) return false;
      n = n * 10 + static_cast<uint64_t>(c - '0');
    }
    if (has_length_ && n != remaining_) return false;  // conflicting lengths
    has_length_ = true;
    remaining_ = n;
    return true;
  }
  if (h == Header::kConnection && value == "keep-alive") {  // the common case, at once
    conn_keep_alive_ = true;
    return true;
  }
  // A list of tokens: Transfer-Encoding counts its last coding, Connection any token.
  for (;;) {
    size_t comma = value.find(',');
    std::string_view token = trim(value.substr(0, comma));
    if (h == Header::kTransferEncoding) {
      has_te_ = true;
      chunked_ = is_word(token, "chunked");
    } else {
      conn_close_ |= is_word(token, "close");
      conn_keep_alive_ |= is_word(token, "keep-alive");
    }
    if (comma == std::string_view::npos) return true;
    value.remove_prefix(comma + 1);
  }
}

size_t ResponseParser::parse_head_at_once(const char* data, size_t len) noexcept {
  constexpr size_t kMalformed = SIZE_MAX;
  const char* end = data + len;
  const char* nl = static_cast<const char*>(std::memchr(data, '\n', len));
  if (nl == nullptr) return 0;
  // Status line: "HTTP/1.x SSS" then a space or the line end.
  if (nl - data < 12) return kMalformed;
  if (std::memcmp(data, "HTTP/1.", 7) != 0 || !is_digit(data[7]) || data[8] != ' ' ||
      !is_digit(data[9]) || !is_digit(data[10]) || !is_digit(data[11])) {
    return kMalformed;
  }
  if (data[12] != ' ' && data[12] != '\r' && data[12] != '\n') return kMalformed;
  http10_ = data[7] == '0';
  status_ = (data[9] - '0') * 100 + (data[10] - '0') * 10 + (data[11] - '0');
  if (status_ < 100) return kMalformed;
  const char* p = nl + 1;
  for (;;) {
    if (p >= end) return 0;
    if (*p == '\n') return static_cast<size_t>(p + 1 - data);
    if (*p == '\r') {
      if (p + 1 >= end) return 0;
      return p[1] == '\n' ? static_cast<size_t>(p + 2 - data) : kMalformed;
    }
    if (is_ws(*p)) {  // obsolete line folding: part of the previous (skipped) header
      nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
      if (nl == nullptr) return 0;
      p = nl + 1;
      continue;
    }
    nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
    if (nl == nullptr) return 0;
    // The name: token chars up to the colon, in one pass with no bound to test ('\n' is not a
    // token char, so the scan stops within the line).
    const char* colon = p;
    while (is_token(*colon)) ++colon;
    if (colon == p || *colon != ':') return kMalformed;
    // Only Content-Length, Connection and Transfer-Encoding matter for framing.
    char first = static_cast<char>(*p | 0x20);
    Header h = first == 'c' || first == 't' ? classify({p, static_cast<size_t>(colon - p)})
                                            : Header::kOther;
    if (h != Header::kOther) {
      const char* line_end = nl[-1] == '\r' ? nl - 1 : nl;
      if (!known_value(h, {colon + 1, static_cast<size_t>(line_end - colon - 1)})) {
        return kMalformed;
      }
    }
    p = nl + 1;
    if (static_cast<size_t>(p - data) > kMaxHeadBytes) return kMalformed;
  }
}

}  // namespace spiker::http1
