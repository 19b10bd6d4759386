#include "core/resolver.h"

#include <fmt/format.h>
#include <netdb.h>
#include <poll.h>
#include <unistd.h>

#include <cstring>

#include "core/error.h"

namespace spiker {

std::vector<SocketAddress> resolve(const std::string& host, uint16_t port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_protocol = IPPROTO_TCP;
  addrinfo* list = nullptr;
  std::string service = std::to_string(port);
  int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &list);
  if (rc != 0) {
    throw SetupError(fmt::format("cannot resolve host '{}': {}; check the URL's host name", host,
                                 gai_strerror(rc)),
                     kExitError);
  }
  std::vector<SocketAddress> out;
  for (addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
    SocketAddress a;
    std::memcpy(&a.storage, ai->ai_addr, ai->ai_addrlen);
    a.len = ai->ai_addrlen;
    out.push_back(a);
  }
  freeaddrinfo(list);
  if (out.empty()) {
    throw SetupError(fmt::format("host '{}' has no addresses", host), kExitError);
  }
  return out;
}

std::vector<SocketAddress> reachable(const std::vector<SocketAddress>& addresses, int timeout_ms,
                                     std::vector<SocketAddress>* dropped) {
  if (addresses.size() < 2) return addresses;
  std::vector<SocketAddress> ok;
  for (const SocketAddress& a : addresses) {
    int fd = start_connect(a);
    bool connected = false;
    if (fd >= 0) {
      pollfd p{fd, POLLOUT, 0};
      connected = poll(&p, 1, timeout_ms) == 1 && socket_error(fd) == 0;
      close(fd);
    }
    (connected ? ok : *dropped).push_back(a);
  }
  if (ok.empty()) {
    dropped->clear();
    return addresses;
  }
  return ok;
}

}  // namespace spiker
