#include "report/summary.h"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "live/live_view.h"
#include "metrics/stat_block.h"
#include "report/json_parts.h"
#include "report/numbers.h"

namespace spiker::report {

using live::format_bytes;
using live::format_count;
using live::format_us;

namespace {

// Service time always; corrected latency (from the intended start) under it when recorded.
std::string latency_table(const metrics::Histogram& service, const metrics::Histogram& corrected,
                          bool with_corrected) {
  const char* names[] = {"min", "mean", "stddev", "p50",   "p75",
                         "p90", "p95",  "p99",    "p99.9", "max"};
  auto row = [](const char* label, const metrics::Histogram& h) {
    double values[] = {static_cast<double>(h.min()),
                       h.mean(),
                       h.stddev(),
                       static_cast<double>(h.value_at_percentile(50)),
                       static_cast<double>(h.value_at_percentile(75)),
                       static_cast<double>(h.value_at_percentile(90)),
                       static_cast<double>(h.value_at_percentile(95)),
                       static_cast<double>(h.value_at_percentile(99)),
                       static_cast<double>(h.value_at_percentile(99.9)),
                       static_cast<double>(h.max())};
    std::string out = label;
    for (double v : values) out += fmt::format(" {:>9}", h.total_count() ? format_us(v) : "-");
    return out + "\n";
  };
  std::string head = "  Latency     ";
  for (const char* n : names) head += fmt::format(" {:>9}", n);
  std::string out = head + "\n" + row("  (service)   ", service);
  if (with_corrected) out += row("  (corrected) ", corrected);
  return out;
}

// A closed, unpaced run whose worst request is far above its p99 while its throughput dipped
// for a second: the server stalled, and service time (measured from the send) hides it.
std::string stall_hint(const RunReport& r) {
  if (r.info.has_intended_times || r.info.open_model || r.timeline == nullptr) return "";
  const metrics::Histogram& h = r.totals->latency_us;
  if (h.total_count() < 100) return "";
  int64_t p99 = std::max<int64_t>(h.value_at_percentile(99), 1), worst = h.max();
  if (worst < 10 * p99 || worst < 50'000) return "";
  std::vector<uint64_t> full;  // requests of each whole second
  for (const metrics::TimelinePoint& p : *r.timeline) {
    if (static_cast<double>(p.elapsed_secs) + 1 <= r.elapsed_s + 1e-3) full.push_back(p.requests);
  }
  if (full.size() < 3) return "";
  std::vector<uint64_t> sorted = full;
  std::nth_element(sorted.begin(), sorted.begin() + sorted.size() / 2, sorted.end());
  uint64_t median = sorted[sorted.size() / 2];
  size_t dip = std::min_element(full.begin(), full.end()) - full.begin();
  if (median == 0 || full[dip] * 2 > median) return "";
  return fmt::format(
      "  Stall         max {} is {:.0f}x p99 and second {} saw {} requests (median {}): the\n"
      "                target stalled. In a closed model the VUs wait, so service time hides a\n"
      "                stall; measure the latency users saw with --rate N (paced, wrk2) or\n"
      "                --arrival-rate N (open), which record corrected latency.\n",
      format_us(static_cast<double>(worst)), static_cast<double>(worst) / static_cast<double>(p99),
      dip, format_count(full[dip]), format_count(median));
}

}  // namespace

std::string format_summary(const RunReport& r, bool color) {
  const metrics::Shard& t = *r.totals;
  auto bold = [&](const std::string& s) { return color ? "\x1b[1m" + s + "\x1b[0m" : s; };
  std::string out;
  std::string title =
      !r.info.title.empty()
          ? r.info.title
          : fmt::format("{} {}", r.info.websocket ? "WebSocket" : r.info.method, r.info.url);
  out += bold("Summary  " + title) +
         fmt::format("  ({:.2f}s, {}, {}{}, {}{}){}\n", r.measured_s, r.info.executor,
                     r.info.open_model ? "max " : "", plural(r.info.max_vus, "VU"),
                     plural(static_cast<uint64_t>(r.info.threads), "thread"),
                     r.info.pipeline > 1 ? fmt::format(", pipeline {}", r.info.pipeline) : "",
                     r.interrupted ? "  [interrupted]" : "");
  out += fmt::format("  Requests      {} total  {}/s  successful {}  failed {} ({})\n",
                     format_count(t.requests), format_number(r.rps(), 1),
                     format_count(t.requests - t.failed), format_count(t.failed),
                     format_percent(r.error_rate()));
  out += latency_table(t.latency_us, t.corrected_us, r.info.has_intended_times);
  out += stall_hint(r);
  if (r.info.has_intended_times) {
    const metrics::Histogram& q = t.queue_us;
    out +=
        fmt::format("  Queue time    mean {}  p99 {}  max {}  (intended start to sent)\n",
                    format_us(q.mean()), format_us(static_cast<double>(q.value_at_percentile(99))),
                    format_us(static_cast<double>(q.max())));
  }
  if (r.info.open_model) {
    double window = r.info.duration_secs > 0 ? r.info.duration_secs : r.measured_s;
    uint64_t started = r.info.journeys ? t.iterations : t.requests;
    out += fmt::format(
        "  Arrivals      due {}  started {}  dropped {}  (achieved {:.1f}/s of {:.1f}/s)\n",
        format_count(r.info.target_iterations), format_count(started),
        format_count(t.dropped_iterations), static_cast<double>(started) / window,
        static_cast<double>(r.info.target_iterations) / window);
  }
  if (r.info.journeys) {
    out += fmt::format(
        "  Iterations    {}  failed {}  steps skipped {}  checks {} passed {} failed{}{}\n",
        format_count(t.iterations), format_count(t.iterations_failed),
        format_count(t.steps_skipped), format_count(t.checks_passed), format_count(t.checks_failed),
        t.extract_failures > 0
            ? fmt::format("  extraction failures {}", format_count(t.extract_failures))
            : "",
        t.data_exhausted > 0 ? "  (data ran out)" : "");
    for (size_t i = 0; i < r.info.scenarios.size(); ++i) {
      const ScenarioInfo& st = r.info.scenarios[i];
      out +=
          fmt::format("    {:<28} {:>6} {:<28} {:>18}  {} failed\n", st.name, st.method,
                      st.url.size() > 28 ? st.url.substr(0, 27) + "…" : st.url,
                      plural(t.scenario_requests[i], "request"), format_count(t.step_failures[i]));
    }
    if (!r.info.check_names.empty()) {
      uint64_t passed = 0, total = 0;
      for (size_t i = 0; i < r.info.check_names.size(); ++i) {
        passed += t.check_passed[i];
        total += t.check_total[i];
      }
      out += fmt::format(
          "  Checks        {:.2f}% passed ({} of {})\n",
          total > 0 ? 100.0 * static_cast<double>(passed) / static_cast<double>(total) : 100.0,
          format_count(passed), format_count(total));
      for (size_t i = 0; i < r.info.check_names.size(); ++i) {
        uint64_t p = t.check_passed[i], n = t.check_total[i];
        out += fmt::format("    {} {:<60} {:>7.2f}%  ({} of {})\n", p == n ? "✓" : "✗",
                           r.info.check_names[i],
                           n > 0 ? 100.0 * static_cast<double>(p) / static_cast<double>(n) : 100.0,
                           format_count(p), format_count(n));
      }
    }
  } else if (!r.info.scenarios.empty()) {
    out += "  Scenarios    ";
    for (size_t i = 0; i < r.info.scenarios.size(); ++i) {
      out += fmt::format(" {}: {}", r.info.scenarios[i].name, format_count(t.scenario_requests[i]));
    }
    out += "\n";
  }
  if (!r.thresholds.empty()) {
    out += fmt::format("  Thresholds    {}\n", r.thresholds_passed() ? "all passed" : "FAILED");
    for (const ThresholdOutcome& th : r.thresholds) {
      out += fmt::format("    {} {} {}  (actual {}){}\n", th.passed ? "✓" : "✗", th.metric,
                         th.condition, format_in_unit(th.actual, th.unit),
                         th.aborted_run ? "  aborted the run" : "");
    }
  }
  out += "  Status codes ";
  bool any = false;
  for (int code = 0; code < metrics::kMaxStatus; ++code) {
    if (t.status[code] == 0) continue;
    out += fmt::format(" {}: {}", metrics::status_label(code), format_count(t.status[code]));
    any = true;
  }
  out += any ? "\n" : " none\n";
  if (t.error_count() == 0 && t.failed > 0) {  // answered, but with an error: not "none"
    out += fmt::format(
        "  Errors        {} answered with an error (HTTP status >= 400, a server's refusal, a "
        "failed check); none in transport\n",
        format_count(t.failed));
  } else if (t.error_count() == 0) {
    out += "  Errors        none\n";
  } else {
    out += "  Errors\n";
    for (size_t k = 0; k < metrics::kErrorKindCount; ++k) {
      if (t.errors[k] == 0) continue;
      out += fmt::format("    {:<8} {:>10}  {}\n", metrics::kErrorKindNames[k],
                         format_count(t.errors[k]), metrics::kErrorKindHints[k]);
    }
  }
  double secs = r.measured_s > 0 ? r.measured_s : 1;
  out += fmt::format("  Throughput    received {} ({}/s)  sent {} ({}/s)\n",
                     format_bytes(static_cast<double>(t.bytes_received)),
                     format_bytes(static_cast<double>(t.bytes_received) / secs),
                     format_bytes(static_cast<double>(t.bytes_sent)),
                     format_bytes(static_cast<double>(t.bytes_sent) / secs));
  out += fmt::format("  Connections   opened {}", format_count(t.connections_opened));
  if (t.connect_us.total_count() > 0) {
    out += fmt::format("  connect p50 {} p99 {}",
                       format_us(static_cast<double>(t.connect_us.value_at_percentile(50))),
                       format_us(static_cast<double>(t.connect_us.value_at_percentile(99))));
  }
  if (t.tls_handshake_us.total_count() > 0) {
    out += fmt::format("  TLS handshake p50 {} p99 {} ({} resumed)",
                       format_us(static_cast<double>(t.tls_handshake_us.value_at_percentile(50))),
                       format_us(static_cast<double>(t.tls_handshake_us.value_at_percentile(99))),
                       format_count(t.tls_resumed));
  }
  out += "\n";
  out += stat_summary_lines(t, r.measured_s);
  return out;
}

}  // namespace spiker::report
