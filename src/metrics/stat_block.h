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

struct Shard;
class Histogram;
struct StatBlock;

// What a block's own section writer sees (for sections with a shape of their own, such as
// Kaioken's websocket section).
struct StatSectionInput {
  const StatBlock* block = nullptr;
  const uint64_t* counters = nullptr;     // the block's counters, in declared order
  const Histogram* histograms = nullptr;  // the block's histograms, in declared order
  const Shard* run = nullptr;             // the run's totals (errors by kind, latency, ...)
  double measured_s = 0;
  const std::vector<std::pair<std::string, std::string>>* facts = nullptr;  // the run's
  bool merged = false;  // a merge of results: set-up percentiles of the run are not known
  // The report's percentile object for a histogram (min, max, mean, p50 ... count).
  std::string (*latency_json)(const Histogram& h) = nullptr;
};
// Returns the section as a JSON object's text.
using StatSection = std::string (*)(const StatSectionInput& in);

// A derived figure of a block's section (a rate, a ratio), computed from its counters and the
// measured seconds; recomputed after a merge.
using StatDerive = std::vector<std::pair<std::string, double>> (*)(const uint64_t* counters,
                                                                   double measured_s);

struct StatBlockDef {
  std::string name;   // the JSON section and summary label: "tcp", "udp"
  std::string title;  // for the summary: "TCP"
  std::vector<std::string> counters;
  std::vector<std::string> histograms;  // microseconds; reported as NAME_us
  // Histograms of counts, not times (Kafka's consumer lag in messages): reported as NAME.
  std::vector<std::string> count_histograms;
  StatDerive derive = nullptr;
  // Counters also reported per second of measured time, as NAME_per_sec.
  std::vector<std::string> per_second;
  // Counters shown in the summary line, in order (empty: every non-zero counter).
  std::vector<std::string> summary;
  // The JSON section's own shape (null: counters, derived figures and NAME_us histograms).
  StatSection section = nullptr;
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
  // Its i-th histogram's key in reports: NAME_us, or NAME for a count histogram.
  std::string histogram_key(size_t i) const;
  bool counts(size_t i) const;  // the i-th histogram holds counts, not microseconds
  // The figures derived from the block's counters: per_second's rates, then derive's.
  std::vector<std::pair<std::string, double>> derived(const uint64_t* counters,
                                                      double measured_s) const;
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

// Statuses 1..99 are protocols' own, named (gRPC's OK, NOT_FOUND, ...): a protocol names its
// range once at start-up and reports print the name; HTTP statuses are 100..599.
void name_statuses(int first, const std::vector<std::string>& names);
// What reports call a status index: "200", "NOT_FOUND", "other" (index 0).
std::string status_label(int code);

}  // namespace spiker::metrics
