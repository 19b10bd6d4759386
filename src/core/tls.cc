#include "core/tls.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

#include "core/error.h"
#include "core/socket.h"

namespace spiker {
namespace {

[[noreturn]] void fail(const std::string& what) { detail::tls_setup_error(what); }

int tls_version(const std::string& v, const char* flag, int none) {
  if (v.empty()) return none;
  if (v == "1.2" || v == "TLSv1.2") return TLS1_2_VERSION;
  if (v == "1.3" || v == "TLSv1.3") return TLS1_3_VERSION;
  if (v == "1.1" || v == "1.0") {
    throw SetupError(fmt::format("{} {}: TLS before 1.2 is not offered; use 1.2 or 1.3", flag, v),
                     kExitUsage);
  }
  throw SetupError(fmt::format("{} '{}': use 1.2 or 1.3", flag, v), kExitUsage);
}

bool is_ip_literal(const std::string& host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

TlsIo map_error(SSL* ssl, int rc) {
  switch (SSL_get_error(ssl, rc)) {
    case SSL_ERROR_WANT_READ:
      return TlsIo::kWantRead;
    case SSL_ERROR_WANT_WRITE:
      return TlsIo::kWantWrite;
    case SSL_ERROR_ZERO_RETURN:
      return TlsIo::kEof;
    default:
      return TlsIo::kError;
  }
}

// A new session ticket: keep it in the connection's cache (the SSL's app data).
int on_new_session(SSL* ssl, SSL_SESSION* session) {
  auto* cache = static_cast<TlsSessionCache*>(SSL_get_app_data(ssl));
  if (cache == nullptr) return 0;  // OpenSSL keeps ownership
  cache->store(session);
  return 1;  // we took the reference
}

}  // namespace

void detail::tls_setup_error(const std::string& what) {
  unsigned long e = ERR_get_error();
  char buf[256] = "unknown error";
  if (e != 0) ERR_error_string_n(e, buf, sizeof buf);
  throw SetupError(fmt::format("{}: {}", what, buf), kExitUsage);
}

TlsSessionCache::~TlsSessionCache() { SSL_SESSION_free(session_); }

void TlsSessionCache::store(ssl_session_st* session) noexcept {
  SSL_SESSION_free(session_);
  session_ = session;
}

bool tls_resumed(ssl_st* ssl) noexcept { return SSL_session_reused(ssl) == 1; }

TlsContext::TlsContext(const TlsOptions& options)
    : insecure_(options.insecure), resume_(options.resume), sni_(options.sni) {
  ctx_ = SSL_CTX_new(TLS_client_method());
  if (ctx_ == nullptr) fail("cannot create TLS context");
  SSL_CTX_set_min_proto_version(ctx_,
                                tls_version(options.min_version, "--tls-min", TLS1_2_VERSION));
  SSL_CTX_set_max_proto_version(ctx_, tls_version(options.max_version, "--tls-max", 0));
  if (!options.ciphers.empty()) {
    // TLS 1.3 suites are named TLS_*; everything else is an OpenSSL cipher list for 1.2.
    std::string list12, suites13;
    size_t at = 0;
    while (at <= options.ciphers.size()) {
      size_t end = options.ciphers.find(':', at);
      if (end == std::string::npos) end = options.ciphers.size();
      std::string name = options.ciphers.substr(at, end - at);
      std::string& to = name.starts_with("TLS_") ? suites13 : list12;
      if (!name.empty()) to += (to.empty() ? "" : ":") + name;
      at = end + 1;
    }
    if (!list12.empty() && SSL_CTX_set_cipher_list(ctx_, list12.c_str()) != 1) {
      fail(fmt::format("--ciphers: OpenSSL knows none of '{}'", list12));
    }
    if (!suites13.empty() && SSL_CTX_set_ciphersuites(ctx_, suites13.c_str()) != 1) {
      fail(fmt::format("--ciphers: OpenSSL knows none of the TLS 1.3 suites '{}'", suites13));
    }
  }
  // Client-side session caching through our callback only (no internal cache to lock).
  SSL_CTX_set_session_cache_mode(ctx_, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(ctx_, on_new_session);
  SSL_CTX_set_mode(ctx_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                             SSL_MODE_RELEASE_BUFFERS);
  if (options.insecure) {
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_NONE, nullptr);
  } else {
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    if (!options.cacert.empty()) {
      if (SSL_CTX_load_verify_locations(ctx_, options.cacert.c_str(), nullptr) != 1) {
        fail(fmt::format("--cacert: cannot load CA file '{}'", options.cacert));
      }
    } else if (SSL_CTX_set_default_verify_paths(ctx_) != 1) {
      fail("cannot load the system CA store");
    }
  }
  if (!options.cert.empty() || !options.key.empty()) {
    if (options.cert.empty() || options.key.empty()) {
      throw SetupError("--cert and --key go together: give both files (PEM)");
    }
    if (SSL_CTX_use_certificate_chain_file(ctx_, options.cert.c_str()) != 1) {
      fail(fmt::format("--cert: cannot load certificate '{}'", options.cert));
    }
    if (SSL_CTX_use_PrivateKey_file(ctx_, options.key.c_str(), SSL_FILETYPE_PEM) != 1) {
      fail(fmt::format("--key: cannot load private key '{}'", options.key));
    }
    if (SSL_CTX_check_private_key(ctx_) != 1) fail("--key does not match --cert");
  }
  if (!options.alpn.empty()) {
    std::string wire;
    for (const std::string& p : options.alpn) wire += static_cast<char>(p.size()), wire += p;
    SSL_CTX_set_alpn_protos(ctx_, reinterpret_cast<const unsigned char*>(wire.data()),
                            static_cast<unsigned>(wire.size()));
  }
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

ssl_st* TlsContext::new_session(int fd, const std::string& host, TlsSessionCache* cache) const {
  SSL* ssl = SSL_new(ctx_);
  if (ssl == nullptr) return nullptr;
  if (!resume_) cache = nullptr;
  SSL_set_app_data(ssl, cache);
  if (cache != nullptr && cache->get() != nullptr) SSL_set_session(ssl, cache->get());
  SSL_set_fd(ssl, fd);
  SSL_set_connect_state(ssl);
  const std::string& name = sni_.empty() ? host : sni_;
  bool ip = is_ip_literal(name);
  if (!ip) SSL_set_tlsext_host_name(ssl, name.c_str());
  if (!insecure_) {
    if (ip) {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name.c_str());
    } else {
      SSL_set1_host(ssl, name.c_str());
    }
  }
  return ssl;
}

std::optional<std::string> TlsContext::probe_alpn(const SocketAddress& addr,
                                                  const std::string& host, int timeout_ms,
                                                  std::string* error_out) const {
  int fd = start_connect(addr);
  if (fd < 0) {
    *error_out = fmt::format("cannot connect to {}: {}", addr.to_string(), std::strerror(-fd));
    return std::nullopt;
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  auto wait = [&](short events) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p{fd, events, 0};
    return left.count() > 0 && ::poll(&p, 1, static_cast<int>(left.count())) == 1;
  };
  SSL* ssl = nullptr;
  std::string error;
  if (!wait(POLLOUT) || socket_error(fd) != 0) {
    error = "cannot connect";
  } else if ((ssl = new_session(fd, host)) == nullptr) {
    error = "out of memory";
  } else {
    for (;;) {
      TlsIo r = tls_handshake(ssl);
      if (r == TlsIo::kDone) break;
      if ((r != TlsIo::kWantRead && r != TlsIo::kWantWrite) ||
          !wait(r == TlsIo::kWantRead ? POLLIN : POLLOUT)) {
        error = tls_last_error(ssl);
        break;
      }
    }
  }
  std::string alpn = ssl != nullptr && error.empty() ? std::string(tls_alpn(ssl)) : "";
  if (ssl != nullptr) tls_free(ssl);
  ::close(fd);
  if (!error.empty()) {
    *error_out =
        fmt::format("TLS handshake with {} ({}) failed: {}", host, addr.to_string(), error);
    return std::nullopt;
  }
  return alpn;
}

std::string_view tls_alpn(ssl_st* ssl) noexcept {
  const unsigned char* p = nullptr;
  unsigned len = 0;
  SSL_get0_alpn_selected(ssl, &p, &len);
  return p == nullptr ? std::string_view()
                      : std::string_view(reinterpret_cast<const char*>(p), len);
}

TlsIo tls_handshake(ssl_st* ssl) noexcept {
  int rc = SSL_do_handshake(ssl);
  return rc == 1 ? TlsIo::kDone : map_error(ssl, rc);
}

TlsIo tls_read(ssl_st* ssl, char* buf, size_t len, size_t* n) noexcept {
  int rc = SSL_read_ex(ssl, buf, len, n);
  return rc == 1 ? TlsIo::kDone : map_error(ssl, rc);
}

TlsIo tls_write(ssl_st* ssl, const char* buf, size_t len, size_t* n) noexcept {
  int rc = SSL_write_ex(ssl, buf, len, n);
  return rc == 1 ? TlsIo::kDone : map_error(ssl, rc);
}

void tls_free(ssl_st* ssl) noexcept {
  ERR_clear_error();
  // Freed without a close_notify round trip, OpenSSL would mark the session not resumable;
  // flag the shutdown as done (nothing is sent) so that its ticket stays usable.
  SSL_set_shutdown(ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
  SSL_free(ssl);
}

void tls_wire_bytes(ssl_st* ssl, uint64_t* read, uint64_t* written) noexcept {
  *read = BIO_number_read(SSL_get_rbio(ssl));
  *written = BIO_number_written(SSL_get_wbio(ssl));
}

int tls_pending(ssl_st* ssl) noexcept { return SSL_pending(ssl); }

std::string tls_last_error(ssl_st* ssl) {
  long v = SSL_get_verify_result(ssl);
  if (v != X509_V_OK) return X509_verify_cert_error_string(v);
  unsigned long e = ERR_peek_last_error();
  char buf[256] = "handshake failed";
  if (e != 0) ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

}  // namespace spiker
