// One client connection of a worker: its socket and parse state, nothing else (no buffers: the
// worker's read buffer is shared and requests are static), so an idle connection stays small.
#pragma once

#include <cstdint>

#include "protocols/http1/response_parser.h"

struct ssl_st;

namespace spiker::engine {

enum class ConnState : uint8_t { kIdle, kConnecting, kHandshaking, kWriting, kReading };

struct Connection {
  int fd = -1;
  ssl_st* ssl = nullptr;
  ConnState state = ConnState::kIdle;
  bool reused = false;         // a response already completed on this socket
  bool retried = false;        // the current batch was re-sent after a stale keep-alive close
  bool read_pending = false;   // readable edge seen while still writing
  bool peer_closed = false;    // the peer's FIN (or an error) came with an edge already seen
  bool queued = false;         // waiting in the worker's restart list
  uint16_t batch = 0;          // requests claimed for the current cycle
  uint16_t in_flight = 0;      // requests written, responses not yet complete
  uint32_t written = 0;        // bytes of the current batch written
  int64_t phase_start_ns = 0;  // connect, handshake or request start
  int64_t deadline_ns = 0;     // 0: none
  uint64_t tls_read = 0;       // TLS wire bytes already accounted
  uint64_t tls_written = 0;
  http1::ResponseParser parser;
};

}  // namespace spiker::engine
