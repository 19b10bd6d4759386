// A base for sessions that own one core Transport (TCP, TLS or UDP): connecting over the
// endpoint's addresses, the TLS handshake, connect and handshake timings, wire bytes, the
// current exchange with its deadline, and the two ways it ends (finish / fail). A protocol
// implements what happens once the transport is open and when it is readable or writable.
#pragma once

#include <memory>
#include <string>

#include "core/transport.h"
#include "metrics/shard.h"
#include "proto/session.h"

namespace spiker::proto {

class TransportSession : public Session {
 public:
  TransportSession(SessionHost& host, const SessionOptions& options, Transport::Kind kind)
      : host_(host), options_(options), kind_(kind) {}
  ~TransportSession() override { transport_.close(); }

  void submit(const Exchange& x) noexcept final;
  void on_io(uint32_t events) noexcept override;
  // Reading that defer_reading() left for this turn goes on.
  void flush() noexcept override;
  void check_deadline(int64_t now) noexcept override;
  void close() noexcept override;
  bool connected() const noexcept override { return transport_.is_open(); }
  int64_t deadline_ns() const noexcept override { return exchange_.deadline_ns; }

 protected:
  // The transport is open and `exchange_` is set: start it (write the payload, ...).
  virtual void start() noexcept = 0;
  // Edge-triggered events while open (EPOLLIN/EPOLLOUT/EPOLLRDHUP/...).
  virtual void on_events(uint32_t events) noexcept = 0;
  // The exchange's deadline passed (after connecting); default: fail it as a timeout and close.
  virtual void timed_out() noexcept;
  // Requests of the exchange not answered yet (a failure reports one Outcome each).
  virtual uint16_t unanswered() const noexcept { return exchange_.count; }
  // The connection is failing with `kind` (before anything is reported; also between
  // exchanges): a protocol counts how it ended.
  virtual void on_failure(metrics::ErrorKind) noexcept {}

  // Reads what the transport has into the worker's read buffer (`*data`, `*got` of `*cap`),
  // wire bytes counted: kOk, kAgain (drained), kEof or kError (transport_.error()).
  Transport::Io read_chunk(const char** data, size_t* got, size_t* cap) noexcept {
    if (--reads_left_ < 0) {  // a peer that floods must not hold the loop
      defer_reading();
      return Transport::Io::kAgain;
    }
    char* buf = host_.read_buffer(cap);
    *data = buf;
    *got = 0;
    Transport::Io r = transport_.read(buf, *cap, got);
    account();
    return r;
  }
  // Reads in one go before the rest waits for the next loop turn, so that a peer sending
  // faster than we read cannot keep the worker from its deadlines, timers and other VUs.
  static constexpr int kReadsPerTurn = 16;
  // Leaves what the peer sent for the next loop turn: flush() goes on reading (edge-triggered
  // epoll would not tell again).
  void defer_reading() noexcept {
    if (flush_pending) return;
    flush_pending = true;
    host_.defer_flush(*this);
  }
  int reads_left_ = kReadsPerTurn;  // reset on every event and every resumption
  // Writes `out_` from `out_off_`: true when all of it is written (false: EPOLLOUT resumes, or
  // it failed and the exchange ended).
  bool write_payload() noexcept;
  // Counts wire bytes since the last call into the shard.
  void account() noexcept {
    uint64_t in = 0, out = 0;
    transport_.take_bytes(&in, &out);
    add_bytes(in, out);
  }
  void add_bytes(uint64_t in, uint64_t out) noexcept {
    metrics::Shard& s = host_.shard();
    s.bytes_received += in;
    s.bytes_sent += out;
  }
  // Reads what the transport has into `in`, calling `parsed()` after each chunk, until it is
  // drained or the connection closes. The peer's close or an error ends the connection:
  // on_failure, `in` cleared, the exchange in progress failed, or (`resend`) sent again once
  // when a kept connection had gone stale before it was answered.
  template <typename Parsed>
  void read_stream(std::string& in, bool resend, Parsed parsed) noexcept {
    for (;;) {
      const char* buf = nullptr;
      size_t got = 0, cap = 0;
      Transport::Io r = transport_.is_open() ? read_chunk(&buf, &got, &cap) : Transport::Io::kEof;
      if (r == Transport::Io::kAgain) return;
      if (r != Transport::Io::kOk) {
        metrics::ErrorKind kind = r == Transport::Io::kEof ? metrics::ErrorKind::kReset
                                                           : classify_errno(transport_.error());
        in.clear();
        on_failure(kind);
        if (resend && r == Transport::Io::kEof && busy() && out_off_ == 0 && resend_on_stale()) {
          return;
        }
        close();
        if (busy()) fail(kind);
        return;
      }
      in.append(buf, got);
      parsed();
      if (!transport_.is_open()) return;
    }
  }
  // Ends the exchange: ok with `body` as what checks read (status: the protocol's).
  void finish(std::string_view body, int status = 0) noexcept;
  // Reports one finished request of a pipelined exchange; `last` ends the exchange.
  void complete_one(Outcome& o, bool last) noexcept {
    if (o.ok) reused_ = true;
    if (o.sent_ns == 0) o.sent_ns = started_ns_;
    if (last) end();
    host_.complete(*this, o);
  }
  // Ends one request of the exchange as refused by the server (an error reply): its code is
  // the reply's "error" header, its message the body; `last` ends the exchange.
  void refuse(std::string_view code, std::string_view message, bool last = true) noexcept {
    Outcome o;
    o.refused = true;
    o.done_ns = host_.now();
    plan::CapturedResponse parts;
    parts.body = message;
    parts.headers.emplace_back("error", code);
    o.parts = &parts;
    complete_one(o, last);
  }
  // Ends the exchange with `kind`; the connection is closed.
  void fail(metrics::ErrorKind kind) noexcept;
  // Ends the exchange with `kind`; the connection stays (a receive that waited in vain).
  void give_up(metrics::ErrorKind kind) noexcept;
  bool busy() const { return busy_; }
  // The peer closed a connection that had served an exchange before this one was sent (a
  // keep-alive connection gone stale): sends the exchange again on a new connection, once.
  // False when that is not the case (the caller fails the exchange).
  bool resend_on_stale() noexcept;

  SessionHost& host_;
  const SessionOptions& options_;
  Transport::Kind kind_;
  Transport transport_;
  Exchange exchange_;
  std::string_view out_;  // bytes to write for the current exchange (the payload, or out_copy_)
  std::unique_ptr<std::string> out_copy_;  // an unstable payload's copy, made when needed
  size_t out_off_ = 0;
  int64_t started_ns_ = 0;    // the exchange's service start (first byte written / wait begun)
  int64_t submitted_ns_ = 0;  // when it was submitted (connecting included)

 private:
  void connect() noexcept;
  void opened() noexcept;
  void begin() noexcept;
  void end() noexcept;

  bool busy_ = false;
  bool reused_ = false;   // an exchange finished on this connection
  bool retried_ = false;  // the current exchange was sent again after a stale close
  int64_t connect_start_ns_ = 0;
  int64_t handshake_start_ns_ = 0;
  int64_t connect_deadline_ns_ = 0;
};

// A protocol's Protocol::make_session for its TransportSession `S`: TLS when the endpoint has
// it, TCP otherwise.
template <typename S>
std::unique_ptr<Session> make_transport_session(SessionHost& host, const SessionOptions& o) {
  return std::make_unique<S>(
      host, o, o.endpoint.tls != nullptr ? Transport::Kind::kTls : Transport::Kind::kTcp);
}

}  // namespace spiker::proto
