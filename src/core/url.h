// Target URLs: http://, https://, ws:// and wss:// with host (name, IPv4 or [IPv6]), optional port,
// path, query; other schemes (tcp://, udp://, ...: the protocol registry's) with a port required.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace spiker {

struct Url {
  std::string scheme;       // "http", "https", "ws", "wss", or a registered protocol's
  std::string host;         // name or address; IPv6 without brackets
  uint16_t port = 0;        // explicit or the scheme's default
  std::string target;       // path and query as sent on the request line; "/" at least
  std::string host_header;  // value of the Host header: host[:port], IPv6 bracketed
  // user-info of a protocol's URL (postgres://user:pass@host/db), percent-decoded; never
  // printed (to_string leaves it out). Web URLs refuse it (credentials go in headers).
  std::string user, password;
  bool has_password = false;
  bool tls() const { return scheme == "https" || scheme == "wss" || scheme == "tls"; }
  bool websocket() const { return scheme == "ws" || scheme == "wss"; }
  bool web() const { return scheme == "http" || scheme == "https" || websocket(); }
  std::string to_string() const;
};

// Parses `text`; throws SetupError naming `what` (e.g. "URL") with what is accepted.
Url parse_url(std::string_view text, std::string_view what = "URL");

// A scheme's port when the URL gives none (postgres:// 5432); the protocol registry sets these
// before any URL is parsed. Schemes without one need an explicit port.
void set_default_port(std::string_view scheme, uint16_t port);

// %XX decoded (user-info, database names); a bad escape is kept as written.
std::string percent_decode(std::string_view text);

}  // namespace spiker
