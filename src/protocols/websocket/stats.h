// The websocket stat block (metrics/stat_block.h): what the WebSocket client counts beside the
// run's metrics, and Kaioken's websocket section written from it.
#pragma once

#include <cstdint>

#include "metrics/shard.h"
#include "metrics/stat_block.h"

namespace spiker::websocket {

enum Counter : uint32_t {
  kSent,  // messages
  kReceived,
  kBytesSent,  // payload bytes
  kBytesReceived,
  kEstablished,      // upgrades that got a valid 101
  kHandshakeFailed,  // upgrades refused or answered wrongly
  kConnectFailed,    // TCP/TLS failures before the upgrade
  kDisconnects,      // open connections the server closed (close frame or EOF)
  kProtocolErrors,   // invalid frames from the server
  kClosedByUs,       // open connections we closed during the run (timeouts)
};
enum Hist : uint32_t { kHandshakeUs };  // upgrade: request written to 101 read

// Registers the WebSocket protocol (its session; session.cc).
void register_protocol();

// The registered block (registered by spiker_register_websocket()).
const metrics::StatBlock& stats();

inline void count(metrics::Shard& s, Counter c, uint64_t n = 1) { s.add(stats().counter(c), n); }
inline uint64_t counted(const metrics::Shard& s, Counter c) {
  return s.block_counters[stats().counter(c)];
}

}  // namespace spiker::websocket
