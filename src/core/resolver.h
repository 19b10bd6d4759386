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

}  // namespace spiker
