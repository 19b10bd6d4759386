// The response parser's fast path: a whole response head parsed in one pass, line by line.
#include <cstring>
#include <string_view>

#include "protocols/http1/parser_chars.h"
#include "protocols/http1/response_parser.h"

namespace spiker::http1 {

using namespace chars;

// The header this name is, when it is one the framing depends on.
bool ResponseParser::known_header_line(const char* name, size_t name_len, const char* value,
                                       size_t value_len) noexcept {
  switch (name_len) {  // the known names differ in length
    case 14:
      header_ = Header::kContentLength;
      break;
    case 17:
      header_ = Header::kTransferEncoding;
      break;
    case 10:
      header_ = Header::kConnection;
      break;
    default:
      header_ = Header::kOther;
      break;
  }
  if (header_ != Header::kOther) {
    std::string_view known = kHeaderNames[static_cast<size_t>(header_)];
    for (size_t k = 0; k < name_len; ++k) {
      if (lower(name[k]) != known[k]) {
        header_ = Header::kOther;
        break;
      }
    }
  }
  if (header_ == Header::kOther) {
    for (size_t k = 0; k < name_len; ++k) {
      if (!is_token(name[k])) return false;
    }
    return name_len > 0;
  }
  token_pos_ = token_pos2_ = 0;
  value_digits_ = value_ended_ = false;
  length_ = 0;
  for (size_t k = 0; k < value_len; ++k) {
    if (!header_value_byte(value[k])) return false;
  }
  return header_line_end();
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
    nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
    if (nl == nullptr) return 0;
    if (is_ws(*p)) {  // obsolete line folding: part of the previous (skipped) header
      p = nl + 1;
      continue;
    }
    const char* line_end = nl > p && nl[-1] == '\r' ? nl - 1 : nl;
    const char* colon =
        static_cast<const char*>(std::memchr(p, ':', static_cast<size_t>(line_end - p)));
    if (colon == nullptr) return kMalformed;
    if (!known_header_line(p, static_cast<size_t>(colon - p), colon + 1,
                           static_cast<size_t>(line_end - colon - 1))) {
      return kMalformed;
    }
    p = nl + 1;
    if (static_cast<size_t>(p - data) > kMaxHeadBytes) return kMalformed;
  }
}

}  // namespace spiker::http1
