// `merge` and `compare` over saved JSON results.
#pragma once

#include <string>
#include <vector>

#include "metrics/shard.h"

namespace spiker::report {

struct Merged {
  std::string json;       // the merged result (thresholds still as in the first input)
  metrics::Shard totals;  // what thresholds are evaluated on
  double measured_s = 0;
  std::vector<std::string> step_names, step_scenarios;  // by index, as in `scenarios`
  std::vector<std::string> warnings;
};

// Combines results of the segments of one test run side by side: counts add up, histograms
// merge (never averaged), the timeline adds up second by second, rates are over the longest
// run. Throws SetupError (exit 1) when an input is not a result or the inputs differ in shape.
Merged merge_results(const std::vector<std::string>& texts, const std::vector<std::string>& names);

// Replaces the merged result's thresholds section.
std::string with_thresholds(const std::string& json, const std::string& thresholds_json);

struct CompareOptions {
  double p99_pct = 10, p999_pct = 15, error_rate_pct = 50, rps_pct = 10;
  bool force = false;
};

struct Comparison {
  std::string table;  // for people
  std::string json;   // Kaioken's compare --json shape
  bool regressed = false;
  bool model_mismatch = false;  // refused: different load models without force
};

Comparison compare_results(const std::string& base, const std::string& current,
                           const std::string& base_name, const std::string& current_name,
                           const CompareOptions& o);

}  // namespace spiker::report
