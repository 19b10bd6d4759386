// The server half of TLS, for the embedded target: a self-signed certificate made at start-up
// (or one from files) and ALPN selection.
#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <cstring>

#include "core/error.h"
#include "core/tls.h"

namespace spiker {
namespace {

[[noreturn]] void fail(const std::string& what) { detail::tls_setup_error(what); }

int select_alpn(SSL* /*ssl*/, const unsigned char** out, unsigned char* outlen,
                const unsigned char* in, unsigned int inlen, void* arg) {
  bool h2 = arg != nullptr;
  // Server preference: h2 first (when enabled), then http/1.1.
  static const unsigned char kBoth[] = "\x02h2\x08http/1.1";
  static const unsigned char kH1[] = "\x08http/1.1";
  const unsigned char* prefs = h2 ? kBoth : kH1;
  unsigned prefs_len = h2 ? sizeof kBoth - 1 : sizeof kH1 - 1;
  unsigned char* chosen = nullptr;
  if (SSL_select_next_proto(&chosen, outlen, prefs, prefs_len, in, inlen) !=
      OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_NOACK;  // no ALPN in common: go on without one (HTTP/1.1)
  }
  *out = chosen;
  return SSL_TLSEXT_ERR_OK;
}

// A self-signed EC P-256 certificate for the loopback names, valid for a week.
void self_signed(SSL_CTX* ctx, std::string* pem) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  if (key == nullptr) fail("--tls: cannot generate a key");
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), static_cast<long>(time(nullptr)));
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 7 * 24 * 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* san =
      X509V3_EXT_conf_nid(nullptr, &v3, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1,IP:::1");
  if (san == nullptr) fail("--tls: cannot make the certificate's names");
  X509_add_ext(cert, san, -1);
  X509_EXTENSION_free(san);
  if (X509_sign(cert, key, EVP_sha256()) == 0) fail("--tls: cannot sign the certificate");
  if (SSL_CTX_use_certificate(ctx, cert) != 1 || SSL_CTX_use_PrivateKey(ctx, key) != 1) {
    fail("--tls: cannot use the certificate");
  }
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  pem->assign(data, static_cast<size_t>(len));
  BIO_free(bio);
  X509_free(cert);
  EVP_PKEY_free(key);
}

}  // namespace

TlsServerContext::TlsServerContext(const std::string& cert_file, const std::string& key_file,
                                   bool h2) {
  ctx_ = SSL_CTX_new(TLS_server_method());
  if (ctx_ == nullptr) fail("cannot create TLS context");
  SSL_CTX_set_min_proto_version(ctx_, TLS1_2_VERSION);
  SSL_CTX_set_mode(ctx_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  if (cert_file.empty() != key_file.empty()) {
    throw SetupError(
        "--cert and --key go together: give both files (PEM), or neither for a "
        "self-signed certificate");
  }
  if (cert_file.empty()) {
    self_signed(ctx_, &cert_pem_);
  } else {
    if (SSL_CTX_use_certificate_chain_file(ctx_, cert_file.c_str()) != 1) {
      fail(fmt::format("--cert: cannot load certificate '{}'", cert_file));
    }
    if (SSL_CTX_use_PrivateKey_file(ctx_, key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
      fail(fmt::format("--key: cannot load private key '{}'", key_file));
    }
    if (SSL_CTX_check_private_key(ctx_) != 1) fail("--key does not match --cert");
  }
  SSL_CTX_set_alpn_select_cb(ctx_, select_alpn, h2 ? this : nullptr);
}

TlsServerContext::~TlsServerContext() { SSL_CTX_free(ctx_); }

ssl_st* TlsServerContext::new_session(int fd) const {
  SSL* ssl = SSL_new(ctx_);
  if (ssl == nullptr) return nullptr;
  SSL_set_fd(ssl, fd);
  SSL_set_accept_state(ssl);
  return ssl;
}

}  // namespace spiker
