// Non-blocking TCP sockets: thin, errno-returning helpers for the hot path.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>

namespace spiker {

struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t len = 0;
  std::string to_string() const;  // "127.0.0.1:80", "[::1]:80"
  std::string ip() const;         // "127.0.0.1", "::1": for client libraries that connect
  uint16_t port() const;
};

// Bytes a TCP socket has had acknowledged (sent) and received since it opened, from the
// kernel (TCP_INFO): the wire bytes of a connection a client library reads and writes itself.
// False when the socket cannot tell.
bool tcp_byte_counts(int fd, uint64_t* sent, uint64_t* received) noexcept;

// Opens a non-blocking TCP socket with TCP_NODELAY and starts connecting to `addr`.
// Returns the fd (connect in progress or done) or -errno.
int start_connect(const SocketAddress& addr) noexcept;

// The pending error of a connecting socket (SO_ERROR): 0 when connected.
int socket_error(int fd) noexcept;

// Makes the next close() send RST instead of FIN (SO_LINGER 0).
void set_linger_reset(int fd) noexcept;

// Listening socket bound to host:port (port 0 picks a free one), non-blocking, SO_REUSEADDR,
// and SO_REUSEPORT when `reuse_port`. Throws SetupError on failure.
int listen_tcp(const std::string& host, int port, bool reuse_port);

// Raises the soft open-file limit toward `wanted` (up to the hard limit); returns the new soft
// limit.
uint64_t raise_open_file_limit(uint64_t wanted) noexcept;

// The local port a socket is bound to.
int local_port(int fd) noexcept;

}  // namespace spiker
