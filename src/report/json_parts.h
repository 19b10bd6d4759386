// Pieces of the JSON result shared by the writers in src/report (nlohmann stays out of
// widely included headers).
#pragma once

#include <nlohmann/json.hpp>

#include "metrics/histogram.h"

namespace spiker::report {

// {min, max, mean, p50, p75, p90, p95, p99, p999}
nlohmann::json percentiles(const metrics::Histogram& h);
// percentiles() plus stddev, p9999 and count.
nlohmann::json latency(const metrics::Histogram& h);

}  // namespace spiker::report
