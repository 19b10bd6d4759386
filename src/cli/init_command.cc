// `loadspiker init`: a commented starter config that validates and runs against the embedded
// target (`loadspiker serve`).
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>

#include "cli/commands.h"
#include "core/error.h"
#include "core/url.h"

namespace spiker::cli {
namespace {

bool g_as_kaioken = false;

}  // namespace

void set_program_name(const char* argv0) {
  std::string_view name = argv0 != nullptr ? argv0 : "";
  name = name.substr(name.find_last_of('/') == std::string_view::npos ? 0
                                                                      : name.find_last_of('/') + 1);
  g_as_kaioken = name == "kaioken";
}

const char* default_config_name() { return g_as_kaioken ? "kaioken.toml" : "loadspiker.toml"; }

namespace {

struct InitArgs {
  std::string output = default_config_name();
  std::string url = "http://127.0.0.1:8080/json";
  bool force = false;
};

constexpr const char* kStarter = R"(# LoadSpiker test. Run it:      loadspiker run {file}
# Check it without sending:      loadspiker validate {file}
# A target to practise on:       loadspiker serve --port 8080
# A flag on the command line wins over this file (e.g. -c 100 -d 1m).

[target]
url = "{url}"
method = "GET"
timeout = "5s"
headers = {{ Accept = "application/json" }}
# body = '{{"hello": "world"}}'        # or body_file = "payload.json"
# basic_auth = "user:${{PASSWORD}}"     # ${{NAME}} reads the environment, ${{NAME:-default}} too
# Built-ins rendered per request: ${{REQUEST_ID}} ${{TIMESTAMP_MS}} ${{VU_ID}} ${{ITERATION}} ${{UUID}}
# ${{RANDOM_INT:1:100}} ${{RANDOM_STRING:16}}, e.g. url = "{url}?id=${{REQUEST_ID}}"

[load]
# Closed model: 10 VUs (connections) loop for 10 s after a 2 s warmup that is not reported.
concurrency = 10
duration = "10s"
warmup = "2s"
# rate = 500                  # pace the VUs to 500 requests/s in total (wrk2 style)
# arrival_rate = 500          # open model instead: 500 starts/s whatever the latency ...
# max_vus = 100               # ... with at most this many in flight (the rest are dropped)
# think_time = "100ms..300ms" # pause between a VU's iterations

# Or ramp instead of concurrency/duration (all stages of one kind):
# [[stages]]
# duration = "10s"
# target = 20                 # VUs; target_rate = 200 for requests/s
# [[stages]]
# duration = "20s"
# target = 20

# A user journey instead of the one request above: steps run top to bottom (or as a DAG with
# depends_on = [...]); `extract` keeps values from responses for later steps as ${{name}}.
# Relative urls go to [target]'s host. See loadspiker graph {file} for the step graph.
# [[scenarios]]
# name = "member"
#   [[scenarios.steps]]
#   name = "login"
#   method = "POST"
#   url = "/login"
#   json = {{ username = "user${{VU_ID}}" }}
#   extract = {{ token = "json:$.token" }}
#   once = true                   # each VU logs in once and keeps its token
#   [[scenarios.steps]]
#   name = "me"
#   url = "/me"
#   auth = {{ bearer = "${{token}}" }}
#   checks = ["status == 200"]
)";

int init(const InitArgs& a) {
  parse_url(a.url, "-u/--url");
  if (std::filesystem::exists(a.output) && !a.force) {
    throw SetupError(fmt::format("{} exists; pick another -o FILE or add --force", a.output));
  }
  std::ofstream out(a.output);
  out << fmt::format(kStarter, fmt::arg("file", a.output), fmt::arg("url", a.url));
  if (!out) throw SetupError(fmt::format("-o: cannot write '{}'", a.output), kExitError);
  std::printf("wrote %s; run it with: loadspiker run %s\n", a.output.c_str(), a.output.c_str());
  return kExitOk;
}

}  // namespace

std::function<int()> add_init_command(CLI::App& app) {
  auto args = std::make_shared<InitArgs>();
  CLI::App* cmd = app.add_subcommand("init", "Write a commented starter config file");
  cmd->add_option("-o,--output", args->output, "File to write")->capture_default_str();
  cmd->add_option("-u,--url", args->url, "Target URL")->capture_default_str();
  cmd->add_flag("--force", args->force, "Overwrite the file");
  return [args] { return init(*args); };
}

}  // namespace spiker::cli
