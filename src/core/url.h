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
  bool tls() const { return scheme == "https" || scheme == "wss" || scheme == "tls"; }
  bool websocket() const { return scheme == "ws" || scheme == "wss"; }
  bool web() const { return scheme == "http" || scheme == "https" || websocket(); }
  std::string to_string() const;
};

// Parses `text`; throws SetupError naming `what` (e.g. "URL") with what is accepted.
Url parse_url(std::string_view text, std::string_view what = "URL");

}  // namespace spiker
