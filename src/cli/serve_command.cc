// `loadspiker serve`: the embedded target, the default thing to load.
#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <memory>
#include <thread>

#include "cli/commands.h"
#include "core/error.h"
#include "target/server.h"

namespace spiker::cli {
namespace {

struct ServeArgs {
  std::string host = "127.0.0.1";
  int port = 8080;
  int threads = 1;
};

target::Server* g_server = nullptr;

void on_signal(int) {
  if (g_server != nullptr) g_server->stop();
}

int serve(const ServeArgs& a) {
  if (a.port < 0 || a.port > 65535) throw SetupError("--port: must be 0..65535 (0 = any free)");
  if (a.threads < 1 || a.threads > 256) throw SetupError("--threads: must be 1..256");
  target::Server server(a.host, a.port, a.threads);
  g_server = &server;
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::signal(SIGPIPE, SIG_IGN);
  std::string shown = a.host.find(':') != std::string::npos ? "[" + a.host + "]" : a.host;
  std::printf("loadspiker target listening on http://%s:%d/ (%d threads)\n", shown.c_str(),
              server.port(), a.threads);
  std::printf(
      "endpoints: / /json /bytes/{n} /delay/{ms} /status/{code} /echo /login /me "
      "/stall?ms=N\n");
  std::fflush(stdout);
  server.run();
  g_server = nullptr;
  return kExitOk;
}

}  // namespace

std::function<int()> add_serve_command(CLI::App& app) {
  auto args = std::make_shared<ServeArgs>();
  CLI::App* cmd = app.add_subcommand("serve", "Run the embedded HTTP/1.1 target server");
  cmd->add_option("--host", args->host, "Address to listen on")->capture_default_str();
  cmd->add_option("-p,--port", args->port, "Port (0 = any free port)")->capture_default_str();
  cmd->add_option("-t,--threads", args->threads, "Server threads")->capture_default_str();
  return [args] { return serve(*args); };
}

}  // namespace spiker::cli
