// Character classes and known header names shared by the response parser's two paths.
// Internal to spiker_http1.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace spiker::http1::chars {

// Indexed by ResponseParser::Header.
inline constexpr std::string_view kHeaderNames[] = {"", "content-length", "transfer-encoding",
                                                    "connection"};
inline constexpr std::string_view kCanonicalNames[] = {"", "Content-Length", "Transfer-Encoding",
                                                       "Connection"};
inline constexpr uint8_t kAllCandidates = 0b1110;

inline char lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? char(c | 0x20) : c; }
inline bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
inline bool is_ws(char c) noexcept { return c == ' ' || c == '\t'; }

// RFC 9110 token characters, for header names.
inline constexpr std::array<bool, 256> kTokenChars = [] {
  std::array<bool, 256> t{};
  for (int c = '0'; c <= '9'; ++c) t[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) t[c] = t[c - 32] = true;
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) t[static_cast<unsigned char>(c)] = true;
  return t;
}();
inline bool is_token(char c) noexcept { return kTokenChars[static_cast<unsigned char>(c)]; }
inline int hex_value(char c) noexcept {
  if (is_digit(c)) return c - '0';
  c = lower(c);
  return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

}  // namespace spiker::http1::chars
