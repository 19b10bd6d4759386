// The embedded target's endpoints: pure functions from a request to a response (plus the
// shared stall switch), so they can be tested without sockets.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
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
  // /items: a small in-memory REST resource (bounded), so journeys can create, read, update
  // and delete what they made.
  std::mutex items_mutex;
  std::unordered_map<uint64_t, std::string> items;
  uint64_t next_item = 1;
};

// "/", "/json", "/bytes/{n}", "/delay/{ms}", "/status/{code}", "/echo", "/login", "/me",
// "/items" (POST creates {"id": n}; GET/PUT/DELETE /items/{n}: 404 unless created), "/cart"
// (as /me), "/redirect/{n}" (302 chains to /redirect/0), "/cookies/set?k=v" (sets
// them), "/cookies" (echoes the Cookie header), "/stall?ms=N" (or "/stall/{ms}"); anything else
// is 404.
Response route(const Request& req, RouteContext& ctx, int64_t now_ns);

// The serialized head + body.
std::string serialize(const Response& r, bool keep_alive, bool head_only);

const char* reason_phrase(int status);

}  // namespace spiker::target
