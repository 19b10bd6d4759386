#include "protocols/http1/request_builder.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/error.h"
#include "core/strings.h"

namespace spiker::http1 {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool is_token_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

}  // namespace

std::pair<std::string, std::string> parse_header_arg(std::string_view text) {
  size_t colon = text.find(':');
  std::string_view name = colon == std::string_view::npos ? "" : trim(text.substr(0, colon));
  bool ok = !name.empty() && std::all_of(name.begin(), name.end(), is_token_char);
  std::string_view value = ok ? trim(text.substr(colon + 1)) : "";
  for (char c : value) ok = ok && c != '\r' && c != '\n';
  if (!ok) {
    throw SetupError(fmt::format(
        "-H/--header: '{}' is not a header; write 'Name: value', e.g. -H 'Accept: text/html'",
        text));
  }
  return {std::string(name), std::string(value)};
}

bool needs_content_length(const RequestSpec& spec) {
  for (const auto& [name, value] : spec.headers) {
    std::string n = lower(name);
    if (n == "content-length" || n == "transfer-encoding") return false;
  }
  return !spec.body.empty() || spec.method == "POST" || spec.method == "PUT" ||
         spec.method == "PATCH";
}

std::string build_request_head(const RequestSpec& spec) {
  bool has_host = false, has_ua = false, has_accept = false;
  for (const auto& [name, value] : spec.headers) {
    std::string n = lower(name);
    has_host |= n == "host";
    has_ua |= n == "user-agent";
    has_accept |= n == "accept";
  }
  std::string out = fmt::format("{} {} HTTP/1.1\r\n", spec.method, spec.url.target);
  if (!has_host) out += fmt::format("Host: {}\r\n", spec.url.host_header);
  if (!has_ua) out += "User-Agent: loadspiker/0.1\r\n";
  if (!has_accept) out += "Accept: */*\r\n";
  for (const auto& [name, value] : spec.headers) out += fmt::format("{}: {}\r\n", name, value);
  if (!spec.keep_alive) out += "Connection: close\r\n";
  return out;
}

std::string build_request(const RequestSpec& spec) {
  std::string out = build_request_head(spec);
  if (needs_content_length(spec)) out += fmt::format("Content-Length: {}\r\n", spec.body.size());
  out += "\r\n";
  out += spec.body;
  return out;
}

}  // namespace spiker::http1
