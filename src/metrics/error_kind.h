// The kinds of failed request, counted by enum on the hot path.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace spiker::metrics {

enum class ErrorKind : uint8_t {
  kTimeout,  // no complete response within --timeout
  kDns,      // name did not resolve
  kConnect,  // TCP connect failed (unreachable) or exceeded --connect-timeout
  kRefused,  // connection refused (nothing listening)
  kReset,    // connection reset or closed by the server before any response byte
  kTls,      // TLS handshake or certificate verification failed
  kHttp,     // malformed response, or closed inside the response head
  kBody,     // closed before the body was complete
  kOther,    // anything else (local resource limits, ...)
  // A reply that breaks its protocol (not HTTP: malformed, or over a bound): the protocol's stat
  // block says which, under its own name.
  kProtocol,
};
inline constexpr size_t kErrorKindCount = 10;

// Kaioken's JSON names.
inline constexpr std::array<std::string_view, kErrorKindCount> kErrorKindNames = {
    "timeout", "dns", "connect", "refused", "reset", "tls", "http", "body", "other", "protocol"};

// One line that tells the user what to look at.
inline constexpr std::array<std::string_view, kErrorKindCount> kErrorKindHints = {
    "server too slow: no complete response within --timeout",
    "host name did not resolve: check the URL",
    "could not connect within --connect-timeout, or host unreachable",
    "connection refused: is the server listening on that port?",
    "server reset or closed the connection before answering",
    "TLS failed: certificate not trusted (--cacert, --insecure) or protocol mismatch",
    "malformed HTTP response, or connection closed inside the response head",
    "connection closed before the response body was complete",
    "local error (file descriptors, memory): check ulimit -n",
    "the server's reply broke its protocol (malformed, or over a limit): see the protocol's own "
    "section",
};

}  // namespace spiker::metrics
