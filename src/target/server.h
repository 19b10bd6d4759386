// The embedded target (`loadspiker serve`): a multi-threaded epoll server, one SO_REUSEPORT
// listener and loop per thread, with the endpoints of routes.h over HTTP/1.1, HTTP/2 (h2c with
// prior knowledge, or h2 by ALPN with --tls) and a WebSocket echo at /ws.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "target/routes.h"

namespace spiker {
class TlsServerContext;
}

namespace spiker::target {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;  // 0: any free port
  int threads = 1;
  bool tls = false;       // TLS on the port (self-signed unless cert/key are given)
  std::string cert, key;  // PEM files
  bool h2 = true;         // HTTP/2: h2c with prior knowledge, and h2 by ALPN under TLS
};

class Server {
 public:
  // Binds host:port on `threads` listeners. Throws SetupError.
  explicit Server(const ServerOptions& options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  int port() const { return port_; }
  // The TLS certificate in PEM form (empty without TLS).
  std::string certificate_pem() const;
  // Serves until stop(); returns when every thread has ended.
  void run();
  void stop() { stop_.store(true); }

 private:
  void serve_loop(int listen_fd);

  ServerOptions options_;
  std::unique_ptr<TlsServerContext> tls_;
  int port_ = 0;
  std::vector<int> listeners_;
  std::atomic<bool> stop_{false};
  RouteContext ctx_;
};

}  // namespace spiker::target
