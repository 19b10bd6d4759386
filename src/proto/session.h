// A protocol session: one connection (or socket) of one VU lane, driven by the worker's loop.
// The engine submits exchanges; the session writes, reads and parses on its own transport and
// hands every finished exchange back as one protocol-neutral Outcome through
// SessionHost::complete. Shape: h2load's Session, wrk's sock.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/event_loop.h"
#include "core/io_handler.h"
#include "metrics/error_kind.h"
#include "plan/extract.h"
#include "plan/journey.h"
#include "plan/request.h"

namespace spiker {
struct SocketAddress;
struct Tunnel;
class TlsContext;
class TlsSessionCache;
namespace metrics {
struct Shard;
}
}  // namespace spiker

namespace spiker::proto {

// What an exchange does: send and wait for the reply, only send, or only wait for what comes;
// open the connection (the payload: what opens it, e.g. a WebSocket upgrade's head) or close it
// (the protocol's goodbye; ends at once).
enum class Verb : uint8_t { kExchange, kSend, kReceive, kConnect, kClose };

// One finished exchange, whatever the protocol.
struct Outcome {
  bool ok = true;
  metrics::ErrorKind error = metrics::ErrorKind::kOther;  // when !ok
  int status = 0;       // the protocol's status (HTTP status, close code, ...); 0: none
  int64_t sent_ns = 0;  // first byte written (receives: when the wait began): service time's start
  int64_t done_ns = 0;  // last byte read (or written, for sends)
  // What checks and extractors read (headers, body or message), valid during the call only;
  // null when the exchange kept nothing (HTTP without `capture`).
  const plan::CapturedResponse* parts = nullptr;
  bool parts_ok = true;  // false: the response could not be read for checks
  // The server answered with an error (an SQL error, a Redis -ERR): a failed request, as an
  // HTTP 5xx is, whose reply checks and extractors still read (its "error" header: the code).
  bool refused = false;
  bool timed = true;      // false: nothing was waited for (a fire-and-forget send): no latency
  void* owner = nullptr;  // the exchange's owner (shared sessions); null: the session's
};

// Where a session connects: one of the run's origins.
struct Endpoint {
  const std::vector<SocketAddress>* addresses = nullptr;  // used round-robin
  std::string host;                                       // SNI and certificate name
  const TlsContext* tls = nullptr;                        // set: TLS over TCP
  std::string scheme;                                     // as in the URL: "tcp", "tls", "udp"
  const Tunnel* tunnel = nullptr;  // set: through this proxy (addresses are the proxy's)
};

// Per origin, owned by the worker for the whole run: sessions keep a reference.
struct SessionOptions {
  Endpoint endpoint;
  bool keep_alive = true;  // false: a connection per exchange (--disable-keepalive)
  int64_t connect_timeout_ns = 2'000'000'000;
  TlsSessionCache* tls_cache = nullptr;  // tickets for resumption (the worker's)
  uint32_t streams = 1;                  // shared sessions: exchanges at once (--max-streams)
  uint32_t window = (1u << 30) - 1;      // HTTP/2: receive window, per stream and connection
};

class Session;

// The worker, as its sessions see it.
class SessionHost {
 public:
  // The worker's loop (epoll, clock), its current metrics shard and its read buffer: plain
  // reads on the hot path, set once by the worker.
  int epoll_fd() const noexcept { return host_loop_->epoll_fd(); }
  int64_t now() const noexcept { return host_loop_->now(); }
  metrics::Shard& shard() noexcept { return **host_shard_; }
  // The worker's read buffer, shared by every session of the worker.
  char* read_buffer(size_t* cap) noexcept {
    *cap = host_read_buffer_->size();
    return host_read_buffer_->data();
  }
  virtual uint64_t random() noexcept = 0;
  // The next address of `e` to connect to (round-robin across the worker's connections).
  virtual const SocketAddress& next_address(const Endpoint& e) noexcept = 0;
  // A finished exchange: the one completion path (latency, status, checks, extraction, ...).
  virtual void complete(Session& s, const Outcome& o) noexcept = 0;
  // `s` has queued output: flush() it before the loop next waits (unless its flush_pending was
  // cleared meanwhile). A session sets its flush_pending before asking, and asks once.
  virtual void defer_flush(Session& s) noexcept = 0;
  // A piece of an exchange's reply as it arrives, before the exchange completes (HTTP/2 DATA of
  // an exchange that captures): for a host that sits between a session and the worker (gRPC
  // over HTTP/2 times each message of a stream). The worker ignores it.
  virtual void on_partial(void* /*owner*/, std::string_view /*data*/) noexcept {}

