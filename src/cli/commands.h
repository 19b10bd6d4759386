// Subcommands of the `loadspiker` binary: each adds its options to the app and runs.
#pragma once

#include <functional>
#include <string>

namespace CLI {
class App;
}

namespace spiker::cli {

// Registers the subcommand; the returned function runs it after parsing and gives the exit code.
struct RunHooks;
// `hooks`: an embedded run's (run_args.h); null for the command line's.
std::function<int()> add_run_command(CLI::App& app, RunHooks* hooks = nullptr);
std::function<int()> add_serve_command(CLI::App& app);
std::function<int()> add_validate_command(CLI::App& app);
// The file `init` and `import` write when not told: loadspiker.toml, or kaioken.toml when the
// program runs under Kaioken's name (a `kaioken` link to it: a drop-in keeps Kaioken's defaults).
void set_program_name(const char* argv0);
const char* default_config_name();

std::function<int()> add_init_command(CLI::App& app);
std::function<int()> add_graph_command(CLI::App& app);
std::function<int()> add_report_command(CLI::App& app);
std::function<int()> add_merge_command(CLI::App& app);
std::function<int()> add_compare_command(CLI::App& app);
std::function<int()> add_import_command(CLI::App& app);
std::function<int()> add_history_command(CLI::App& app);
std::function<int()> add_completions_command(CLI::App& app);
std::function<int()> add_man_command(CLI::App& app);
std::function<int()> add_grid_command(CLI::App& app);

// Grids (grid_command.cc): whether a path is one, and its DAG for `graph`.
bool is_grid(const std::string& path);
std::string grid_graph(const std::string& path, const std::string& format);

// After a parse error: names each unknown flag with the closest known one ("did you mean"), or
// as a Kaioken flag this build lacks. False when there was none to explain.
bool explain_unknown_flags(const CLI::App& app, int argc, char** argv);

// A saved result file's text; throws SetupError (exit 1) when unreadable.
std::string read_result(const std::string& path);

}  // namespace spiker::cli
