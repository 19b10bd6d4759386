#include "cli/embedded_run.h"

#include <CLI/CLI.hpp>
#include <exception>
#include <mutex>

#include "cli/commands.h"
#include "core/error.h"
#include "proto/protocol.h"

namespace spiker::cli {

EmbeddedResult run_embedded(const std::vector<std::string>& flags, RunHooks& hooks) {
  proto::register_protocols();
  EmbeddedResult out;
  // One run at a time per process: a run owns the process's stop signals.
  static std::mutex running;
  std::unique_lock lock(running, std::try_to_lock);
  if (!lock.owns_lock()) {
    out.exit_code = kExitUsage;
    out.error = "a run is already under way in this process; run one at a time";
    return out;
  }
  CLI::App app{"loadspiker"};
  app.require_subcommand(1);
  std::function<int()> run = add_run_command(app, &hooks);
  std::vector<std::string> args = {"loadspiker", "run"};
  args.insert(args.end(), flags.begin(), flags.end());
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::ParseError& e) {
    out.exit_code = kExitUsage;
    out.error = e.what();
    return out;
  }
  try {
    out.exit_code = run();
  } catch (const SetupError& e) {
    out.exit_code = e.exit_code();
    out.error = e.what();
  } catch (const std::exception& e) {
    out.exit_code = kExitError;
    out.error = e.what();
  }
  out.json = hooks.json;
  out.interrupted = hooks.interrupted;
  return out;
}

}  // namespace spiker::cli
