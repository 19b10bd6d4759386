// `loadspiker report RESULT.json -o report.html`: any output from a saved JSON result.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>

#include "cli/commands.h"
#include "core/error.h"
#include "core/json.h"
#include "engine/thresholds.h"
#include "history/history.h"
#include "plan/threshold.h"
#include "report/merge.h"
#include "report/outputs.h"

namespace spiker::cli {

std::string read_result(const std::string& path) {
  std::string db;
  int64_t id = 0;
  if (history::parse_ref(path, &db, &id)) return history::run_json(db, id);  // runs.db#12
  std::ifstream in(path, std::ios::binary);
  if (!in) throw SetupError(fmt::format("cannot read '{}'; check the path", path), kExitError);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::function<int()> add_report_command(CLI::App& app) {
  struct Args {
    std::string input;
    std::vector<std::string> outputs;
    std::string format;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("report", "Render a saved JSON result (HTML, Markdown, ...)");
  cmd->add_option("result", args->input, "A JSON result (LoadSpiker's or Kaioken's)")->required();
  cmd->add_option("-o,--output", args->outputs,
                  "Write this file (repeatable); the format by extension or --format");
  cmd->add_option("--format", args->format,
                  "json, csv, md, html, junit, hlog, series-csv or series-jsonl");
  return [args] {
    std::string text = read_result(args->input);
    if (args->outputs.empty()) {
      std::fputs(
          report::render(text, report::format_for("", args->format.empty() ? "md" : args->format))
              .c_str(),
          stdout);
      return kExitOk;
    }
    std::vector<report::Format> formats;
    for (const std::string& o : args->outputs)
      formats.push_back(report::format_for(o, args->format));
    for (size_t i = 0; i < formats.size(); ++i) {
      std::string body = report::render(text, formats[i]);
      std::ofstream out(args->outputs[i], std::ios::binary);
      out << body;
      if (!out) {
        throw SetupError(fmt::format("-o: cannot write '{}'", args->outputs[i]), kExitError);
      }
      std::printf("wrote %s\n", args->outputs[i].c_str());
    }
    return kExitOk;
  };
}

}  // namespace spiker::cli

namespace spiker::cli {
namespace {

// The first input's thresholds, judged again on the merged data.
std::string rejudge(const std::string& first, const report::Merged& m, bool* all_passed) {
  nlohmann::json d = nlohmann::json::parse(first);
  *all_passed = true;
  if (!d.contains("thresholds")) return "";
  std::vector<engine::ScopedThreshold> list;
  for (const nlohmann::json& r : d["thresholds"]["results"]) {
    std::string metric = r.value("metric", ""), condition = r.value("condition", "");
    std::string base = metric.substr(0, metric.find('{'));
    bool k6 = base == "http_req_duration" || base == "http_req_failed" || base == "http_reqs" ||
              base == "checks" || base == "iterations";
    engine::ScopedThreshold s{k6 ? plan::parse_k6_threshold(metric, condition, "merge")
                                 : plan::parse_kaioken_threshold(metric, condition, "merge"),
                              ~uint64_t{0}};
    if (!s.t.tag_key.empty()) {
      s.mask = 0;
      for (size_t i = 0; i < m.step_names.size(); ++i) {
        const std::string& step = m.step_names[i];
        bool hit = s.t.tag_key == "scenario"
                       ? m.step_scenarios[i] == s.t.tag_value
                       : (step == s.t.tag_value || step.ends_with("/" + s.t.tag_value));
        if (hit) s.mask |= uint64_t{1} << i;
      }
    }
    list.push_back(std::move(s));
  }
  nlohmann::json results = nlohmann::json::array();
  for (const engine::ThresholdResult& v :
       engine::evaluate_thresholds(list, m.totals, m.measured_s)) {
    results.push_back({{"metric", v.metric},
                       {"condition", v.condition},
                       {"actual", v.actual},
                       {"unit", v.unit},
                       {"passed", v.passed}});
    *all_passed = *all_passed && v.passed;
  }
  return nlohmann::json({{"passed", *all_passed}, {"results", results}}).dump();
}

}  // namespace

std::function<int()> add_merge_command(CLI::App& app) {
  struct Args {
    std::vector<std::string> inputs;
    std::string output;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand(
      "merge", "Merge the JSON results of a test's segments (histograms merged, not averaged)");
  cmd->add_option("results", args->inputs, "JSON results, two or more")->required();
  cmd->add_option("-o,--output", args->output, "Write the merged JSON here (default: stdout)");
  return [args] {
    std::vector<std::string> texts;
    for (const std::string& p : args->inputs) texts.push_back(read_result(p));
    report::Merged m = report::merge_results(texts, args->inputs);
    bool passed = true;
    std::string merged = report::with_thresholds(m.json, rejudge(texts.front(), m, &passed));
    if (args->output.empty()) {
      std::fputs(merged.c_str(), stdout);
    } else {
      std::ofstream out(args->output, std::ios::binary);
      out << merged;
      if (!out) throw SetupError(fmt::format("-o: cannot write '{}'", args->output), kExitError);
      std::fprintf(stderr, "merged %zu results into %s\n", texts.size(), args->output.c_str());
    }
    return passed ? kExitOk : kExitThresholds;
  };
}

std::function<int()> add_compare_command(CLI::App& app) {
  struct Args {
    std::string base, current;
    report::CompareOptions o;
    bool json = false;
    bool serious = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("compare", "Compare two JSON results; exit 3 on regression");
  cmd->add_option("baseline", args->base, "The baseline JSON result")->required();
  cmd->add_option("current", args->current, "The JSON result to judge")->required();
  cmd->add_option("--threshold-p99", args->o.p99_pct, "p99 latency increase allowed, %")
      ->capture_default_str();
  cmd->add_option("--threshold-p999", args->o.p999_pct, "p99.9 latency increase allowed, %")
      ->capture_default_str();
  cmd->add_option("--threshold-error-rate", args->o.error_rate_pct,
                  "error rate increase allowed, %")
      ->capture_default_str();
  cmd->add_option("--threshold-rps", args->o.rps_pct, "throughput drop allowed, %")
      ->capture_default_str();
  cmd->add_flag("--force", args->o.force, "Compare runs of different load models anyway");
  cmd->add_flag("--json", args->json, "Print the comparison as JSON");
  cmd->add_flag("--serious", args->serious, "Accepted for Kaioken (no flavor text to turn off)");
  return [args] {
    report::Comparison c = report::compare_results(
        read_result(args->base), read_result(args->current), args->base, args->current, args->o);
    if (c.model_mismatch) {
      std::fputs(("error: " + c.table).c_str(), stderr);
      return kExitModelMismatch;
    }
    std::fputs((args->json ? c.json : c.table).c_str(), stdout);
    return c.regressed ? kExitRegression : kExitOk;
  };
}

}  // namespace spiker::cli
