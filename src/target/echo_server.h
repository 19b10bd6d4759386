// The embedded target's raw echo endpoints: `serve --tcp-echo PORT` writes back every byte a
// TCP connection sends; `--udp-echo PORT` answers every datagram with itself. One thread, one
// epoll loop, for TCP and UDP load tests with nothing else installed.
#pragma once

#include <atomic>
#include <string>

namespace spiker::target {

class EchoServer {
 public:
  // Binds the ports that are >= 0 (0: any free port; -1: that echo is off). Throws SetupError.
  EchoServer(const std::string& host, int tcp_port, int udp_port);
  ~EchoServer();
  EchoServer(const EchoServer&) = delete;
  EchoServer& operator=(const EchoServer&) = delete;

  // Serves until `stop` is set (checked every 100 ms).
  void run(const std::atomic<bool>& stop);
  int tcp_port() const { return tcp_port_; }
  int udp_port() const { return udp_port_; }

 private:
  int tcp_fd_ = -1, udp_fd_ = -1;
  int tcp_port_ = 0, udp_port_ = 0;
};

}  // namespace spiker::target
