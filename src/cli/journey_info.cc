// Journeys as the CLI shows them: the plan summary with its DAG, per-step report entries, and
// -H flags applied to every step.
#include <fmt/format.h>
#include <strings.h>

#include <algorithm>

#include "cli/run_args.h"
#include "protocols/http1/request_builder.h"

namespace spiker::cli {

void add_header_flags(plan::Journey& j, const std::vector<std::string>& headers) {
  for (const std::string& h : headers) {
    auto [name, value] = http1::parse_header_arg(h);
    for (plan::Scenario& sc : j.scenarios) {
      for (plan::Step& st : sc.steps) {
        std::erase_if(st.headers, [&](const auto& x) {
          return strcasecmp(x.first.c_str(), name.c_str()) == 0;
        });
        st.headers.emplace_back(name, plan::Template::literal(value));
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
      out += fmt::format("    {}. {:<14} {} {}{}\n", i + 1, st.name, st.method,
                         j.origins[st.origin].url.host_header + st.url_text.substr(
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
      info.url = st.url_text;
      info.method = st.method;
      info.weight = sc.weight;
      info.tags = st.tags;
    }
  }
  return out;
}

}  // namespace spiker::cli