 protected:
  ~SessionHost() = default;
  // A host between a session and the worker reads what the worker's own host reads.
  void mirror(const SessionHost& worker) noexcept {
    host_loop_ = worker.host_loop_;
    host_shard_ = worker.host_shard_;
    host_read_buffer_ = worker.host_read_buffer_;
  }
  const EventLoop* host_loop_ = nullptr;
  std::unique_ptr<metrics::Shard>* host_shard_ = nullptr;  // the worker's: swapped on publish
  std::vector<char>* host_read_buffer_ = nullptr;
};

struct Exchange {
  const plan::ProtocolRequest* request = nullptr;  // the protocol's own compiled request
  // HTTP: the request(s) in no wire form (`count` of them), when `payload` does not already
  // hold them as HTTP/1.1 text; each HTTP protocol writes its own form. Valid until the
  // exchange ends.
  const plan::HttpMessage* message = nullptr;
  Verb verb = Verb::kExchange;
  std::string_view payload;     // rendered; copied by the session unless `stable_payload`
  bool stable_payload = false;  // the payload outlives the exchange (a request serialized once)
  uint16_t count = 1;           // requests in the payload (pipelined): one Outcome each
  bool head = false;            // HTTP: HEAD requests (responses have no body)
  bool binary = false;          // the payload is bytes, not text (WebSocket: a binary frame)
  bool constant = false;        // the request never changes (static): sessions may keep their
                                // own form of it, keyed by its address
  bool capture = false;         // keep headers and body for checks and extractors (Outcome::parts)
  int64_t timeout_ns = 0;       // from the exchange's start (connected, first byte written)
  int64_t deadline_ns = 0;      // absolute instead (a receive that goes on waiting); 0: none
  void* owner = nullptr;        // shared sessions: whose exchange (its Outcome says so)
};

class Session : public IoHandler {
 public:
  virtual ~Session() = default;
  // Starts an exchange; at most capacity() at once. Completes (possibly at once, from inside
  // this call) through SessionHost::complete.
  virtual void submit(const Exchange& x) noexcept = 0;
  // Fails what is due at `now` (timeouts, connect timeouts).
  virtual void check_deadline(int64_t now) noexcept = 0;
  // Exchanges it can hold at once: 1 without pipelining.
  virtual size_t capacity() const noexcept { return 1; }
  // Closes the connection; nothing in flight is reported.
  virtual void close() noexcept = 0;
  virtual bool connected() const noexcept = 0;
  // When the current exchange times out (absolute; 0: not started or none).
  virtual int64_t deadline_ns() const noexcept { return 0; }
  // Shared sessions: abandons `owner`'s exchanges (a stop, the owner's own timeout); nothing
  // is reported.
  virtual void cancel(void* /*owner*/) noexcept {}
  // Called on the next loop turn after the session asked (SessionHost::defer_flush): a shared
  // session writes what submit() queued (requests of many owners go out in one write); a session
  // that stopped reading a flooding peer reads on.
  virtual void flush() noexcept {}

  void* owner = nullptr;       // the engine's: the VU lane this session works for
  int origin = -1;             // the engine's: the origin it connects to
  bool flush_pending = false;  // set by the session as it asks (defer_flush); flush() clears it
};

// errno (or Transport::kTlsError) to an error kind: the one mapping every session uses.
metrics::ErrorKind classify_errno(int err) noexcept;

}  // namespace spiker::proto
