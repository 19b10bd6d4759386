// `loadspiker import FILE [-o test.toml]`: a HAR recording, Postman collection or OpenAPI
// document as a commented TOML test (src/importers).
#include <fmt/format.h>
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <memory>

#include "cli/commands.h"
#include "core/error.h"
#include "importers/importer.h"

namespace spiker::cli {

std::function<int()> add_import_command(CLI::App& app) {
  struct Args {
    std::string input, output;
    importers::ImportOptions o;
    bool force = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand(
      "import", "Make a test file from a HAR recording, a Postman collection or an OpenAPI spec");
  cmd->add_option("file", args->input, "The .har, Postman .json or OpenAPI .json/.yaml file")
      ->required();
  cmd->add_option("-o,--output", args->output,
                  fmt::format("Write the TOML here (default: {}, as Kaioken writes one; - for "
                              "standard output)",
                              default_config_name()));
  cmd->add_option("-f,--format", args->o.format, "har, postman or openapi (default: detected)");
  cmd->add_option("--filter", args->o.filter,
                  "Keep only requests whose URL matches this regular expression");
  cmd->add_flag("--keep-static", args->o.keep_static,
                "HAR: keep images, scripts, styles and fonts (left out by default)");
  cmd->add_option("--base-url", args->o.base_url,
                  "OpenAPI: the server to load instead of the document's first server");
  cmd->add_flag("--force", args->force, "Overwrite the -o file when it exists");
  return [args] {
    importers::Collection c = importers::read_collection(args->input, args->o);
    std::string toml = importers::to_toml(c, args->input);
    for (const std::string& n : c.notes) std::fprintf(stderr, "note: %s\n", n.c_str());
    if (args->output == "-") {
      std::fputs(toml.c_str(), stdout);
      return kExitOk;
    }
    if (args->output.empty()) args->output = default_config_name();
    struct stat st {};
    if (!args->force && ::stat(args->output.c_str(), &st) == 0) {
      throw SetupError(fmt::format("-o '{}' exists; give --force to overwrite it", args->output),
                       kExitUsage);
    }
    std::ofstream out(args->output, std::ios::binary);
    out << toml;
    out.close();
    if (!out) {
      throw SetupError(fmt::format("-o '{}': cannot write there", args->output), kExitError);
    }
    size_t steps = 0;
    for (const importers::Scenario& s : c.scenarios) steps += s.steps.size();
    std::printf("Wrote %s: %zu request%s in %zu scenario%s. Next: loadspiker validate %s\n",
                args->output.c_str(), steps, steps == 1 ? "" : "s", c.scenarios.size(),
                c.scenarios.size() == 1 ? "" : "s", args->output.c_str());
    return kExitOk;
  };
}

}  // namespace spiker::cli
