#include "history/history.h"

#include <fmt/format.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <algorithm>
#include <memory>

#include "core/error.h"
#include "core/json.h"

namespace spiker::history {
namespace {

constexpr const char* kSchema = R"(
CREATE TABLE IF NOT EXISTS runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  started_at TEXT NOT NULL,
  ended_at TEXT NOT NULL,
  title TEXT NOT NULL,
  url TEXT NOT NULL,
  executor TEXT NOT NULL,
  load_model TEXT NOT NULL,
  requests INTEGER NOT NULL,
  failed INTEGER NOT NULL,
  error_rate REAL NOT NULL,
  rps REAL NOT NULL,
  p50_us INTEGER NOT NULL,
  p95_us INTEGER NOT NULL,
  p99_us INTEGER NOT NULL,
  max_us INTEGER NOT NULL,
  thresholds_passed INTEGER,
  result_json TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_started ON runs(started_at);
)";

struct Db {
  sqlite3* db = nullptr;
  std::string path;
  ~Db() {
    if (db != nullptr) sqlite3_close(db);
  }
  [[noreturn]] void fail(const char* what) const {
    throw SetupError(fmt::format("--db-url '{}': {}: {}", path, what,
                                 db != nullptr ? sqlite3_errmsg(db) : "cannot open"),
                     kExitError);
  }
};

bool non_empty_file(const std::string& path) {
  struct stat sb {};
  return ::stat(path.c_str(), &sb) == 0 && sb.st_size > 0;
}

[[noreturn]] void not_history(const std::string& path, const std::string& why) {
  throw SetupError(fmt::format("'{}' is not a LoadSpiker history file ({}); give a new file's "
                               "path, or one that run --db-url wrote",
                               path, why),
                   kExitUsage);
}

// Opens a history file. `create`: made (with its schema) when absent or empty; otherwise opened
// read-only, so that reading never writes. Either way a file that exists must be a history (an
// SQLite file with the runs table); one opened to read must also pass PRAGMA quick_check (a
// damaged one is refused, not read as empty).
std::unique_ptr<Db> open(const std::string& path, bool create) {
  auto d = std::make_unique<Db>();
  d->path = path;
  bool fresh = create && !non_empty_file(path);
  int flags = create ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY;
  if (sqlite3_open_v2(path.c_str(), &d->db, flags, nullptr) != SQLITE_OK) {
    d->fail(create ? "cannot open or create it" : "cannot open it");
  }
  sqlite3_busy_timeout(d->db, 5000);  // runs from parallel CI jobs may share a file
  char* err = nullptr;
  auto exec = [&](const char* sql) {
    if (sqlite3_exec(d->db, sql, nullptr, nullptr, &err) == SQLITE_OK) return;
    std::string why = err != nullptr ? err : sqlite3_errmsg(d->db);
    sqlite3_free(err);
    not_history(path, why);
  };
  if (fresh) {
    exec(kSchema);
    return d;
  }
  exec(
      "SELECT id, started_at, title, url, executor, load_model, requests, failed, error_rate, "
      "rps, p50_us, p95_us, p99_us, max_us, thresholds_passed, result_json FROM runs LIMIT 0");
  if (create) return d;           // a run adding itself: the table is there; damage shows when read
  sqlite3_stmt* check = nullptr;  // reading (history, compare, report): the whole file, once
  std::string verdict = "?";
  if (sqlite3_prepare_v2(d->db, "PRAGMA quick_check", -1, &check, nullptr) == SQLITE_OK &&
      sqlite3_step(check) == SQLITE_ROW) {
    const unsigned char* t = sqlite3_column_text(check, 0);
    verdict = t != nullptr ? reinterpret_cast<const char*>(t) : "?";
  } else {
    verdict = sqlite3_errmsg(d->db);
  }
  sqlite3_finalize(check);
  if (verdict != "ok") not_history(path, "damaged: " + verdict);
  return d;
}

struct Stmt {
  sqlite3_stmt* s = nullptr;
  Stmt(const Db& d, const char* sql) {
    if (sqlite3_prepare_v2(d.db, sql, -1, &s, nullptr) != SQLITE_OK) d.fail("a query failed");
  }
  ~Stmt() { sqlite3_finalize(s); }
  std::string text(int col) const {
    const unsigned char* t = sqlite3_column_text(s, col);
    return t != nullptr ? reinterpret_cast<const char*>(t) : "";
  }
};

}  // namespace

void prepare(const std::string& db_path) {
  try {
    open(db_path, true);
  } catch (const SetupError& e) {
    throw SetupError(e.what(), kExitUsage);
  }
}

