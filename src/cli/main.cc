// loadspiker: main only dispatches to subcommands and maps errors to exit codes.
#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "core/error.h"
#include "proto/protocol.h"

namespace {

// What a command printed must have reached standard output (a full disk, a closed pipe): a
// result that was not written is an error, whatever the command's own verdict.
int checked_stdout(int rc) {
  if (std::fflush(stdout) == 0 && std::ferror(stdout) == 0) return rc;
  std::fprintf(stderr, "error: could not write to standard output: %s\n", std::strerror(errno));
  return rc == spiker::kExitOk ? spiker::kExitError : rc;
}

int dispatch(CLI::App& app, const std::vector<std::pair<const char*, std::function<int()>>>& cmds) {
  try {
    for (const auto& [name, command] : cmds) {
      if (app.got_subcommand(name)) return command();
    }
  } catch (const spiker::SetupError& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return e.exit_code();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return spiker::kExitError;
  }
  return spiker::kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
  spiker::cli::set_program_name(argc > 0 ? argv[0] : nullptr);  // `kaioken`: its file names
  spiker::proto::register_protocols();  // before flags are made and metrics are kept
  CLI::App app{"LoadSpiker: a fast load generator with numbers you can trust"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "loadspiker 0.1.0");
  std::function<int()> run = spiker::cli::add_run_command(app);
  std::function<int()> serve = spiker::cli::add_serve_command(app);
  std::function<int()> validate = spiker::cli::add_validate_command(app);
  std::function<int()> init = spiker::cli::add_init_command(app);
  std::function<int()> graph = spiker::cli::add_graph_command(app);
  std::function<int()> report = spiker::cli::add_report_command(app);
  std::function<int()> merge = spiker::cli::add_merge_command(app);
  std::function<int()> compare = spiker::cli::add_compare_command(app);
  std::function<int()> import = spiker::cli::add_import_command(app);
  std::function<int()> history = spiker::cli::add_history_command(app);
  std::function<int()> completions = spiker::cli::add_completions_command(app);
  std::function<int()> man = spiker::cli::add_man_command(app);
  std::function<int()> grid = spiker::cli::add_grid_command(app);
  // burstgridgo's flags are single-dash words (-modules-path): `loadspiker grid` takes them.
  std::vector<std::string> rewritten(argv, argv + argc);
  if (argc > 1 && rewritten[1] == "grid") {
    for (std::string& a : rewritten) {
      for (const char* f : {"-grid", "-modules-path", "-workers", "-log-format", "-log-level",
                            "-healthcheck-port", "-var"}) {
        if (a == f || a.starts_with(std::string(f) + "=")) a = "-" + a;
      }
    }
  }
  std::vector<char*> args;
  for (std::string& a : rewritten) args.push_back(a.data());
  try {
    app.parse(argc, args.data());
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() != 0 && spiker::cli::explain_unknown_flags(app, argc, args.data())) {
      return spiker::kExitUsage;
    }
    int rc = app.exit(e);
    return rc == 0 ? spiker::kExitOk : spiker::kExitUsage;
  }
  return checked_stdout(dispatch(app, {{"run", run},
                                       {"serve", serve},
                                       {"validate", validate},
                                       {"init", init},
                                       {"graph", graph},
                                       {"report", report},
                                       {"merge", merge},
                                       {"compare", compare},
                                       {"import", import},
                                       {"history", history},
                                       {"completions", completions},
                                       {"man", man},
                                       {"grid", grid}}));
}
