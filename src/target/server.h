// The embedded target (`loadspiker serve`): a multi-threaded epoll HTTP/1.1 server, one
// SO_REUSEPORT listener and loop per thread, with the endpoints of routes.h.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "target/routes.h"

namespace spiker::target {

class Server {
 public:
  // Binds host:port (0 picks a free port) on `threads` listeners. Throws SetupError.
  Server(const std::string& host, int port, int threads);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  int port() const { return port_; }
  // Serves until stop(); returns when every thread has ended.
  void run();
  void stop() { stop_.store(true); }

 private:
  void serve_loop(int listen_fd);

  int port_ = 0;
  std::vector<int> listeners_;
  std::atomic<bool> stop_{false};
  RouteContext ctx_;
};

}  // namespace spiker::target
