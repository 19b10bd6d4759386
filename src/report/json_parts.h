// Pieces of the JSON result shared by the writers in src/report (nlohmann stays out of
// widely included headers).
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/json.h"
#include "metrics/histogram.h"

namespace spiker::metrics {
struct Shard;
}

namespace spiker::report {

// {min, max, mean, p50, p75, p90, p95, p99, p999}
nlohmann::json percentiles(const metrics::Histogram& h);
// percentiles() plus stddev, p9999 and count.
nlohmann::json latency(const metrics::Histogram& h);

// The registered protocols' stat blocks (stat_sections.cc): a section each in `doc`, their
// histograms under doc["histograms"]; merged from `docs` into `out`; summary lines.
using BlockFacts = std::map<std::string, std::vector<std::pair<std::string, std::string>>>;
void put_stat_sections(const metrics::Shard& t, double measured_s, const BlockFacts& facts,
                       nlohmann::json& doc);
void merge_stat_sections(const std::vector<nlohmann::json>& docs, const metrics::Shard& merged,
                         double measured_s, nlohmann::json& out);
std::string stat_summary_lines(const metrics::Shard& t, double measured_s);

}  // namespace spiker::report
