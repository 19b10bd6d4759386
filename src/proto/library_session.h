// A base for sessions whose socket a client library reads and writes (libpq, libmariadb,
// libldap): the exchange's bookkeeping (its requests, service start, deadline), the Outcomes it
// ends with (rows, a refused request with the server's error code, failures), the socket on the
// worker's epoll (level-triggered: the library decides how much it reads) and the wire bytes,
// from the kernel's count. The protocol drives the library and says when the socket changes.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "metrics/error_kind.h"
#include "proto/session.h"

namespace spiker::proto {

class LibrarySession : public Session {
 public:
  LibrarySession(SessionHost& host, const SessionOptions& options)
      : host_(host), options_(options) {}

  int64_t deadline_ns() const noexcept override { return deadline_ns_; }

 protected:
  // Takes a submitted exchange: its request, payload (copied), requests, capture and timeout.
  // A close (Verb::kClose) ends here: the connection closed, the exchange answered; false.
  bool take(const Exchange& x);
  // The exchange goes on the wire now: its service time and deadline start.
  void started() noexcept;
  // One request answered: its rows (-1: none) and body (what checks read).
  void report_ok(int64_t rows, std::string_view body) noexcept;
  // One request refused by the server: `code` is its "error" (SQLSTATE, LDAP result code).
  void report_refused(std::string_view code, std::string_view message) noexcept;
  // Every request not answered yet fails with `kind` (the caller closed the connection).
  void fail_remaining(metrics::ErrorKind kind) noexcept;
  // Watches `fd` for `events` (EPOLLIN / EPOLLOUT; EPOLLRDHUP always), a new fd replacing the
  // old; -1 stops watching.
  void watch(int fd, uint32_t events) noexcept;
  // Counts the socket's wire bytes since the last call (at most every 64 exchanges, and when it
  // closes: call before closing it).
  void account() noexcept;
  // When the exchange's last request is reported: a connection per exchange closes.
  virtual void ended() noexcept {
    if (!options_.keep_alive) close();
  }

  SessionHost& host_;
  const SessionOptions& options_;
  const plan::ProtocolRequest* request_ = nullptr;
  std::string payload_;
  uint16_t count_ = 1;     // requests in the exchange
  uint16_t reported_ = 0;  // of them reported
  bool busy_ = false;
  bool capture_ = false;
  int64_t timeout_ns_ = 0, started_ns_ = 0, deadline_ns_ = 0;
  int fd_ = -1;  // the watched socket

 private:
  void one_done() noexcept;

  uint32_t watched_ = 0;
  uint64_t bytes_in_ = 0, bytes_out_ = 0, exchanges_ = 0;
};

// A protocol's Protocol::make_session for its LibrarySession `S`.
template <typename S>
std::unique_ptr<Session> make_library_session(SessionHost& host, const SessionOptions& o) {
  return std::make_unique<S>(host, o);
}

}  // namespace spiker::proto
