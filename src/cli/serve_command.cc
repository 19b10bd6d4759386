// `loadspiker serve`: the embedded target, the default thing to load.
#include <CLI/CLI.hpp>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <memory>
#include <thread>

#include "cli/commands.h"
#include "core/error.h"
#include "target/echo_server.h"
#include "target/server.h"

namespace spiker::cli {
namespace {

struct ServeArgs {
  target::ServerOptions server;
  bool no_h2 = false;
  std::string cert_out;
  int tcp_echo = -1, udp_echo = -1;  // -1: off; 0: any free port
};

target::Server* g_server = nullptr;
std::atomic<bool> g_echo_stop{false};

void on_signal(int) {
  if (g_server != nullptr) g_server->stop();
  g_echo_stop.store(true);
}

int serve(const ServeArgs& args) {
  target::ServerOptions a = args.server;
  if (a.port < 0 || a.port > 65535) throw SetupError("--port: must be 0..65535 (0 = any free)");
  if (a.threads < 1 || a.threads > 256) throw SetupError("--threads: must be 1..256");
  if (!a.tls && (!a.cert.empty() || !a.key.empty() || !args.cert_out.empty())) {
    throw SetupError("--cert/--key/--cert-out go with --tls");
  }
  for (int p : {args.tcp_echo, args.udp_echo}) {
    if (p < -1 || p > 65535) throw SetupError("--tcp-echo/--udp-echo: a port, 0..65535 (0: any)");
  }
  a.h2 = !args.no_h2;
  target::Server server(a);
  target::EchoServer echo(a.host, args.tcp_echo, args.udp_echo);
  if (!args.cert_out.empty()) {
    std::FILE* f = std::fopen(args.cert_out.c_str(), "w");
    std::string pem = server.certificate_pem();
    if (f == nullptr || std::fwrite(pem.data(), 1, pem.size(), f) != pem.size()) {
      throw SetupError("--cert-out: cannot write '" + args.cert_out + "'", kExitError);
    }
    std::fclose(f);
  }
  g_server = &server;
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::signal(SIGPIPE, SIG_IGN);
  std::string shown = a.host.find(':') != std::string::npos ? "[" + a.host + "]" : a.host;
  std::printf("loadspiker target listening on %s://%s:%d/ (%d threads; %s)\n",
              a.tls ? "https" : "http", shown.c_str(), server.port(), a.threads,
              !a.h2   ? "HTTP/1.1"
              : a.tls ? "HTTP/1.1 and h2 by ALPN"
                      : "HTTP/1.1 and h2c with prior knowledge");
  std::printf(
      "endpoints: / /json /bytes/{n} /delay/{ms} /status/{code} /echo /login /me "
      "/stall?ms=N /items /ws (WebSocket echo)\n");
  if (echo.tcp_port() > 0) std::printf("tcp echo on tcp://%s:%d\n", shown.c_str(), echo.tcp_port());
  if (echo.udp_port() > 0) std::printf("udp echo on udp://%s:%d\n", shown.c_str(), echo.udp_port());
  std::fflush(stdout);
  std::thread echo_thread;
  if (echo.tcp_port() > 0 || echo.udp_port() > 0) {
    echo_thread = std::thread([&] { echo.run(g_echo_stop); });
  }
  server.run();
  g_echo_stop.store(true);
  if (echo_thread.joinable()) echo_thread.join();
  g_server = nullptr;
  return kExitOk;
}

}  // namespace

std::function<int()> add_serve_command(CLI::App& app) {
  auto args = std::make_shared<ServeArgs>();
  CLI::App* cmd = app.add_subcommand(
      "serve",
      "Run the embedded target: HTTP/1.1, HTTP/2, a WebSocket echo at /ws, TCP and UDP echoes");
  cmd->add_option("--host", args->server.host, "Address to listen on")->capture_default_str();
  cmd->add_option("-p,--port", args->server.port, "Port (0 = any free port)")
      ->capture_default_str();
  cmd->add_option("-t,--threads", args->server.threads, "Server threads")->capture_default_str();
  cmd->add_flag("--tls", args->server.tls,
                "TLS on the port, with a fresh self-signed certificate for localhost, "
                "127.0.0.1 and ::1 unless --cert/--key are given");
  cmd->add_option("--cert", args->server.cert, "With --tls: certificate chain (PEM)");
  cmd->add_option("--key", args->server.key, "With --tls: private key (PEM)");
  cmd->add_option("--cert-out", args->cert_out,
                  "With --tls: write the certificate here (for clients' --cacert)");
  cmd->add_flag("--no-h2", args->no_h2, "HTTP/1.1 only: no h2c, no h2 by ALPN");
  cmd->add_option("--tcp-echo", args->tcp_echo,
                  "Also echo raw TCP on this port (every byte written back; 0: any free port)");
  cmd->add_option("--udp-echo", args->udp_echo,
                  "Also echo UDP on this port (every datagram answered with itself; 0: any)");
  return [args] { return serve(*args); };
}

}  // namespace spiker::cli
