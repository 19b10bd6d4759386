// Requests driven from outside the engine: the Python API's user code (async VUs, one-off
// calls). A loop thread of its own runs them on the registered protocols' sessions (connections
// kept per VU and host, a cookie jar per VU, redirects followed), records each into metrics
// shards (HDR latency, status codes, errors, per name) cut into one-second timeline rows, and
// hands every response back whole. Callers submit from any thread and collect responses when
// wake_fd() is readable (an event loop such as asyncio waits on it).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "core/tls.h"
#include "metrics/shard.h"
#include "metrics/snapshot.h"

namespace spiker::engine {

struct ClientOptions {
  TlsOptions tls;                              // https:// and tls:// (ALPN is set per protocol)
  int64_t connect_timeout_ns = 2'000'000'000;  // TCP connect (+ TLS handshake)
  int max_redirects = 10;                      // 0: redirects come back as they are
};

struct ClientRequest {
  uint64_t id = 0;  // the caller's: its response carries it
  uint32_t vu = 0;  // whose connections and cookies
  std::string method = "GET";
  std::string url;  // http(s)://, or a registered protocol's (tcp://, udp://, ...)
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool has_body = false;
  // A registered protocol's action ("tcp.send", "udp.receive", ...); empty: HTTP or the
  // protocol's exchange. Its options are the step keys it takes.
  std::string action;
  std::vector<std::pair<std::string, std::string>> options;
  int64_t timeout_ns = 30'000'000'000;
  std::string name;  // counted apart under this name (up to 64 names); empty: the URL's path
  bool cookies = true;
  bool record = true;  // false: not counted (set-up and smoke calls between tests)
};

struct ClientResponse {
  uint64_t id = 0;
  bool ok = false;
  std::string error;  // the error kind ("timeout", "refused", ...) when !ok
  int status = 0;
  bool refused = false;  // the server answered with an error (SQL, Redis): its "error" header
  int64_t rows = -1;     // rows / documents / entries in the reply; -1: none
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  int64_t latency_us = 0;  // service time: first byte written to last byte read
  std::string url;         // after redirects
};

// What a caller sees while requests run: totals, the last full second, and the timeline.
struct ClientStats {
  std::unique_ptr<metrics::Shard> totals;
  std::vector<metrics::TimelinePoint> timeline;
  std::vector<std::pair<std::string, std::string>> names;  // name -> "METHOD url", by index
  double elapsed_s = 0;
  int64_t started_unix_ms = 0;
};

class Client {
 public:
  explicit Client(const ClientOptions& o);  // starts the loop thread
  ~Client();                                // stops it; requests in flight get no response
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Queues a request; thread-safe. Throws SetupError for a URL or action that cannot be sent
  // (before anything is sent).
  void submit(ClientRequest r);
  // The responses finished since the last call; thread-safe. wake_fd() is readable while there
  // are some (read its 8 bytes to clear it).
  std::vector<ClientResponse> take();
  int wake_fd() const;
  // Starts counting afresh (totals, timeline, the clock).
  void reset_stats();
  // Totals and timeline so far (the current second included in totals).
  ClientStats stats();
  // Drops a VU's connections and cookies (its user ended).
  void forget_vu(uint32_t vu);

  class Loop;

 private:
  std::unique_ptr<Loop> loop_;
};

}  // namespace spiker::engine
