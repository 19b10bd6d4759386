// One client transport for TCP, TLS over TCP and UDP: non-blocking connect, the TLS handshake
// (SNI, ALPN, resumption, client certificates, versions and ciphers come from the TlsContext),
// reads and writes with wire bytes counted. Registered once, edge-triggered, with an IoHandler.
// Errors are errno values (0 = none, kTlsError for a failed handshake); one function in
// src/proto maps them to error kinds.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/io_handler.h"

struct ssl_st;

namespace spiker {

struct SocketAddress;
class TlsContext;
class TlsSessionCache;

// A proxy that a connection goes through before it speaks to its host: an HTTP proxy's CONNECT
// or SOCKS5 (RFC 1928, with RFC 1929 user/password), to `host`:`port` (the proxy resolves it).
struct Tunnel {
  enum class Kind : uint8_t { kHttpConnect, kSocks5 };
  Kind kind = Kind::kHttpConnect;
  std::string host;
  uint16_t port = 0;
  std::string user, password;  // empty: no proxy authentication
};

class Transport {
 public:
  enum class Kind : uint8_t { kTcp, kTls, kUdp };
  enum class Phase : uint8_t { kClosed, kConnecting, kTunneling, kHandshaking, kOpen };
  enum class Io : uint8_t { kOk, kAgain, kEof, kError };
  static constexpr int kTlsError = -1;    // error(): the TLS handshake or a record failed
  static constexpr int kProxyError = -2;  // error(): the proxy refused or broke the tunnel

  Transport() = default;
  ~Transport() { close(); }
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  // Starts connecting to `addr` and registers the socket with `epoll_fd` for `handler`.
  // Returns 0, or the errno that stopped it (EMFILE, ECONNREFUSED, ...).
  // With `tunnel`, `addr` is the proxy's and the tunnel is opened before TLS.
  int open(const SocketAddress& addr, Kind kind, int epoll_fd, IoHandler* handler,
           const Tunnel* tunnel = nullptr) noexcept;
  // Moves connect and handshake on (call on any event while not open). kOk: open now;
  // kAgain: wait for the next event; kError: error() says why.
  Io progress(const TlsContext* tls, const std::string& host, TlsSessionCache* cache) noexcept;
  Io read(char* buf, size_t cap, size_t* got) noexcept {
    return ssl_ == nullptr ? read_plain(buf, cap, got) : read_tls(buf, cap, got);
  }
  Io write(const char* p, size_t len, size_t* wrote) noexcept {
    return ssl_ == nullptr ? write_plain(p, len, wrote) : write_tls(p, len, wrote);
  }
  void close() noexcept;

  Phase phase() const { return phase_; }
  bool is_open() const { return phase_ == Phase::kOpen; }
  int fd() const { return fd_; }
  int error() const { return error_; }
  bool resumed() const;           // TLS: the handshake resumed a session
  std::string_view alpn() const;  // TLS: the protocol the server chose ("" for none)
  // Wire bytes since the last call (TLS records included).
  void take_bytes(uint64_t* in, uint64_t* out) noexcept {
    if (ssl_ != nullptr) return take_tls_bytes(in, out);
    *in = in_;
    *out = out_;
    in_ = out_ = 0;
  }

 private:
  Io read_plain(char* buf, size_t cap, size_t* got) noexcept;
  Io read_tls(char* buf, size_t cap, size_t* got) noexcept;
  Io write_plain(const char* p, size_t len, size_t* wrote) noexcept;
  Io write_tls(const char* p, size_t len, size_t* wrote) noexcept;
  void take_tls_bytes(uint64_t* in, uint64_t* out) noexcept;
  Io after_connect(const TlsContext* tls, const std::string& host, TlsSessionCache* cache) noexcept;
  Io tunnel_step() noexcept;  // kOk: the tunnel is open

  int fd_ = -1;
  ssl_st* ssl_ = nullptr;
  Kind kind_ = Kind::kTcp;
  Phase phase_ = Phase::kClosed;
  int error_ = 0;
  uint64_t in_ = 0, out_ = 0;          // plain bytes not yet taken
  uint64_t tls_in_ = 0, tls_out_ = 0;  // TLS wire totals already taken
  const Tunnel* tunnel_ = nullptr;
  std::string tunnel_out_, tunnel_in_;  // handshake bytes to send, and received so far
  size_t tunnel_sent_ = 0;
  uint8_t tunnel_stage_ = 0;  // SOCKS5: 0 method, 1 auth, 2 connect reply; CONNECT: 0
};

}  // namespace spiker
