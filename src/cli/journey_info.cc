// Journeys as the CLI shows them: the plan summary with its DAG, per-step report entries, and
// -H flags applied to every step.
#include <fmt/format.h>
#include <strings.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "cli/run_args.h"
#include "config/config_file.h"
#include "core/error.h"
#include "core/redact.h"
#include "protocols/http1/request_builder.h"

namespace spiker::cli {

void add_header_flags(plan::Journey& j, const std::vector<std::string>& headers) {
  plan::Scope scope;  // -H may use built-ins and the journey's variables
  scope.variables = j.variables;
  for (const plan::DataTable& t : j.data) scope.tables.emplace_back(t.name, t.columns);
  for (const std::string& h : headers) {
    // Named, not a structured binding: clang 14 cannot capture those in the lambda below.
    std::pair<std::string, std::string> header = http1::parse_header_arg(h);
    const std::string& name = header.first;
    const std::string& value = header.second;
    for (plan::Scenario& sc : j.scenarios) {
      for (plan::Step& st : sc.steps) {
        std::erase_if(st.headers, [&](const auto& x) {
          return strcasecmp(x.first.c_str(), name.c_str()) == 0;
        });
        st.headers.emplace_back(name, plan::Template::compile(value, "-H/--header", &scope));
      }
    }
  }
}

std::string describe_journey(const plan::Journey& j) {
  size_t rows = 0;
  for (const plan::DataTable& t : j.data) rows += t.rows();
  std::string out = fmt::format(
      "  journey  {} scenario{}, {} steps, {} variable{}, {} data table{} ({} rows); cookie jar "
      "{}; redirects {}\n",
      j.scenarios.size(), j.scenarios.size() == 1 ? "" : "s", j.step_count(), j.variables.size(),
      j.variables.size() == 1 ? "" : "s", j.data.size(), j.data.size() == 1 ? "" : "s", rows,
      j.cookie_jar ? "on" : "off",
      j.max_redirects > 0 ? fmt::format("followed up to {}", j.max_redirects) : "not followed");
  for (const plan::Scenario& sc : j.scenarios) {
    out += fmt::format("  scenario {} (weight {})\n", sc.name, sc.weight);
    for (size_t i = 0; i < sc.steps.size(); ++i) {
      const plan::Step& st = sc.steps[i];
      std::string extra;
      if (!st.deps.empty()) {
        std::string after;
        for (uint16_t d : st.deps) after += (after.empty() ? "" : ", ") + sc.steps[d].name;
        extra += "  after " + after;
      } else {
        extra += "  at start";
      }
      if (st.once) extra += "  once per VU";
      if (!st.extracts.empty()) {
        std::string vars;
        for (const plan::Extractor& x : st.extracts) {
          vars += (vars.empty() ? "" : ", ") + j.variables[x.var];
        }
        extra += "  extracts " + vars;
      }
      if (!st.checks.empty()) extra += fmt::format("  {} check(s)", st.checks.size());
      if (st.cond.kind != plan::Condition::Kind::kAlways) extra += "  conditional";
      if (!st.think.none()) extra += "  then thinks " + st.think.to_string();
      bool ws_use = st.action != plan::Action::kHttp && st.action != plan::Action::kWsConnect;
      if (ws_use) {  // on the WebSocket its scenario's ws.connect opened
        out +=
            fmt::format("    {}. {:<14} {}{}\n", i + 1, st.name, plan::step_action_name(st), extra);
        continue;
      }
      out +=
          fmt::format("    {}. {:<14} {} {}{}\n", i + 1, st.name,
                      st.action == plan::Action::kHttp ? st.method : "ws.connect",
                      j.origins[st.origin].url.host_header +
                          st.url_text.substr(
                              st.url_text.find("://") == std::string::npos
                                  ? 0
                                  : std::min(st.url_text.size(),
                                             st.url_text.find('/', st.url_text.find("://") + 3))),
                      extra);
    }
  }
  return out;
}

std::vector<report::ScenarioInfo> step_infos(const plan::Journey& j) {
  std::vector<report::ScenarioInfo> out(j.step_count());
  for (const plan::Scenario& sc : j.scenarios) {
    for (const plan::Step& st : sc.steps) {
      report::ScenarioInfo& info = out.at(st.id);
      info.name = sc.steps.size() > 1 ? sc.name + "/" + st.name : sc.name;
      info.scenario = sc.name;
      info.url = redact_url(st.url_text);
      info.method = st.method;
      if (st.action != plan::Action::kHttp) {
        info.method = plan::step_action_name(st);
        info.url = redact_url(j.origins[st.origin].url.to_string());
        if (st.action == plan::Action::kWsConnect) info.url = redact_url(st.url_text);
      }
      info.weight = sc.weight;
      info.tags = st.tags;
    }
  }
  return out;
}

}  // namespace spiker::cli

namespace spiker::cli {

std::function<int()> add_graph_command(CLI::App& app) {
  struct Args {
    std::string file;
    std::string format = "mermaid";
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("graph", "Print a config file's step DAG (Mermaid or dot)");
  cmd->add_option("file", args->file, "TOML config file")->required();
  cmd->add_option("--format", args->format, "mermaid or dot")
      ->check(CLI::IsMember({"mermaid", "dot"}))
      ->capture_default_str();
  return [args] {
    if (is_grid(args->file)) {
      std::fputs(grid_graph(args->file, args->format).c_str(), stdout);
      return 0;
    }
    config::ConfigFile f = config::load_config_file(args->file);
    std::shared_ptr<plan::Journey> j = f.journey;
    if (!j) {
      // A file without journeys: each scenario (or the target) is one step.
      j = std::make_shared<plan::Journey>();
      uint16_t id = 0;
      auto add = [&](const std::string& name, const std::string& method, const std::string& url,
                     uint32_t weight) {
        plan::Scenario sc;
        sc.name = name;
        sc.weight = weight;
        plan::Step st;
        st.name = name;
        st.id = id++;
        st.method = method;
        st.url_text = url;
        sc.steps.push_back(std::move(st));
        j->scenarios.push_back(std::move(sc));
      };
      for (const config::ScenarioSection& sc : f.scenarios) {
        add(sc.name, sc.method.value_or(f.target.method.value_or("GET")), sc.url, sc.weight);
      }
      if (f.scenarios.empty() && f.target.url) {
        add("target", f.target.method.value_or("GET"), *f.target.url, 1);
      }
    }
    std::fputs(plan::graph(*j, args->format).c_str(), stdout);
    return 0;
  };
}

}  // namespace spiker::cli
