// An unknown flag gets a clear answer: the closest flag the command has ("did you mean"), or,
// for a Kaioken flag this build does not have, that it is Kaioken's and why it is missing.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "cli/commands.h"
#include "core/strings.h"

namespace spiker::cli {
namespace {

// Kaioken's `run` flags that LoadSpiker does not have, with what to do instead.
constexpr std::pair<std::string_view, std::string_view> kKaiokenMissing[] = {
    {"--http3", "HTTP/3 (QUIC) is not supported by LoadSpiker yet; use --http2"},
};

// Every spelling of every option of `cmd`: "--name" and "-n".
std::vector<std::string> spellings(const CLI::App& cmd) {
  std::vector<std::string> out;
  for (const CLI::Option* o : cmd.get_options()) {
    for (const std::string& l : o->get_lnames()) out.push_back("--" + l);
    for (const std::string& s : o->get_snames()) out.push_back("-" + s);
  }
  return out;
}

}  // namespace

bool explain_unknown_flags(const CLI::App& app, int argc, char** argv) {
  const CLI::App* cmd = nullptr;
  for (int i = 1; i < argc && cmd == nullptr; ++i) {
    if (argv[i][0] == '-') continue;
    try {
      cmd = app.get_subcommand(argv[i]);
    } catch (const CLI::OptionNotFound&) {
      return false;
    }
  }
  if (cmd == nullptr) return false;
  std::vector<std::string> known = spellings(*cmd);
  for (const std::string& s : spellings(app)) known.push_back(s);
  bool explained = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--") break;
    if (arg.size() < 2 || arg[0] != '-' || (arg[1] >= '0' && arg[1] <= '9')) continue;
    std::string_view name = arg.substr(0, arg.find('='));
    if (name.size() > 2 && name[1] != '-') name = name.substr(0, 2);  // -c50
    if (std::find(known.begin(), known.end(), name) != known.end()) continue;
    explained = true;
    bool kaioken = false;
    for (const auto& [flag, why] : kKaiokenMissing) {
      if (name == flag) {
        std::fprintf(stderr, "error: %.*s is a Kaioken flag this build does not have: %.*s\n",
                     static_cast<int>(name.size()), name.data(), static_cast<int>(why.size()),
                     why.data());
        kaioken = true;
      }
    }
    if (kaioken) continue;
    // A close spelling (a typo: distance 2, or a quarter of the name) or a prefix.
    std::string best;
    size_t best_d = std::max<size_t>(2, name.size() / 4) + 1;
    for (const std::string& k : known) {
      if (k.size() < 3) continue;  // suggest long names
      size_t d = name.size() >= 5 && k.starts_with(name) ? 1 : edit_distance(name, k);
      if (d < best_d) best_d = d, best = k;
    }
    std::string hint = best.empty() ? "" : fmt::format("; did you mean {}?", best);
    std::fprintf(stderr, "error: %s has no flag %.*s%s (see loadspiker %s --help)\n",
                 cmd->get_name().c_str(), static_cast<int>(name.size()), name.data(), hint.c_str(),
                 cmd->get_name().c_str());
  }
  return explained;
}

}  // namespace spiker::cli
