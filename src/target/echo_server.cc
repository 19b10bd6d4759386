#include "target/echo_server.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/error.h"
#include "core/resolver.h"
#include "core/socket.h"

namespace spiker::target {
namespace {

constexpr size_t kMaxPending = 4u << 20;  // bytes a slow reader may owe before it is dropped

int bind_udp(const std::string& host, int port) {
  std::vector<SocketAddress> addrs = resolve(host, static_cast<uint16_t>(port));
  const SocketAddress& a = addrs.front();
  int fd = ::socket(a.storage.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0 || ::bind(fd, reinterpret_cast<const sockaddr*>(&a.storage), a.len) != 0) {
    int err = errno;
    if (fd >= 0) ::close(fd);
    throw SetupError(fmt::format("--udp-echo: cannot bind {}:{}: {}", host, port,
                                 std::strerror(err)));
  }
  int size = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  return fd;
}

void add(int epfd, int fd, uint32_t events) {
  epoll_event ev{};
  ev.events = events;
  ev.data.fd = fd;
  epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

}  // namespace

EchoServer::EchoServer(const std::string& host, int tcp_port, int udp_port) {
  if (tcp_port > 0) {
    tcp_fd_ = listen_tcp(host, tcp_port, false);
    tcp_port_ = local_port(tcp_fd_);
  }
  if (udp_port > 0) {
    udp_fd_ = bind_udp(host, udp_port);
    udp_port_ = local_port(udp_fd_);
  }
}

EchoServer::~EchoServer() {
  if (tcp_fd_ >= 0) ::close(tcp_fd_);
  if (udp_fd_ >= 0) ::close(udp_fd_);
}

void EchoServer::run(const std::atomic<bool>& stop) {
  int epfd = epoll_create1(EPOLL_CLOEXEC);
  if (tcp_fd_ >= 0) add(epfd, tcp_fd_, EPOLLIN);
  if (udp_fd_ >= 0) add(epfd, udp_fd_, EPOLLIN);
  std::unordered_map<int, std::string> pending;  // per TCP connection: bytes not yet written
  std::vector<char> buf(64 * 1024);
  auto drop = [&](int fd) {
    pending.erase(fd);
    ::close(fd);
  };
  // Writes what `fd` owes; false when the connection is gone.
  auto flush = [&](int fd, std::string& out) {
    while (!out.empty()) {
      ssize_t n = ::write(fd, out.data(), out.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return errno == EAGAIN && out.size() <= kMaxPending;
      out.erase(0, static_cast<size_t>(n));
    }
    return true;
  };
  epoll_event events[128];
  while (!stop.load(std::memory_order_relaxed)) {
    int n = epoll_wait(epfd, events, 128, 100);
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      if (fd == tcp_fd_) {
        for (int c; (c = accept4(tcp_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0;) {
          add(epfd, c, EPOLLIN | EPOLLOUT | EPOLLET | EPOLLRDHUP);
          pending[c];
        }
        continue;
      }
      if (fd == udp_fd_) {
        for (;;) {
          sockaddr_storage from{};
          socklen_t len = sizeof from;
          ssize_t got = recvfrom(udp_fd_, buf.data(), buf.size(), 0,
                                 reinterpret_cast<sockaddr*>(&from), &len);
          if (got < 0) break;
          sendto(udp_fd_, buf.data(), static_cast<size_t>(got), 0,
                 reinterpret_cast<sockaddr*>(&from), len);
        }
        continue;
      }
      std::string& out = pending[fd];
      bool alive = flush(fd, out);
      while (alive) {
        ssize_t got = ::read(fd, buf.data(), buf.size());
        if (got < 0 && errno == EINTR) continue;
        if (got == 0 || (got < 0 && errno != EAGAIN)) alive = false;
        if (got <= 0) break;
        out.append(buf.data(), static_cast<size_t>(got));
        alive = flush(fd, out);
      }
      if (!alive) drop(fd);
    }
  }
  for (auto& [fd, out] : pending) ::close(fd);
  ::close(epfd);
}

}  // namespace spiker::target
