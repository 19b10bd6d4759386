// `loadspiker completions bash|zsh|fish|powershell|elvish` and `loadspiker man`: made from the
// commands and flags themselves, so they never fall behind.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "core/error.h"

namespace spiker::cli {
namespace {

struct Flag {
  std::string longname, shortname, help;
  bool takes_value = false;
};

std::vector<Flag> flags_of(const CLI::App& cmd) {
  std::vector<Flag> out;
  for (const CLI::Option* o : cmd.get_options()) {
    if (o->get_lnames().empty() && o->get_snames().empty()) continue;  // positionals
    Flag f;
    if (!o->get_lnames().empty()) f.longname = o->get_lnames().front();
    if (!o->get_snames().empty()) f.shortname = o->get_snames().front();
    f.help = o->get_description();
    f.takes_value = o->get_type_size_max() > 0 && o->get_items_expected_max() > 0;
    out.push_back(std::move(f));
  }
  return out;
}

std::string one_line(std::string s) {
  for (char& c : s) c = c == '\n' ? ' ' : c;
  return s;
}

// Inside '...' in a shell: fish takes \', zsh and bash end the quote ('\'').
std::string quoted_for(std::string s, bool fish_style) {
  std::string out;
  for (char c : one_line(std::move(s))) {
    out += c != '\'' ? std::string(1, c) : fish_style ? "\\'" : "'\\''";
  }
  return out;
}

std::string bash(const CLI::App& app) {
  std::string cases, names;
  for (const CLI::App* sub : app.get_subcommands({})) {
    names += " " + sub->get_name();
    std::string words;
    for (const Flag& f : flags_of(*sub)) {
      if (!f.longname.empty()) words += " --" + f.longname;
      if (!f.shortname.empty()) words += " -" + f.shortname;
    }
    cases += fmt::format("    {}) opts=\"{}\" ;;\n", sub->get_name(), words.substr(1));
  }
  return fmt::format(
      "# bash completion for loadspiker: source <(loadspiker completions bash)\n"
      "_loadspiker() {{\n"
      "  local cur=\"${{COMP_WORDS[COMP_CWORD]}}\" opts\n"
      "  if [[ $COMP_CWORD -eq 1 ]]; then\n"
      "    COMPREPLY=($(compgen -W \"{}\" -- \"$cur\"))\n"
      "    return\n"
      "  fi\n"
      "  case \"${{COMP_WORDS[1]}}\" in\n{}"
      "    *) opts=\"\" ;;\n"
      "  esac\n"
      "  if [[ \"$cur\" == -* ]]; then\n"
      "    COMPREPLY=($(compgen -W \"$opts\" -- \"$cur\"))\n"
      "  else\n"
      "    COMPREPLY=($(compgen -f -- \"$cur\"))\n"
      "  fi\n"
      "}}\n"
      "complete -o filenames -F _loadspiker loadspiker\n",
      names.substr(1), cases);
}

std::string zsh(const CLI::App& app) {
  std::string out =
      "#compdef loadspiker\n# zsh completion for loadspiker: loadspiker completions zsh > "
      "\"${fpath[1]}/_loadspiker\"\n_loadspiker() {\n  local -a commands\n  commands=(\n";
  for (const CLI::App* sub : app.get_subcommands({})) {
    out += fmt::format("    '{}:{}'\n", sub->get_name(), quoted_for(sub->get_description(), false));
  }
  out += "  )\n  if (( CURRENT == 2 )); then\n    _describe command commands\n    return\n  fi\n";
  out += "  case $words[2] in\n";
  for (const CLI::App* sub : app.get_subcommands({})) {
    out += fmt::format("    {})\n      _arguments \\\n", sub->get_name());
    for (const Flag& f : flags_of(*sub)) {
      std::string help = quoted_for(f.help, false);
      for (char& c : help) c = c == '[' || c == ']' || c == ':' ? ' ' : c;
      std::string value = f.takes_value ? ":value:_files" : "";
      if (!f.longname.empty())
        out += fmt::format("        '--{}[{}]{}' \\\n", f.longname, help, value);
      if (!f.shortname.empty())
        out += fmt::format("        '-{}[{}]{}' \\\n", f.shortname, help, value);
    }
    out += "        '*:file:_files' ;;\n";
  }
  out += "  esac\n}\n_loadspiker \"$@\"\n";
  return out;
}

std::string fish(const CLI::App& app) {
  std::string out =
      "# fish completion for loadspiker: loadspiker completions fish > "
      "~/.config/fish/completions/loadspiker.fish\n"
      "complete -c loadspiker -f\n";
  for (const CLI::App* sub : app.get_subcommands({})) {
    out += fmt::format("complete -c loadspiker -n __fish_use_subcommand -a {} -d '{}'\n",
                       sub->get_name(), quoted_for(sub->get_description(), true));
    for (const Flag& f : flags_of(*sub)) {
      out += fmt::format("complete -c loadspiker -n '__fish_seen_subcommand_from {}'",
                         sub->get_name());
      if (!f.longname.empty()) out += " -l " + f.longname;
      if (!f.shortname.empty()) out += " -s " + f.shortname;
      out += fmt::format("{} -d '{}'\n", f.takes_value ? " -r -F" : "", quoted_for(f.help, true));
    }
  }
  return out;
}

// Inside '...' in PowerShell and Elvish: a quote is doubled.
std::string doubled_quotes(std::string s) {
  std::string out;
  for (char c : one_line(std::move(s))) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out;
}

// The subcommand's flags as quoted words: '--duration' '-d' ...
std::string flag_words(const CLI::App& sub, const char* separator) {
  std::string words;
  for (const Flag& f : flags_of(sub)) {
    if (!f.longname.empty())
      words += fmt::format("{}'--{}'", words.empty() ? "" : separator, f.longname);
    if (!f.shortname.empty())
      words += fmt::format("{}'-{}'", words.empty() ? "" : separator, f.shortname);
  }
  return words;
}

std::string powershell(const CLI::App& app) {
  std::string commands, descriptions;
  for (const CLI::App* sub : app.get_subcommands({})) {
    commands += fmt::format("    '{}' = @({})\n", sub->get_name(), flag_words(*sub, ", "));
    descriptions +=
        fmt::format("    '{}' = '{}'\n", sub->get_name(), doubled_quotes(sub->get_description()));
  }
  return fmt::format(
      "# PowerShell completion for loadspiker:\n"
      "#   loadspiker completions powershell | Out-String | Invoke-Expression\n"
      "Register-ArgumentCompleter -Native -CommandName loadspiker -ScriptBlock {{\n"
      "  param($wordToComplete, $commandAst, $cursorPosition)\n"
      "  $commands = @{{\n{}  }}\n"
      "  $descriptions = @{{\n{}  }}\n"
      "  $words = @($commandAst.CommandElements | ForEach-Object {{ $_.ToString() }})\n"
      "  if ($words.Count -lt 2 -or ($words.Count -eq 2 -and $wordToComplete -ne '')) {{\n"
      "    $commands.Keys | Where-Object {{ $_ -like \"$wordToComplete*\" }} | Sort-Object |\n"
      "      ForEach-Object {{ [System.Management.Automation.CompletionResult]::new($_, $_, "
      "'ParameterValue', $descriptions[$_]) }}\n"
      "    return\n"
      "  }}\n"
      "  if ($wordToComplete -like '-*' -and $commands.ContainsKey($words[1])) {{\n"
      "    $commands[$words[1]] | Where-Object {{ $_ -like \"$wordToComplete*\" }} |\n"
      "      ForEach-Object {{ [System.Management.Automation.CompletionResult]::new($_, $_, "
      "'ParameterName', $_) }}\n"
      "  }}\n"
      "}}\n",
      commands, descriptions);
}

std::string elvish(const CLI::App& app) {
  std::string commands;
  for (const CLI::App* sub : app.get_subcommands({})) {
    commands += fmt::format("    &'{}'=[{}]\n", sub->get_name(), flag_words(*sub, " "));
  }
  return fmt::format(
      "# elvish completion for loadspiker: eval (loadspiker completions elvish | slurp)\n"
      "set edit:completion:arg-completer[loadspiker] = {{|@words|\n"
      "  var commands = [\n{}  ]\n"
      "  if (== (count $words) 2) {{\n"
      "    keys $commands\n"
      "  }} elif (has-key $commands $words[1]) {{\n"
      "    all $commands[$words[1]]\n"
      "    edit:complete-filename $words[-1]\n"
      "  }}\n"
      "}}\n",
      commands);
}

std::string roff_escape(std::string s) {
  std::string out;
  for (char c : s) {
    if (c == '\\') {
      out += "\\e";
    } else if (c == '-') {
      out += "\\-";
    } else {
      out += c;
    }
  }
  if (!out.empty() && (out[0] == '.' || out[0] == '\'')) out = "\\&" + out;
  return out;
}

std::string man(const CLI::App& app) {
  std::string out =
      ".TH LOADSPIKER 1 \"\" \"loadspiker 0.1.0\" \"User Commands\"\n"
      ".SH NAME\nloadspiker \\- a fast load generator with numbers you can trust\n"
      ".SH SYNOPSIS\n.B loadspiker\n\\fICOMMAND\\fR [\\fIOPTIONS\\fR]\n"
      ".SH DESCRIPTION\nLoadSpiker loads HTTP/1.1, HTTP/2, WebSocket, TCP and UDP targets with "
      "closed and open load models, checks and thresholds, and writes Kaioken's JSON result, "
      "CSV, Markdown, HTML, JUnit and HdrHistogram logs. It reads Kaioken's TOML files.\n";
  out += ".SH COMMANDS\n";
  for (const CLI::App* sub : app.get_subcommands({})) {
    out += fmt::format(".SS \"loadspiker {}\"\n{}\n", sub->get_name(),
                       roff_escape(sub->get_description()));
    for (const Flag& f : flags_of(*sub)) {
      std::string spell;
      if (!f.shortname.empty()) spell += "\\fB\\-" + f.shortname + "\\fR";
      if (!f.longname.empty()) {
        spell += (spell.empty() ? "" : ", ") + std::string("\\fB\\-\\-") + roff_escape(f.longname) +
                 "\\fR";
      }
      if (f.takes_value) spell += " \\fIVALUE\\fR";
      out += ".TP\n" + spell + "\n" + roff_escape(one_line(f.help)) + "\n";
    }
  }
  out +=
      ".SH EXIT STATUS\n.TP\n0\nthe run ended and passed\n.TP\n1\nno request completed, more "
      "than half failed, a config file is wrong, an output could not be written\n.TP\n2\nbad "
      "flags or input, refused before the first request\n.TP\n3\n\\fBcompare\\fR found "
      "regressions\n.TP\n4\nthresholds failed\n.TP\n5\n\\fBcompare\\fR of different load "
      "models\n.TP\n130\nstopped by a signal; partial results are written\n"
      ".SH EXAMPLES\n.nf\nloadspiker run http://127.0.0.1:8080/ \\-c 50 \\-d 30s\n"
      "loadspiker run test.toml \\-o result.json \\-o report.html\n"
      "loadspiker import recording.har \\-o test.toml\n"
      "loadspiker compare base.json current.json\n.fi\n"
      ".SH SEE ALSO\nThe README of the project: every flag, key and output field.\n";
  return out;
}

}  // namespace

std::function<int()> add_completions_command(CLI::App& app) {
  auto shell = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("completions", "Print a shell completion script");
  cmd->add_option("shell", *shell, "bash, zsh, fish, powershell or elvish")
      ->required()
      ->check(CLI::IsMember({"bash", "zsh", "fish", "powershell", "elvish"}));
  return [shell, &app] {
    std::string text = *shell == "bash"         ? bash(app)
                       : *shell == "zsh"        ? zsh(app)
                       : *shell == "fish"       ? fish(app)
                       : *shell == "powershell" ? powershell(app)
                                                : elvish(app);
    std::fputs(text.c_str(), stdout);
    return kExitOk;
  };
}

std::function<int()> add_man_command(CLI::App& app) {
  app.add_subcommand("man", "Print the manual page (roff): loadspiker man | man -l -");
  return [&app] {
    std::fputs(man(app).c_str(), stdout);
    return kExitOk;
  };
}

}  // namespace spiker::cli
