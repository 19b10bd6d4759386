// TLS client over OpenSSL, with OpenSSL's headers kept out of this header.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct ssl_ctx_st;
struct ssl_st;
struct ssl_session_st;

namespace spiker {

struct TlsOptions {
  bool insecure = false;          // skip certificate and host name verification
  std::string cacert;             // PEM file of trusted CAs; empty = system store
  std::string cert;               // client certificate chain (PEM)
  std::string key;                // client private key (PEM)
  std::vector<std::string> alpn;  // protocols offered, e.g. {"http/1.1"}
  std::string min_version;        // "1.2" or "1.3"; empty: 1.2
  std::string max_version;        // empty: the newest OpenSSL has
  std::string
      ciphers;         // OpenSSL cipher list (TLS 1.2) and/or TLS_* suites (TLS 1.3), ':'-separated
  std::string sni;     // server name sent and verified instead of the URL's host
  bool resume = true;  // resume sessions from tickets on reconnects
};

struct SocketAddress;

// Result of a non-blocking TLS operation.
enum class TlsIo { kDone, kWantRead, kWantWrite, kEof, kError };

// The last session ticket a server gave, so new connections resume instead of doing a full
// handshake. One per worker (no locking); move-only.
class TlsSessionCache {
 public:
  TlsSessionCache() = default;
  ~TlsSessionCache();
  TlsSessionCache(const TlsSessionCache&) = delete;
  TlsSessionCache& operator=(const TlsSessionCache&) = delete;
  // Takes ownership of one reference to `session`.
  void store(ssl_session_st* session) noexcept;
  ssl_session_st* get() const noexcept { return session_; }

 private:
  ssl_session_st* session_ = nullptr;
};

// One SSL_CTX for the whole run (shared read-only by workers; OpenSSL locks internally only on
// set-up paths). Throws SetupError when a file cannot be loaded.
class TlsContext {
 public:
  explicit TlsContext(const TlsOptions& options);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  // A client session on connected socket `fd`, with SNI and host name verification for
  // `host` (unless insecure). Returns nullptr when OpenSSL cannot allocate one.
  // With `cache`, the session resumes the cached one and stores the tickets it receives.
  ssl_st* new_session(int fd, const std::string& host, TlsSessionCache* cache = nullptr) const;
  // Connects to `addr` and handshakes (blocking, bounded by `timeout_ms`); returns the protocol
  // the server chose by ALPN ("" for none), or nullopt with `*error` set when the connection or
  // handshake failed.
  std::optional<std::string> probe_alpn(const SocketAddress& addr, const std::string& host,
                                        int timeout_ms, std::string* error) const;

 private:
  ssl_ctx_st* ctx_ = nullptr;
  bool insecure_ = false;
  bool resume_ = true;
  std::string sni_;
};

// The server side (the embedded target): a certificate from PEM files, or a fresh self-signed
// one for localhost, 127.0.0.1 and ::1; ALPN picks h2 when offered (and `h2`), else http/1.1.
class TlsServerContext {
 public:
  TlsServerContext(const std::string& cert_file, const std::string& key_file, bool h2);
  ~TlsServerContext();
  TlsServerContext(const TlsServerContext&) = delete;
  TlsServerContext& operator=(const TlsServerContext&) = delete;
  // A server session on accepted socket `fd` (nullptr when OpenSSL cannot allocate one).
  ssl_st* new_session(int fd) const;
  // The certificate in PEM form (to hand to clients as --cacert).
  const std::string& certificate_pem() const { return cert_pem_; }

 private:
  ssl_ctx_st* ctx_ = nullptr;
  std::string cert_pem_;
};

namespace detail {
// Throws SetupError with `what` and OpenSSL's last error (set-up paths of both sides).
[[noreturn]] void tls_setup_error(const std::string& what);
}  // namespace detail

// Drives the handshake one step (either side).
TlsIo tls_handshake(ssl_st* ssl) noexcept;
// Reads up to `len` bytes; `*n` gets the count when kDone.
TlsIo tls_read(ssl_st* ssl, char* buf, size_t len, size_t* n) noexcept;
// Writes up to `len` bytes; `*n` gets the count when kDone.
TlsIo tls_write(ssl_st* ssl, const char* buf, size_t len, size_t* n) noexcept;
// The protocol chosen by ALPN ("" for none).
std::string_view tls_alpn(ssl_st* ssl) noexcept;
// True when the handshake resumed an earlier session.
bool tls_resumed(ssl_st* ssl) noexcept;
// Frees the session (no close_notify round trip: load generators close hard).
void tls_free(ssl_st* ssl) noexcept;
// Number of bytes OpenSSL has buffered and decrypted but not yet returned.
int tls_pending(ssl_st* ssl) noexcept;
// Raw bytes the session's socket BIO has read and written so far (TLS records included).
void tls_wire_bytes(ssl_st* ssl, uint64_t* read, uint64_t* written) noexcept;
// The last verification or handshake failure, for error reports (set-up and tests).
std::string tls_last_error(ssl_st* ssl);

}  // namespace spiker
