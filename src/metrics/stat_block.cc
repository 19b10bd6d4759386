#include "metrics/stat_block.h"

#include <algorithm>
#include <deque>

namespace spiker::metrics {
namespace {

struct Registry {
  std::deque<StatBlock> blocks;  // stable addresses for the handles protocols keep
  std::vector<StatBlock> flat;   // a copy for iteration
  size_t counters = 0;
  size_t histograms = 0;
};

Registry& registry() {
  static Registry r;
  return r;
}

}  // namespace

int StatBlock::counter_index(std::string_view name) const {
  for (size_t i = 0; i < def.counters.size(); ++i) {
    if (def.counters[i] == name) return static_cast<int>(i);
  }
  return -1;
}

std::vector<std::pair<std::string, double>> StatBlock::derived(const uint64_t* counters,
                                                               double measured_s) const {
  std::vector<std::pair<std::string, double>> out;
  for (const std::string& name : def.per_second) {
    int i = counter_index(name);
    if (i < 0) continue;
    out.emplace_back(name + "_per_sec",
                     measured_s > 0 ? static_cast<double>(counters[i]) / measured_s : 0);
  }
  if (def.derive != nullptr) {
    for (auto& figure : def.derive(counters, measured_s)) out.push_back(std::move(figure));
  }
  return out;
}

const StatBlock& StatBlocks::add(StatBlockDef def) {
  Registry& r = registry();
  for (const StatBlock& b : r.blocks) {
    if (b.def.name == def.name) return b;  // registered twice (tests): the first stays
  }
  StatBlock b;
  b.first_counter = static_cast<uint32_t>(r.counters);
  b.first_histogram = static_cast<uint32_t>(r.histograms);
  r.counters += def.counters.size();
  r.histograms += def.histograms.size();
  b.def = std::move(def);
  r.blocks.push_back(b);
  r.flat.push_back(b);
  return r.blocks.back();
}

const std::vector<StatBlock>& StatBlocks::all() { return registry().flat; }

const StatBlock* StatBlocks::find(std::string_view name) {
  for (const StatBlock& b : registry().blocks) {
    if (b.def.name == name) return &b;
  }
  return nullptr;
}

size_t StatBlocks::counter_count() { return registry().counters; }
size_t StatBlocks::histogram_count() { return registry().histograms; }

bool StatBlock::counts(size_t i) const {
  const std::vector<std::string>& c = def.count_histograms;
  return std::find(c.begin(), c.end(), def.histograms[i]) != c.end();
}

std::string StatBlock::histogram_key(size_t i) const {
  return counts(i) ? def.histograms[i] : def.histograms[i] + "_us";
}

namespace {
std::vector<std::string>& status_names() {
  static std::vector<std::string> names(100);
  return names;
}
}  // namespace

void name_statuses(int first, const std::vector<std::string>& names) {
  for (size_t i = 0; i < names.size(); ++i) {
    size_t at = static_cast<size_t>(first) + i;
    if (at > 0 && at < status_names().size()) status_names()[at] = names[i];
  }
}

std::string status_label(int code) {
  if (code == 0) return "other";
  if (code > 0 && code < 100 && !status_names()[static_cast<size_t>(code)].empty()) {
    return status_names()[static_cast<size_t>(code)];
  }
  return std::to_string(code);
}

}  // namespace spiker::metrics
