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

// Where an expression starts as written: a traversal's or an operation's position is that of
// its operator (`.name`, `[i]`, `+`); messages point at its first character.
inline hcl::Pos start_of(const hcl::Expr& e) {
  const hcl::Expr* x = &e;
  while (x->a && (x->kind == hcl::Expr::Kind::kAttr || x->kind == hcl::Expr::Kind::kIndex ||
                  x->kind == hcl::Expr::Kind::kSplat || x->kind == hcl::Expr::Kind::kBinary ||
                  x->kind == hcl::Expr::Kind::kCond)) {
    x = x->a.get();
  }
  return x->pos.offset < e.pos.offset ? x->pos : e.pos;
}

// The most tries retry.attempts may ask for.
inline constexpr int kMaxAttempts = 100;
// Reads `a` (a step attribute of burstgridgo's schema) into s.options; false when `a` is none of
// them. Throws hcl::Error for a bad value, or one LoadSpiker does not run yet (by name).
bool step_option(StepDef& s, const hcl::Attribute& a, const hcl::Context& base);
// The same for a block (retry, timeouts; the others refused as not supported yet).
bool step_option_block(StepDef& s, const hcl::Block& b, const hcl::Context& base);
// The wait before retry number `failed_attempts` (1 after the first failure).
int64_t retry_delay_ns(const StepOptions& o, int failed_attempts);
// What replaces a sensitive step's output, print text and error in every output.
inline constexpr const char* kRedacted = "(sensitive)";

// The most instances one step's `count` may make, and all the steps of a grid run once
// together (README's limits table): far above a real fan-out (each instance holds about 2 KiB
// while the grid runs); past it, a load model (-c, -d, --iterations) is the tool.
inline constexpr size_t kMaxCount = 100'000;
// A step's count from the value of its `count`; throws hcl::Error at the count when it is not a
// whole number >= 0 or passes kMaxCount.
size_t count_of(const StepDef& s, const hcl::Value& v);
// A step's for_each instances from the value of its `for_each`: (each.key, each.value), sorted
// by key (a map's keys; a set's or list's strings, duplicates once, each.value == each.key).
// Throws hcl::Error at the for_each when it is not a map or a set or list of strings, or makes
// more than kMaxCount instances.
std::vector<std::pair<std::string, hcl::Value>> for_each_of(const StepDef& s, const hcl::Value& v);
// `["key"]` of a for_each instance, `[i]` of a count instance, "" of neither.
std::string instance_suffix(int index, const std::string& each_key);

// The error when a grid's step instances, `total` with those of step `s`, pass kMaxCount.
hcl::Error too_many_instances(const StepDef& s, size_t total);

// A step's (or resource's) arguments evaluated in `ctx`, checked against its manifest's input
// types, defaults filled in; throws hcl::Error at the input that does not conform.
hcl::Value step_arguments(const Grid& g, const StepDef& s, const hcl::Context& ctx);

// Throws hcl::Error at `at` when `v`, the value of input `input` of step (or resource) `s`
// known before the run, is a url or base_url the engine's client would refuse (a bad port, an
// unknown scheme); other inputs pass.
void check_address(const StepDef& s, const std::string& input, const hcl::Value& v, hcl::Pos at);

// The env_vars runner's output (vars: prefix, defaults, strip_prefix; all) from `args` and the
// environment; `missing` gets the required names not set ("A, B"), empty when none.
hcl::Value env_vars_output(const hcl::Value& args, const std::map<std::string, std::string>& env,
                           std::string* missing);

// The most output a cmd step's process may write on stdout, and on stderr (README's limits
// table): past it the step fails and the process is killed, as at its timeout.
inline constexpr size_t kMaxCmdOutput = 8u << 20;

// What a cmd step's process did: its exit code (128 + signal when killed), its output, and
// `error` when it could not run or timed out.
struct CmdResult {
  int exit_code = -1;
  std::string out, err, error;
};
// Runs argv with `input` on stdin, killed (its whole process group) after `timeout_ms` or once
// it writes more than kMaxCmdOutput on stdout or stderr; `pid` gets its process id, which is
// also its process group's, as soon as it exists (for a cancel: kill(-pid, ...)), and 0 once the
// process is gone.
CmdResult run_cmd(const std::vector<std::string>& argv, const std::string& input,
                  int64_t timeout_ms, std::atomic<pid_t>* pid);

// A duration input ("45s", "500ms") in nanoseconds; throws SetupError naming `what`.
int64_t duration_ns(const std::string& text, const std::string& what);

}  // namespace spiker::grid
