// What the grid's files share: the built-in manifests and helpers for messages.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "grid/grid.h"

namespace spiker::grid {

// The built-in runners' and assets' manifests (HCL text).
std::string builtin_manifests();
// Whether this build runs `runner` (a manifest may declare one it has no code for).
bool implemented(const std::string& runner, bool asset);
// A protocol runner's action as the registry names it: runner "redis" with action "command" is
// "redis.command"; runner "sql" (an action of PostgreSQL and MySQL) with no action is "sql".
std::string protocol_action(const std::string& runner, const std::string& action);

// "file:line:col" of a position.
inline std::string where(const hcl::Source& src, hcl::Pos p) {
  return src.name + ":" + std::to_string(p.line) + ":" + std::to_string(p.col);
}

// A step's (or resource's) arguments evaluated in `ctx`, checked against its manifest's input
// types, defaults filled in; throws hcl::Error at the input that does not conform.
hcl::Value step_arguments(const Grid& g, const StepDef& s, const hcl::Context& ctx);

// The env_vars runner's output (vars: prefix, defaults, strip_prefix; all) from `args` and the
// environment; `missing` gets the required names not set ("A, B"), empty when none.
hcl::Value env_vars_output(const hcl::Value& args, const std::map<std::string, std::string>& env,
                           std::string* missing);

// What a cmd step's process did: its exit code (128 + signal when killed), its output, and
// `error` when it could not run or timed out.
struct CmdResult {
  int exit_code = -1;
  std::string out, err, error;
};
// Runs argv with `input` on stdin, killed after `timeout_ms`; `pid` gets its process id as soon
// as it exists (for a cancel).
CmdResult run_cmd(const std::vector<std::string>& argv, const std::string& input,
                  int64_t timeout_ms, std::atomic<pid_t>* pid);

// A duration input ("45s", "500ms") in nanoseconds; throws SetupError naming `what`.
int64_t duration_ns(const std::string& text, const std::string& what);

}  // namespace spiker::grid
