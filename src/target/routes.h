// The embedded target's endpoints: pure functions from a request to a response (plus the
// shared stall switch), so they can be tested without sockets.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "target/request_reader.h"

namespace spiker::target {

struct Response {
  int status = 200;
  std::string content_type = "text/plain";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  int64_t delay_ms = 0;  // answer after this long (/delay)
};

// State shared by all server threads.
struct RouteContext {
  uint64_t secret = 0;                     // signs login tokens
  std::atomic<int64_t> stall_until_ns{0};  // monotonic time before which no response leaves
};

// "/", "/json", "/bytes/{n}", "/delay/{ms}", "/status/{code}", "/echo", "/login", "/me",
// "/stall?ms=N" (or "/stall/{ms}"); anything else is 404.
Response route(const Request& req, RouteContext& ctx, int64_t now_ns);

// The serialized head + body.
std::string serialize(const Response& r, bool keep_alive, bool head_only);

const char* reason_phrase(int status);

}  // namespace spiker::target
