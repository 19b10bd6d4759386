#include "target/echo_server.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/error.h"
#include "core/event_loop.h"
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
    throw SetupError(
        fmt::format("--udp-echo: cannot bind {}:{}: {}", host, port, std::strerror(err)));
  }
  int size = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  return fd;
}

}  // namespace

EchoServer::EchoServer(const std::string& host, int tcp_port, int udp_port) {
  if (tcp_port >= 0) {
    tcp_fd_ = listen_tcp(host, tcp_port, false);
    tcp_port_ = local_port(tcp_fd_);
  }
  if (udp_port >= 0) {
    udp_fd_ = bind_udp(host, udp_port);
    udp_port_ = local_port(udp_fd_);
  }
}

EchoServer::~EchoServer() {
  if (tcp_fd_ >= 0) ::close(tcp_fd_);
  if (udp_fd_ >= 0) ::close(udp_fd_);
}

namespace {

// The echoes on one event loop: a handler per socket, closed connections erased after the batch
// of events that closed them.
class EchoLoop final {
 public:
  EchoLoop(int tcp_fd, int udp_fd) : tcp_fd_(tcp_fd), udp_fd_(udp_fd), buf_(64 * 1024) {}
  ~EchoLoop() {
    for (auto& [fd, c] : conns_) ::close(fd);
  }

  void run(const std::atomic<bool>& stop) {
    if (!loop_.open()) return;
    if (tcp_fd_ >= 0) loop_.add(tcp_fd_, EPOLLIN, &acceptor_);
    if (udp_fd_ >= 0) loop_.add(udp_fd_, EPOLLIN, &datagrams_);
    while (!stop.load(std::memory_order_relaxed)) {
      loop_.poll(100'000'000);
      for (int fd : dead_) {
        conns_.erase(fd);
        ::close(fd);
      }
      dead_.clear();
    }
  }

 private:
  struct Acceptor final : IoHandler {
    EchoLoop* loop;
    explicit Acceptor(EchoLoop* l) : loop(l) {}
    void on_io(uint32_t) noexcept override { loop->accept_all(); }
  };
  struct Datagrams final : IoHandler {
    EchoLoop* loop;
    explicit Datagrams(EchoLoop* l) : loop(l) {}
    void on_io(uint32_t) noexcept override { loop->echo_datagrams(); }
  };
  struct Conn final : IoHandler {
    EchoLoop* loop;
    int fd;
    bool dead = false;
    std::string pending;  // bytes not yet written back
    Conn(EchoLoop* l, int f) : loop(l), fd(f) {}
    void on_io(uint32_t) noexcept override {
      if (!dead) loop->echo(*this);
    }
  };

  void accept_all() {
    for (int c; (c = accept4(tcp_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0;) {
      auto conn = std::make_unique<Conn>(this, c);
      loop_.add(c, EPOLLIN | EPOLLOUT | EPOLLET | EPOLLRDHUP, conn.get());
      conns_[c] = std::move(conn);
    }
  }

  void echo_datagrams() {
    for (;;) {
      sockaddr_storage from{};
      socklen_t len = sizeof from;
      ssize_t got =
          recvfrom(udp_fd_, buf_.data(), buf_.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
      if (got < 0) return;
      sendto(udp_fd_, buf_.data(), static_cast<size_t>(got), 0, reinterpret_cast<sockaddr*>(&from),
             len);
    }
  }

  // Writes what `c` owes; false when the connection is gone.
  static bool flush(Conn& c) {
    while (!c.pending.empty()) {
      ssize_t n = ::write(c.fd, c.pending.data(), c.pending.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return errno == EAGAIN && c.pending.size() <= kMaxPending;
      c.pending.erase(0, static_cast<size_t>(n));
    }
    return true;
  }

  void echo(Conn& c) {
    bool alive = flush(c);
    while (alive) {
      ssize_t got = ::read(c.fd, buf_.data(), buf_.size());
      if (got < 0 && errno == EINTR) continue;
      if (got == 0 || (got < 0 && errno != EAGAIN)) alive = false;
      if (got <= 0) break;
      c.pending.append(buf_.data(), static_cast<size_t>(got));
      alive = flush(c);
    }
    if (!alive) {
      c.dead = true;
      dead_.push_back(c.fd);
    }
  }

  int tcp_fd_, udp_fd_;
  EventLoop loop_;
  Acceptor acceptor_{this};
  Datagrams datagrams_{this};
  std::unordered_map<int, std::unique_ptr<Conn>> conns_;
  std::vector<int> dead_;
  std::vector<char> buf_;
};

}  // namespace

void EchoServer::run(const std::atomic<bool>& stop) { EchoLoop(tcp_fd_, udp_fd_).run(stop); }

}  // namespace spiker::target
