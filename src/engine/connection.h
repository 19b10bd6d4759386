// One VU of a worker and its connection: socket and parse state, nothing else (no buffers: the
// worker's read buffer is shared and requests are static), so an idle VU stays small.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "protocols/http1/response_parser.h"

struct ssl_st;

namespace spiker::engine {

// What a VU is doing. kInactive: not part of the run now (closed: beyond the target; open: not
// created yet). kWaiting: between iterations (think time, pacing). kFree: an open-model VU
// waiting for an arrival. kQueued: starts its iteration on the next loop turn. The socket may
// stay open in all of these. The others are one iteration's request on its way.
enum class ConnState : uint8_t {
  kInactive,
  kWaiting,
  kFree,
  kQueued,
  kConnecting,
  kHandshaking,
  kWriting,
  kReading,
};

inline bool in_request(ConnState s) { return s >= ConnState::kConnecting; }

struct Connection {
  int fd = -1;
  ssl_st* ssl = nullptr;
  ConnState state = ConnState::kInactive;
  bool finished = false;          // per-VU iterations done: never activated again
  bool reused = false;            // a response already completed on this socket
  bool retried = false;           // the current batch was re-sent after a stale keep-alive close
  bool read_pending = false;      // readable edge seen while still writing
  bool peer_closed = false;       // the peer's FIN (or an error) came with an edge already seen
  uint16_t batch = 0;             // requests claimed for the current iteration
  uint8_t variant = 0;            // which of the config's requests this iteration sends
  uint16_t in_flight = 0;         // requests written, responses not yet complete
  uint32_t written = 0;           // bytes of the current batch written
  uint32_t iterations = 0;        // iterations this VU completed
  uint32_t timer_generation = 0;  // bumping it cancels a pending timer
  int64_t intended_ns = 0;        // intended start of the current iteration (0: none)
  int64_t phase_start_ns = 0;     // connect, handshake or request start (first byte written)
  int64_t deadline_ns = 0;        // 0: none
  uint64_t tls_read = 0;          // TLS wire bytes already accounted
  uint64_t tls_written = 0;
  http1::ResponseParser parser;
  std::unique_ptr<std::string> rendered;  // the current send, for dynamic requests only
};

}  // namespace spiker::engine
