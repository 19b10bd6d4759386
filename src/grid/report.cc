// A workflow run's per-step report: the summary lines and the JSON document.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "grid/internal.h"
#include "grid/workflow.h"

namespace spiker::grid {

std::string report_text(const WorkflowResult& r) {
  size_t ok = 0, failed = 0, cancelled = 0, skipped = 0;
  for (const StepReport& s : r.steps) {
    ok += s.status == "ok";
    failed += s.status == "failed";
    cancelled += s.status == "cancelled";
    skipped += s.status == "skipped";
  }
  std::string out = fmt::format(
      "grid: {} step run{} ok, {} failed, {} cancelled, {} skipped in "
      "{:.2f} s\n",
      ok, ok == 1 ? "" : "s", failed, cancelled, skipped, r.elapsed_s);
  for (const StepReport& s : r.steps) {
    if (s.status == "failed") {
      out += fmt::format("  failed: {}{}: {}\n", s.key, instance_suffix(s.index, s.each), s.error);
    }
  }
  return out;
}

std::string report_json(const WorkflowResult& r, const Grid& g) {
  nlohmann::json steps = nlohmann::json::array();
  for (const StepReport& s : r.steps) {
    nlohmann::json j = {{"step", s.key}, {"status", s.status}, {"ms", s.ms}};
    if (s.index >= 0) j["index"] = s.index;
    if (!s.each.empty()) j["key"] = s.each;
    if (!s.error.empty()) j["error"] = s.error;
    if (!s.output.is_null()) {
      nlohmann::json out = nlohmann::json::parse(hcl::to_json(s.output));
      if (out.is_object()) out.erase("body");  // bodies stay out of the report (size, secrets)
      j["output"] = out;
    }
    steps.push_back(j);
  }
  nlohmann::json doc = {{"grid", g.source},
                        {"exit_code", r.exit_code},
                        {"elapsed_secs", r.elapsed_s},
                        {"interrupted", r.interrupted},
                        {"steps", steps}};
  return doc.dump(2) + "\n";
}

}  // namespace spiker::grid
