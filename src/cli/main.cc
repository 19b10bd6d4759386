// loadspiker: main only dispatches to subcommands and maps errors to exit codes.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "cli/commands.h"
#include "core/error.h"
#include "proto/protocol.h"

int main(int argc, char** argv) {
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
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? spiker::kExitOk : spiker::kExitUsage;
  }
  try {
    if (app.got_subcommand("run")) return run();
    if (app.got_subcommand("serve")) return serve();
    if (app.got_subcommand("validate")) return validate();
    if (app.got_subcommand("init")) return init();
    if (app.got_subcommand("graph")) return graph();
    if (app.got_subcommand("report")) return report();
    if (app.got_subcommand("merge")) return merge();
    if (app.got_subcommand("compare")) return compare();
  } catch (const spiker::SetupError& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return e.exit_code();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return spiker::kExitError;
  }
  return spiker::kExitUsage;
}
