// Stat blocks: the named counters and histograms a protocol records beside the run's common
// metrics (TCP exchanges, lost UDP datagrams, HTTP/2 GOAWAYs...). A protocol declares its block
// once at start-up; every Shard then holds a slot per counter and histogram of every block, and
// merge, reset, the JSON result, the summary and the live view iterate the blocks without
// knowing any protocol's fields.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace spiker::metrics {

// A derived figure of a block's section (a rate, a ratio), computed from its counters and the
// measured seconds; recomputed after a merge.
using StatDerive = std::vector<std::pair<std::string, double>> (*)(const uint64_t* counters,
                                                                    double measured_s);

struct StatBlockDef {
  std::string name;  // the JSON section and summary label: "tcp", "udp"
  std::string title;  // for the summary: "TCP"
  std::vector<std::string> counters;
  std::vector<std::string> histograms;  // microseconds; reported as NAME_us
  StatDerive derive = nullptr;
  // Counters shown in the summary line, in order (empty: every non-zero counter).
  std::vector<std::string> summary;
};

// A block as registered: where its counters and histograms sit in a Shard.
struct StatBlock {
  StatBlockDef def;
  uint32_t first_counter = 0;
  uint32_t first_histogram = 0;
  // Handles for recording: counter(i) is the block's i-th declared counter.
  uint32_t counter(size_t i) const { return first_counter + static_cast<uint32_t>(i); }
  uint32_t histogram(size_t i) const { return first_histogram + static_cast<uint32_t>(i); }
  int counter_index(std::string_view name) const;  // -1 when the block has none by that name
};

// The process's blocks. Registered before any Shard is made (at start-up, single-threaded).
class StatBlocks {
 public:
  static const StatBlock& add(StatBlockDef def);
  static const std::vector<StatBlock>& all();
  static const StatBlock* find(std::string_view name);
  static size_t counter_count();
  static size_t histogram_count();
};

}  // namespace spiker::metrics
