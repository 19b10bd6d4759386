// Grids on the command line: `loadspiker run grid.hcl` (once as a workflow, or under the load
// flags as every VU's iteration), `validate` and `graph` of grids, and `loadspiker grid` with
// burstgridgo's flags (-g, -modules-path, -workers, -log-format, -log-level,
// -healthcheck-port).
#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <thread>

#include "cli/commands.h"
#include "cli/run_args.h"
#include "core/error.h"
#include "grid/grid.h"
#include "grid/journey.h"
#include "grid/workflow.h"

namespace spiker::cli {
namespace {

grid::ReadOptions read_options(const std::string& path, const std::vector<std::string>& vars,
                               const std::vector<std::string>& modules) {
  grid::ReadOptions o;
  o.path = path;
  o.modules_paths = modules;
  for (const std::string& v : vars) {
    size_t eq = v.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw SetupError(fmt::format("--var '{}': write NAME=VALUE", v));
    }
    o.vars[v.substr(0, eq)] = v.substr(eq + 1);
  }
  return o;
}

// Answers GET /healthz with 200 while the grid runs (burstgridgo's -healthcheck-port).
class HealthCheck {
 public:
  explicit HealthCheck(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_ANY);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, 16) != 0) {
      ::close(fd_);
      throw SetupError(fmt::format("-healthcheck-port {}: cannot listen there", port));
    }
    thread_ = std::thread([this] {
      for (;;) {
        int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (c < 0) return;  // closed: the run is over
        char buf[1024];
        ssize_t n = ::recv(c, buf, sizeof buf, 0);
        std::string req(buf, n > 0 ? static_cast<size_t>(n) : 0);
        bool ok = req.starts_with("GET /healthz");
        std::string body = ok ? "ok\n" : "not found\n";
        std::string resp = fmt::format(
            "HTTP/1.1 {}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: "
            "close\r\n\r\n{}",
            ok ? "200 OK" : "404 Not Found", body.size(), body);
        [[maybe_unused]] ssize_t w = ::send(c, resp.data(), resp.size(), MSG_NOSIGNAL);
        ::close(c);
      }
    });
  }
  ~HealthCheck() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }

 private:
  int fd_ = -1;
  std::thread thread_;
};

int run_workflow_and_report(const grid::Grid& g, int workers, bool json_log, bool quiet,
                            bool json_out, const std::vector<std::string>& outputs) {
  grid::WorkflowOptions wo;
  wo.workers = workers;
  wo.json_log = json_log;
  wo.quiet = quiet;
  grid::WorkflowResult r = grid::run_workflow(g, wo);
  std::string json = grid::report_json(r, g);
  if (json_out) {
    std::fputs(json.c_str(), stdout);
  } else if (!quiet) {
    std::fputs(grid::report_text(r).c_str(), stdout);
  }
  for (const std::string& o : outputs) {
    std::ofstream out(o, std::ios::binary);
    out << json;
    if (!out) {
      std::fprintf(stderr, "error: -o/--output: could not write '%s'\n", o.c_str());
      return kExitError;
    }
  }
  return r.exit_code;
}

}  // namespace

int run_grid(RunArgs a) {
  std::string target = a.config.empty() ? a.url : a.config;
  std::unique_ptr<grid::Grid> g = grid::read(read_options(target, a.grid_vars, a.modules_paths));
  bool load = !g->load.flags.empty();
  for (const char* flag :
       {"--concurrency", "--duration", "--max-requests", "--iterations", "--per-vu-iterations",
        "--rate", "--arrival-rate", "--stage", "--ramp-up", "--max-vus"}) {
    load |= flag_given(a, flag);
  }
  if (!load && !a.dry_run) {
    return run_workflow_and_report(*g, a.workers, false, a.quiet, a.json, a.outputs);
  }
  // Under load (or validating): the grid compiles to a journey, every VU's iteration.
  std::string text;
  try {
    text = grid::to_journey_toml(*g);
  } catch (const SetupError& e) {
    if (!a.dry_run) throw;
    std::printf("ok: %s is a valid grid (%zu steps)\n", target.c_str(), g->step_count());
    std::fputs(grid::describe(*g).c_str(), stdout);
    std::printf("  load    runs once as a workflow (under load it cannot: %s)\n", e.what());
    return kExitOk;
  }
  if (a.dry_run && !load) {
    std::printf("ok: %s is a valid grid (%zu steps)\n", target.c_str(), g->step_count());
    std::fputs(grid::describe(*g).c_str(), stdout);
    std::printf("  load    runs once as a workflow; with load flags, every VU's iteration\n");
    return kExitOk;
  }
  a.config_text = std::move(text);
  a.config = target + " (as a journey)";  // messages point into the compiled plan, not the file
  a.url.clear();
  return run(std::move(a));
}

std::function<int()> add_grid_command(CLI::App& app) {
  struct Args {
    std::string grid;
    std::vector<std::string> modules, vars;
    int workers = 10;
    std::string log_format = "text", log_level = "info";
    int healthcheck_port = 0;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand(
      "grid", "Run a burstgridgo grid once (its flags: -g, -modules-path, -workers, ...)");
  // No grid given: the usage, exit 0 (burstgridgo prints its usage when it has no grid path).
  cmd->add_option("-g,--grid,grid", args->grid, "The grid: a .hcl file or a directory");
  cmd->add_option("--modules-path", args->modules, "A directory of module manifests");
  cmd->add_option("--var", args->vars, "A variable's value, NAME=VALUE (repeatable)");
  cmd->add_option("--workers", args->workers, "Step instances in flight at once")
      ->capture_default_str();
  cmd->add_option("--log-format", args->log_format, "text or json")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  cmd->add_option("--log-level", args->log_level,
                  "debug, info, warn or error (warn and error "
                  "print failures only)")
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}))
      ->capture_default_str();
  cmd->add_option("--healthcheck-port", args->healthcheck_port,
                  "Serve GET /healthz on this port while the grid runs");
  return [args, cmd]() -> int {
    if (args->grid.empty()) {
      std::fputs(cmd->help().c_str(), stdout);
      return kExitOk;
    }
    std::unique_ptr<grid::Grid> g = grid::read(read_options(args->grid, args->vars, args->modules));
    std::unique_ptr<HealthCheck> health;
    if (args->healthcheck_port > 0) health = std::make_unique<HealthCheck>(args->healthcheck_port);
    bool quiet = args->log_level == "warn" || args->log_level == "error";
    return run_workflow_and_report(*g, args->workers, args->log_format == "json", quiet,
                                   args->log_format == "json", {});
  };
}

bool is_grid(const std::string& path) { return grid::is_grid_path(path); }

std::string grid_graph(const std::string& path, const std::string& format) {
  std::unique_ptr<grid::Grid> g = grid::read(read_options(path, {}, {}));
  return grid::graph(*g, format);
}

}  // namespace spiker::cli
