// `loadspiker report RESULT.json -o report.html`: any output from a saved JSON result.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>

#include "cli/commands.h"
#include "core/error.h"
#include "report/outputs.h"

namespace spiker::cli {

std::string read_result(const std::string& path) {
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
      std::fputs(report::render(text, report::format_for("", args->format.empty() ? "md"
                                                                                : args->format))
                     .c_str(),
                 stdout);
      return kExitOk;
    }
    std::vector<report::Format> formats;
    for (const std::string& o : args->outputs) formats.push_back(report::format_for(o, args->format));
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
