// What every worker needs to run HTTP/1.1 load: plain data decided once before the run.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/socket.h"
#include "core/tls.h"

namespace spiker::engine {

struct WorkerConfig {
  std::vector<SocketAddress> addresses;        // used round-robin by new connections
  std::string host;                            // TLS SNI and certificate name
  const TlsContext* tls = nullptr;             // null for plain TCP
  std::string request;                         // one serialized request
  bool head = false;                           // the request is HEAD (responses have no body)
  int pipeline = 1;                            // requests in flight per connection
  int64_t timeout_ns = 5'000'000'000;          // request: first byte written to last byte read
  int64_t connect_timeout_ns = 2'000'000'000;  // TCP connect (+ TLS handshake)
  int64_t publish_interval_ns = 200'000'000;   // how often a worker hands its metrics over
};

}  // namespace spiker::engine
