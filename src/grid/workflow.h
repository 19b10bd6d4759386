// Running a grid once, as a workflow: steps whose dependencies are done start at once (count
// instances in parallel, up to `workers` in flight), their network actions on the engine's
// client, and the first failure cancels what runs and skips what waits (fail-fast).
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "grid/grid.h"

namespace spiker::grid {

struct WorkflowOptions {
  int workers = 100;              // step instances in flight at once
  bool json_log = false;          // one JSON object per finished step instance, else text
  bool quiet = false;             // no per-step lines (the report only)
  std::FILE* log = stderr;        // where the per-step lines go
  std::FILE* print_out = stdout;  // where `print` steps write
};

struct StepReport {
  std::string key;     // "http_request.fan"
  int index = -1;      // count.index; -1 without count
  std::string each;    // each.key of a for_each instance; empty without for_each
  std::string status;  // ok, failed, cancelled, skipped
  double ms = 0;
  std::string error;
  hcl::Value output;
};

struct WorkflowResult {
  int exit_code = 0;  // 0 ok, 1 a step failed (burstgridgo's)
  std::vector<StepReport> steps;
  double elapsed_s = 0;
  bool interrupted = false;
};

WorkflowResult run_workflow(const Grid& g, const WorkflowOptions& o);

// The per-step report: a table (text) or the JSON document.
std::string report_text(const WorkflowResult& r);
std::string report_json(const WorkflowResult& r, const Grid& g);

}  // namespace spiker::grid
