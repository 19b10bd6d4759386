// Serializes a static HTTP/1.1 request once, before the run.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/url.h"

namespace spiker::http1 {

struct RequestSpec {
  std::string method = "GET";
  Url url;
  std::vector<std::pair<std::string, std::string>> headers;  // user headers, in order
  std::string body;
  bool keep_alive = true;
};

// Parses "Name: value" as given to -H; throws SetupError naming the flag when malformed.
std::pair<std::string, std::string> parse_header_arg(std::string_view text);

// The request's bytes. Adds Host, User-Agent, Accept and Content-Length unless the user gave
// them, and Connection: close when keep-alive is off.
std::string build_request(const RequestSpec& spec);

// The same in parts, for requests rendered per send: the head up to (not including) the
// Content-Length line and the blank line, and whether a Content-Length line belongs there.
std::string build_request_head(const RequestSpec& spec);
bool needs_content_length(const RequestSpec& spec);

}  // namespace spiker::http1
