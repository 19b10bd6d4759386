// Run history (Kaioken's --db-url, the LoadSpiker seed's "historical trending"): each run's
// summary and its whole JSON result (histograms included) in a SQLite file, listed with its
// trend by `loadspiker history` and read back by `compare runs.db#ID`.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace spiker::history {

struct RunRow {
  int64_t id = 0;
  std::string started_at, title, url, executor, load_model;
  uint64_t requests = 0, failed = 0;
  double error_rate = 0, rps = 0;
  int64_t p50_us = 0, p95_us = 0, p99_us = 0, max_us = 0;
  int thresholds = -1;  // 1 passed, 0 failed, -1 none
};

// Opens (creating) the file and its table: a path that cannot hold it fails before the run.
void prepare(const std::string& db_path);
// Adds the result (JSON text) to the file, creating it; returns the run's id. Throws
// SetupError naming the file.
int64_t add_run(const std::string& db_path, const std::string& result_json);
// The newest `limit` runs (all when 0), oldest first; only those whose URL or title contains
// `match` when it is not empty.
std::vector<RunRow> list_runs(const std::string& db_path, size_t limit, const std::string& match);
// The stored JSON result of run `id`.
std::string run_json(const std::string& db_path, int64_t id);
// "runs.db#12": the file and the id, when `ref` names a stored run (the file exists).
bool parse_ref(const std::string& ref, std::string* db_path, int64_t* id);

}  // namespace spiker::history
