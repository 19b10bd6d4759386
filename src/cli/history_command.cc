// `loadspiker history runs.db`: the runs a --db-url file holds, newest last, with the trend of
// p99, RPS and error rate (change from the run before, and a sparkline over the list).
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "core/error.h"
#include "core/json.h"
#include "history/history.h"
#include "live/live_view.h"
#include "report/numbers.h"

namespace spiker::cli {
namespace {

std::string spark(const std::vector<double>& v) {
  static const char* kBars[] = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
  if (v.empty()) return "";
  auto [lo, hi] = std::minmax_element(v.begin(), v.end());
  std::string out;
  for (double x : v) {
    int i = *hi > *lo ? static_cast<int>((x - *lo) / (*hi - *lo) * 7 + 0.5) : 3;
    out += kBars[std::clamp(i, 0, 7)];
  }
  return out;
}

std::string change(double now, double before) {
  if (before <= 0) return "";
  double pct = (now - before) / before * 100;
  if (std::abs(pct) < 0.05) return " (=)";
  return fmt::format(" ({}{}%)", pct > 0 ? "+" : "", report::format_number(pct, 1));
}

}  // namespace

std::function<int()> add_history_command(CLI::App& app) {
  struct Args {
    std::string db, match;
    size_t limit = 20;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand(
      "history", "List the runs a --db-url file holds, with the p99 / RPS / error-rate trend");
  cmd->add_option("db", args->db, "The SQLite file runs were added to (run --db-url FILE)")
      ->required();
  cmd->add_option("-n,--limit", args->limit, "Show the newest N runs (0: all)")
      ->capture_default_str();
  cmd->add_option("--match", args->match, "Only runs whose URL or title contains this");
  cmd->add_flag("--json", args->json, "Print the runs as JSON");
  return [args] {
    std::vector<history::RunRow> rows = history::list_runs(args->db, args->limit, args->match);
    if (args->json) {
      nlohmann::json out = nlohmann::json::array();
      for (const history::RunRow& r : rows) {
        out.push_back(
            {{"id", r.id},
             {"started_at", r.started_at},
             {"title", r.title},
             {"url", r.url},
             {"executor", r.executor},
             {"load_model", r.load_model},
             {"requests", r.requests},
             {"failed", r.failed},
             {"error_rate", r.error_rate},
             {"requests_per_sec", r.rps},
             {"p50_us", r.p50_us},
             {"p95_us", r.p95_us},
             {"p99_us", r.p99_us},
             {"max_us", r.max_us},
             {"thresholds_passed",
              r.thresholds < 0 ? nlohmann::json(nullptr) : nlohmann::json(r.thresholds == 1)}});
      }
      std::printf("%s\n", out.dump(2).c_str());
      return kExitOk;
    }
    if (rows.empty()) {
      std::printf("%s holds no run%s\n", args->db.c_str(),
                  args->match.empty() ? "" : " that matches");
      return kExitOk;
    }
    std::printf("%5s  %-24s %12s %13s %18s %18s %s  %s\n", "id", "started (UTC)", "requests",
                "error rate", "req/s", "p99", "thr", "run");
    std::vector<double> p99, rps, errors;
    for (size_t i = 0; i < rows.size(); ++i) {
      const history::RunRow& r = rows[i];
      const history::RunRow* before = i > 0 ? &rows[i - 1] : nullptr;
      std::string started = r.started_at.substr(0, 19);
      std::replace(started.begin(), started.end(), 'T', ' ');
      std::printf(
          "%5lld  %-24s %12s %13s %18s %18s %-3s  %s\n", static_cast<long long>(r.id),
          started.c_str(), live::format_count(r.requests).c_str(),
          report::format_percent(r.error_rate).c_str(),
          (report::format_number(r.rps, 1) + (before ? change(r.rps, before->rps) : "")).c_str(),
          (live::format_us(static_cast<double>(r.p99_us)) +
           (before ? change(static_cast<double>(r.p99_us), static_cast<double>(before->p99_us))
                   : ""))
              .c_str(),
          r.thresholds < 0 ? "-" : (r.thresholds == 1 ? "ok" : "FAIL"), r.title.c_str());
      p99.push_back(static_cast<double>(r.p99_us));
      rps.push_back(r.rps);
      errors.push_back(r.error_rate);
    }
    std::printf("\nTrend over these %zu runs (oldest to newest):\n", rows.size());
    std::printf("  p99         %s  %s -> %s\n", spark(p99).c_str(),
                live::format_us(p99.front()).c_str(), live::format_us(p99.back()).c_str());
    std::printf("  req/s       %s  %s -> %s\n", spark(rps).c_str(),
                report::format_number(rps.front(), 1).c_str(),
                report::format_number(rps.back(), 1).c_str());
    std::printf("  error rate  %s  %s -> %s\n", spark(errors).c_str(),
                report::format_percent(errors.front()).c_str(),
                report::format_percent(errors.back()).c_str());
    std::printf("\nCompare two: loadspiker compare %s#%lld %s#%lld\n", args->db.c_str(),
                static_cast<long long>(rows.size() > 1 ? rows[rows.size() - 2].id : rows[0].id),
                args->db.c_str(), static_cast<long long>(rows.back().id));
    return kExitOk;
  };
}

}  // namespace spiker::cli