int64_t add_run(const std::string& db_path, const std::string& result_json) {
  nlohmann::json d = nlohmann::json::parse(result_json);
  auto db = open(db_path, true);
  Stmt st(*db,
          "INSERT INTO runs (started_at, ended_at, title, url, executor, load_model, requests, "
          "failed, error_rate, rps, p50_us, p95_us, p99_us, max_us, thresholds_passed, "
          "result_json) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
  auto text = [&](int i, const std::string& v) {
    sqlite3_bind_text(st.s, i, v.c_str(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  };
  const nlohmann::json& m = d.at("metadata");
  const nlohmann::json& s = d.at("summary");
  const nlohmann::json& l = d.at("latency_us");
  text(1, m.value("started_at", ""));
  text(2, m.value("ended_at", ""));
  text(3, m.value("title", ""));
  text(4, m.value("/target/url"_json_pointer, std::string()));
  text(5, m.value("/load/executor"_json_pointer, std::string()));
  text(6, m.value("/load/load_model"_json_pointer, std::string()));
  sqlite3_bind_int64(st.s, 7, s.value("total_requests", int64_t{0}));
  sqlite3_bind_int64(st.s, 8, s.value("failed", int64_t{0}));
  sqlite3_bind_double(st.s, 9, s.value("error_rate", 0.0));
  sqlite3_bind_double(st.s, 10, s.value("requests_per_sec", 0.0));
  sqlite3_bind_int64(st.s, 11, l.value("p50", int64_t{0}));
  sqlite3_bind_int64(st.s, 12, l.value("p95", int64_t{0}));
  sqlite3_bind_int64(st.s, 13, l.value("p99", int64_t{0}));
  sqlite3_bind_int64(st.s, 14, l.value("max", int64_t{0}));
  if (d.contains("thresholds")) {
    sqlite3_bind_int(st.s, 15, d["thresholds"].value("passed", true) ? 1 : 0);
  } else {
    sqlite3_bind_null(st.s, 15);
  }
  text(16, result_json);
  if (sqlite3_step(st.s) != SQLITE_DONE) db->fail("could not add the run");
  return sqlite3_last_insert_rowid(db->db);
}

std::vector<RunRow> list_runs(const std::string& db_path, size_t limit, const std::string& match) {
  struct stat sb {};
  if (::stat(db_path.c_str(), &sb) != 0) {
    throw SetupError(
        fmt::format("'{}' does not exist; runs go there with run --db-url {}", db_path, db_path),
        kExitUsage);
  }
  auto db = open(db_path, false);
  Stmt st(*db,
          "SELECT id, started_at, title, url, executor, load_model, requests, failed, "
          "error_rate, rps, p50_us, p95_us, p99_us, max_us, thresholds_passed FROM runs "
          "WHERE (?1 = '' OR instr(url, ?1) > 0 OR instr(title, ?1) > 0) "
          "ORDER BY id DESC LIMIT ?2");
  sqlite3_bind_text(st.s, 1, match.c_str(), static_cast<int>(match.size()), SQLITE_TRANSIENT);
  sqlite3_bind_int64(st.s, 2, limit == 0 ? -1 : static_cast<int64_t>(limit));
  std::vector<RunRow> rows;
  int rc = SQLITE_DONE;
  while ((rc = sqlite3_step(st.s)) == SQLITE_ROW) {
    RunRow r;
    r.id = sqlite3_column_int64(st.s, 0);
    r.started_at = st.text(1);
    r.title = st.text(2);
    r.url = st.text(3);
    r.executor = st.text(4);
    r.load_model = st.text(5);
    r.requests = static_cast<uint64_t>(sqlite3_column_int64(st.s, 6));
    r.failed = static_cast<uint64_t>(sqlite3_column_int64(st.s, 7));
    r.error_rate = sqlite3_column_double(st.s, 8);
    r.rps = sqlite3_column_double(st.s, 9);
    r.p50_us = sqlite3_column_int64(st.s, 10);
    r.p95_us = sqlite3_column_int64(st.s, 11);
    r.p99_us = sqlite3_column_int64(st.s, 12);
    r.max_us = sqlite3_column_int64(st.s, 13);
    r.thresholds = sqlite3_column_type(st.s, 14) == SQLITE_NULL ? -1 : sqlite3_column_int(st.s, 14);
    rows.push_back(std::move(r));
  }
  if (rc != SQLITE_DONE) {
    not_history(db_path, std::string("damaged: ") + sqlite3_errmsg(db->db));
  }
  std::reverse(rows.begin(), rows.end());
  return rows;
}

std::string run_json(const std::string& db_path, int64_t id) {
  auto db = open(db_path, false);
  Stmt st(*db, "SELECT result_json FROM runs WHERE id = ?");
  sqlite3_bind_int64(st.s, 1, id);
  int rc = sqlite3_step(st.s);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
    not_history(db_path, std::string("damaged: ") + sqlite3_errmsg(db->db));
  }
  if (rc != SQLITE_ROW) {
    throw SetupError(fmt::format("{}#{}: no run with that id; loadspiker history {} lists them",
                                 db_path, id, db_path),
                     kExitError);
  }
  return st.text(0);
}

bool parse_ref(const std::string& ref, std::string* db_path, int64_t* id) {
  size_t hash = ref.rfind('#');
  if (hash == std::string::npos || hash + 1 >= ref.size()) return false;
  std::string digits = ref.substr(hash + 1);
  if (digits.find_first_not_of("0123456789") != std::string::npos || digits.size() > 18) {
    return false;
  }
  struct stat sb {};
  if (::stat(ref.substr(0, hash).c_str(), &sb) != 0) return false;
  *db_path = ref.substr(0, hash);
  *id = std::stoll(digits);
  return true;
}

}  // namespace spiker::history
