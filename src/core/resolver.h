// Name resolution, once at start-up (never on the hot path).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/socket.h"

namespace spiker {

// All addresses (IPv4 and IPv6) of `host`, in the resolver's order. Throws SetupError
// (exit code 1) when the name does not resolve.
std::vector<SocketAddress> resolve(const std::string& host, uint16_t port);

// The addresses that accept a test connection within `timeout_ms` (a name such as localhost
// may resolve to ::1 and 127.0.0.1 with the server listening on one only). When none does,
// all are returned, so the run reports the failures. `dropped` gets the others.
std::vector<SocketAddress> reachable(const std::vector<SocketAddress>& addresses, int timeout_ms,
                                     std::vector<SocketAddress>* dropped);

}  // namespace spiker
