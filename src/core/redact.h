// Which header values are secrets: outputs print "<redacted>" instead of them.
#pragma once

#include <string>
#include <string_view>

namespace spiker {

// Authorization, Proxy-Authorization, Cookie, Set-Cookie, X-Api-Key, and any name containing
// token, secret or password (case-insensitive).
inline bool is_secret_header(std::string_view name) {
  std::string n(name);
  for (char& c : n) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return n == "authorization" || n == "proxy-authorization" || n == "cookie" || n == "set-cookie" ||
         n == "x-api-key" || n.find("token") != std::string::npos ||
         n.find("secret") != std::string::npos || n.find("password") != std::string::npos;
}

inline constexpr std::string_view kRedacted = "<redacted>";

}  // namespace spiker
