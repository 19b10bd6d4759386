#include "core/url.h"

#include <fmt/format.h>

#include <utility>
#include <vector>

#include "core/error.h"
#include "core/redact.h"

namespace spiker {
namespace {

[[noreturn]] void bad_url(std::string_view what, std::string_view text, std::string_view why) {
  throw SetupError(
      fmt::format("{} '{}': {}; expected e.g. http://127.0.0.1:8080/path or "
                  "https://example.test/",
                  what, redact_url(text), why));
}

std::vector<std::pair<std::string, uint16_t>>& default_ports() {
  static std::vector<std::pair<std::string, uint16_t>> ports;
  return ports;
}

uint16_t default_port(std::string_view scheme) {
  for (const auto& [s, port] : default_ports()) {
    if (s == scheme) return port;
  }
  return 0;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

void set_default_port(std::string_view scheme, uint16_t port) {
  if (default_port(scheme) == 0) default_ports().emplace_back(scheme, port);
}

std::string percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    int hi = 0, lo = 0;
    if (text[i] == '%' && i + 2 < text.size() && (hi = hex_digit(text[i + 1])) >= 0 &&
        (lo = hex_digit(text[i + 2])) >= 0) {
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

std::string Url::to_string() const {
  if (!web() && target == "/") return fmt::format("{}://{}", scheme, host_header);
  return fmt::format("{}://{}{}", scheme, host_header, target);
}

Url parse_url(std::string_view text, std::string_view what) {
  Url url;
  size_t sep = text.find("://");
  if (sep == std::string_view::npos) bad_url(what, text, "missing scheme (http:// or https://)");
  for (char c : text.substr(0, sep)) {
    url.scheme += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  bool web =
      url.scheme == "http" || url.scheme == "https" || url.scheme == "ws" || url.scheme == "wss";
  bool name_ok = !url.scheme.empty() && std::isalpha(static_cast<unsigned char>(url.scheme[0]));
  for (char c : url.scheme) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.') {
      name_ok = false;
    }
  }
  if (!name_ok) bad_url(what, text, fmt::format("'{}' is not a scheme", url.scheme));
  std::string_view rest = text.substr(sep + 3);
  size_t path_start = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, path_start);
  std::string_view path = path_start == std::string_view::npos ? "" : rest.substr(path_start);
  if (size_t hash = path.find('#'); hash != std::string_view::npos) path = path.substr(0, hash);
  if (size_t at = authority.rfind('@'); at != std::string_view::npos) {
    if (web) {
      bad_url(what, text, "credentials in the URL are not accepted; use -H 'Authorization: ...'");
    }
    std::string_view info = authority.substr(0, at);
    authority = authority.substr(at + 1);
    size_t colon = info.find(':');
    url.user = percent_decode(info.substr(0, colon));
    if (colon != std::string_view::npos) {
      url.password = percent_decode(info.substr(colon + 1));
      url.has_password = true;
    }
  }
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) bad_url(what, text, "unclosed '[' in IPv6 address");
    url.host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') bad_url(what, text, "unexpected text after ']'");
      port_text = after.substr(1);
    }
  } else {
    size_t colon = authority.find(':');
    url.host = authority.substr(0, colon);
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
  }
  if (url.host.empty()) bad_url(what, text, "missing host");
  for (char c : url.host) {
    if (std::isspace(static_cast<unsigned char>(c)) || c == '/' || c == '\\') {
      bad_url(what, text, "invalid character in host");
    }
  }
  url.port = url.tls() ? 443 : 80;
  if (!web && port_text.empty() && default_port(url.scheme) != 0) {
    url.port = default_port(url.scheme);
  } else if (!web && port_text.empty()) {
    // Other schemes (tcp://, udp://, ...) have no default port; the caller checks the scheme.
    bad_url(what, text,
            fmt::format("{}:// needs a port, e.g. {}://127.0.0.1:9000", url.scheme, url.scheme));
  }
  if (!port_text.empty() || authority.ends_with(":")) {
    unsigned long port = 0;
    if (port_text.empty() || port_text.size() > 5) bad_url(what, text, "invalid port");
    for (char c : port_text) {
      if (!std::isdigit(static_cast<unsigned char>(c))) bad_url(what, text, "invalid port");
      port = port * 10 + static_cast<unsigned long>(c - '0');
    }
    if (port == 0 || port > 65535) bad_url(what, text, "port must be 1..65535");
    url.port = static_cast<uint16_t>(port);
  }
  for (char c : path) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      bad_url(what, text, "spaces and control characters must be percent-encoded in the path");
    }
  }
  if (path.empty() || path.front() != '/') url.target.push_back('/');
  url.target.append(path);
  bool ipv6 = url.host.find(':') != std::string::npos;
  if (ipv6) {
    url.host_header = fmt::format("[{}]", url.host);
  } else {
    url.host_header = url.host;
  }
  if (!web || url.port != (url.tls() ? 443 : 80)) url.host_header += fmt::format(":{}", url.port);
  return url;
}

}  // namespace spiker
