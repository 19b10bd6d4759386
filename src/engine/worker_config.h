// What every worker needs to run: plain data decided once before the run (origins with their
// protocol, the requests or the journey, transport settings).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/socket.h"
#include "core/tls.h"
#include "core/transport.h"
#include "metrics/shard.h"
#include "plan/journey.h"
#include "plan/request.h"
#include "plan/template.h"

namespace spiker::proto {
struct Protocol;
}

namespace spiker::engine {

using RequestVariant = plan::Request;

// The most request variants (scenarios) one run carries.
inline constexpr size_t kMaxVariants = metrics::kMaxScenarios;

// A host the run talks to.
struct OriginConfig {
  std::vector<SocketAddress> addresses;  // used round-robin by new connections
  std::string host;                      // TLS SNI and certificate name
  std::string host_header;               // Host: value
  std::string scheme;                    // "http" or "https"
  uint16_t port = 0;
  const TlsContext* tls = nullptr;            // null for plain TCP
  bool h2 = false;                            // HTTP/2 (h2c with prior knowledge, or h2 by ALPN)
  const proto::Protocol* protocol = nullptr;  // a registered protocol (tcp://, udp://, ...)
  std::shared_ptr<const Tunnel> tunnel;       // through a proxy: `addresses` are the proxy's
};

// What the workers of one process share while running journeys.
struct JourneyShared {
  explicit JourneyShared(size_t tables) : cursors(tables) {}
  std::vector<std::atomic<uint64_t>> cursors;  // per data table: the next row claimed
  std::atomic<bool> stop_all{false};           // a unique data table ran out: stop the run
};

struct WorkerConfig {
  std::vector<OriginConfig> origins;  // [0] for `requests`; journeys name theirs per step
  // At least one, at most kMaxVariants (not journeys); shared by the workers, not copied (a
  // large body is in memory once).
  std::shared_ptr<const std::vector<RequestVariant>> requests =
      std::make_shared<const std::vector<RequestVariant>>();
  std::shared_ptr<const plan::Journey> journey;  // set: VUs run its scenarios instead
  std::shared_ptr<JourneyShared> shared;         // with `journey`
  bool keep_alive = true;
  int pipeline = 1;                            // requests in flight per connection
  int max_streams = 1;                         // HTTP/2: VUs (streams) sharing one connection
  uint32_t h2_window = (1u << 30) - 1;         // HTTP/2 receive window, per stream and connection
  int64_t timeout_ns = 5'000'000'000;          // request: first byte written to last byte read
  int64_t connect_timeout_ns = 2'000'000'000;  // TCP connect (+ TLS handshake)
  int64_t publish_interval_ns = 200'000'000;   // how often a worker hands its metrics over
};

}  // namespace spiker::engine
