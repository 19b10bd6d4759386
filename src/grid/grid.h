// burstgridgo grids: HCL files of `step` and `resource` blocks (with `variable`, `locals` and
// module manifests) read, checked and ordered as a DAG. A grid runs once as a workflow
// (workflow.cc: steps on the engine's client, independent ones at once, fail-fast) or, under a
// load model, as every VU's iteration (journey.cc: compiled to the journey plan).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "hcl/hcl.h"

namespace spiker::grid {

// A manifest's declared type: string, number, bool, any, list(T), set(T), map(T), object({...}),
// tuple([...]).
struct TypeSpec {
  enum class Kind : uint8_t { kAny, kString, kNumber, kBool, kList, kSet, kMap, kObject, kTuple };
  Kind kind = Kind::kAny;
  std::vector<TypeSpec> elements;              // list/set/map: [0]; tuple: each
  std::map<std::string, TypeSpec> attributes;  // object
  std::string text;                            // as written
};

// Converts `v` to `t` as HCL does (a number to a string, ...); false (and `why`) when it cannot.
bool conform(const hcl::Value& v, const TypeSpec& t, hcl::Value* out, std::string* why);

struct InputDef {
  std::string name;
  TypeSpec type;
  bool required = true;
  hcl::Value default_value;
};

// A runner (what a step does) or an asset (what a resource is), from a manifest.
struct ModuleDef {
  std::string name;
  bool asset = false;
  std::string description;
  std::map<std::string, InputDef> inputs;
  std::vector<std::string> outputs;
  std::map<std::string, std::string> uses;  // name -> asset type
  std::string where;                        // file:line:col of the manifest block
};

// A step's options from burstgridgo's step schema (step_options.cc). Durations in ns, 0 = none.
struct StepOptions {
  const hcl::Expr* enabled = nullptr;  // false: the step does not run (its output is null)
  std::vector<std::string> tags;       // labels, shown by validate
  int attempts = 1;                    // retry.attempts: tries in all, the first included
  bool backoff_exponential = true;     // retry.backoff.strategy (else constant)
  int64_t backoff_initial_ns = 0;      // the wait before the first retry (0: at once)
  double backoff_factor = 2;           // exponential: each wait this many times the last
  int64_t backoff_max_ns = 0;          // the longest wait (0: no cap)
  int64_t execution_timeout_ns = 0;    // timeouts.execution: one attempt's limit
  bool continue_on_failure = false;    // a failure is reported; the run goes on
  int64_t delay_before_ns = 0, delay_after_ns = 0;  // before each instance; before dependants
  bool sensitive = false;  // its output, print text and errors are redacted everywhere
  bool retry_seen = false, timeouts_seen = false;  // (the reader's: one block each)
};

struct StepDef {
  std::string runner, name;  // step "<runner>" "<name>"
  bool resource = false;     // a resource block (asset type in `runner`)
  std::string where;         // file:line:col
  hcl::Pos pos;
  const hcl::Source* src = nullptr;
  const hcl::Expr* count = nullptr;
  const hcl::Expr* for_each = nullptr;  // a map, or a set or list of strings (each.key/value)
  const hcl::Body* arguments = nullptr;
  const hcl::Body* uses = nullptr;
  const hcl::Expr* check = nullptr;  // a condition on `output` (checks under load too)
  // depends_on's entries: keys of other steps ("http_request.first", "resource.T.N"), each with
  // where it is written.
  std::vector<std::pair<std::string, hcl::Pos>> depends_on;
  StepOptions options;
  // Filled by the reader: keys of the steps and resources this one depends on.
  std::vector<size_t> deps;
  std::string key() const { return (resource ? "resource." : "") + runner + "." + name; }
  // count or for_each: the step is a group of instances.
  bool repeated() const { return count != nullptr || for_each != nullptr; }
};

// The `loadspiker { ... }` block: a load model given in the grid (the run flags' names).
struct LoadBlock {
  std::vector<std::pair<std::string, std::string>> flags;  // "--concurrency" -> "20"
  hcl::Value thresholds;  // thresholds = { p95_latency_ms = "< 300", ... }: the [thresholds] table
};

struct Grid {
  std::vector<hcl::File> files;
  std::vector<StepDef> steps;  // steps and resources, in dependency order
  std::map<std::string, ModuleDef> runners, assets;
  hcl::Context base;  // var, local, functions: built once, every node's context extends it
  std::map<std::string, std::string> env;  // the process environment, for env_vars
  LoadBlock load;
  std::string source;         // what was given (a file or a directory)
  size_t step_count() const;  // steps, not resources
};

struct ReadOptions {
  std::string path;                         // a .hcl file, or a directory read recursively
  std::vector<std::string> modules_paths;   // more manifests (runner / asset blocks)
  std::map<std::string, std::string> vars;  // variable values given (var.NAME)
};

// Reads, checks (manifest inputs and types, references, cycles) and orders the grid. Throws
// SetupError with file:line:col (exit 2: a validation error, as burstgridgo).
std::unique_ptr<Grid> read(const ReadOptions& o);

// Whether `path` is a grid (a .hcl file or a directory holding some).
bool is_grid_path(const std::string& path);

// `validate`: the steps, their runners, counts and dependencies.
std::string describe(const Grid& g);
// `graph`: the DAG as Mermaid or Graphviz dot.
std::string graph(const Grid& g, const std::string& format);

}  // namespace spiker::grid
