#include "plan/journey.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/error.h"
#include "core/redact.h"

namespace spiker::plan {

std::string step_action_name(const Step& st) {
  if (st.action == Action::kProtocol && st.proto) return st.proto->action_name;
  return action_name(st.action);
}

size_t Journey::step_count() const {
  size_t n = 0;
  for (const Scenario& sc : scenarios) n += sc.steps.size();
  return n;
}

const Step* Journey::step_by_id(uint16_t id) const {
  for (const Scenario& sc : scenarios) {
    for (const Step& s : sc.steps) {
      if (s.id == id) return &s;
    }
  }
  return nullptr;
}

void order_steps(Scenario& sc, std::string_view where) {
  size_t n = sc.steps.size();
  // Depth-first, visiting steps in file order: a stable order where dependencies come first.
  std::vector<uint8_t> mark(n, 0);  // 0 new, 1 on the path, 2 placed
  std::vector<size_t> order, path;
  auto visit = [&](auto& self, size_t i) -> void {
    if (mark[i] == 2) return;
    if (mark[i] == 1) {
      std::string cycle;
      auto from = std::find(path.begin(), path.end(), i);
      for (auto it = from; it != path.end(); ++it) cycle += sc.steps[*it].name + " -> ";
      cycle += sc.steps[i].name;
      throw SetupError(
          fmt::format("{}: scenario '{}' has a dependency cycle: {}; remove one of "
                      "these depends_on (or the variable use that implies it)",
                      where, sc.name, cycle));
    }
    mark[i] = 1;
    path.push_back(i);
    for (uint16_t d : sc.steps[i].deps) self(self, d);
    path.pop_back();
    mark[i] = 2;
    order.push_back(i);
  };
  for (size_t i = 0; i < n; ++i) visit(visit, i);
  std::vector<uint16_t> new_index(n);
  for (size_t k = 0; k < n; ++k) new_index[order[k]] = static_cast<uint16_t>(k);
  std::vector<Step> sorted;
  sorted.reserve(n);
  for (size_t k = 0; k < n; ++k) {
    Step s = std::move(sc.steps[order[k]]);
    for (uint16_t& d : s.deps) d = new_index[d];
    if (s.cond.kind == Condition::Kind::kStepPassed ||
        s.cond.kind == Condition::Kind::kStepFailed) {
      s.cond.index = new_index[s.cond.index];
    }
    sorted.push_back(std::move(s));
  }
  sc.steps = std::move(sorted);
}

std::string graph(const Journey& j, std::string_view format) {
  bool dot = format == "dot";
  std::string out = dot ? "digraph journey {\n  rankdir=TB;\n" : "flowchart TD\n";
  auto id = [](const Step& s) { return fmt::format("s{}", s.id); };
  auto quote = [](std::string text) {
    std::string q;
    for (char c : text) q += c == '"' ? '\'' : c;
    return q;
  };
  for (size_t si = 0; si < j.scenarios.size(); ++si) {
    const Scenario& sc = j.scenarios[si];
    std::string title = fmt::format("{} (weight {})", sc.name, sc.weight);
    out += dot ? fmt::format("  subgraph cluster_{} {{\n    label=\"{}\";\n", si, quote(title))
               : fmt::format("  subgraph sc{}[\"{}\"]\n", si, quote(title));
    for (const Step& s : sc.steps) {
      std::string label = fmt::format("{}: {} {}{}", s.name, s.method, redact_url(s.url_text),
                                      s.once ? " (once per VU)" : "");
      out += dot ? fmt::format("    {} [label=\"{}\", shape=box];\n", id(s), quote(label))
                 : fmt::format("    {}[\"{}\"]\n", id(s), quote(label));
    }
    out += dot ? "  }\n" : "  end\n";
    for (const Step& s : sc.steps) {
      for (uint16_t d : s.deps) {
        out += dot ? fmt::format("  {} -> {};\n", id(sc.steps[d]), id(s))
                   : fmt::format("  {} --> {}\n", id(sc.steps[d]), id(s));
      }
    }
  }
  if (dot) out += "}\n";
  return out;
}

}  // namespace spiker::plan
