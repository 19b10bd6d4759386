#include "report/summary.h"

#include <fmt/format.h>

#include "live/live_view.h"

namespace spiker::report {

using live::format_bytes;
using live::format_count;
using live::format_us;

std::string format_summary(const RunReport& r, bool color) {
  const metrics::Shard& t = *r.totals;
  const metrics::Histogram& h = t.latency_us;
  auto bold = [&](const std::string& s) { return color ? "\x1b[1m" + s + "\x1b[0m" : s; };
  std::string out;
  out += bold(fmt::format("Summary  {} {}", r.info.method, r.info.url)) +
         fmt::format("  ({:.2f}s, {} connections, {} threads{}){}\n", r.elapsed_s,
                     r.info.concurrency, r.info.threads,
                     r.info.pipeline > 1 ? fmt::format(", pipeline {}", r.info.pipeline) : "",
                     r.interrupted ? "  [interrupted]" : "");
  out += fmt::format("  Requests      {} total  {:.1f}/s  successful {}  failed {} ({:.2f}%)\n",
                     format_count(t.requests), r.rps(), format_count(t.requests - t.failed),
                     format_count(t.failed), r.error_rate() * 100);
  const char* names[] = {"min", "mean", "stddev", "p50",   "p75",
                         "p90", "p95",  "p99",    "p99.9", "max"};
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
  std::string head = "  Latency     ", row = "  (service)   ";
  for (size_t i = 0; i < std::size(names); ++i) {
    head += fmt::format(" {:>9}", names[i]);
    row += fmt::format(" {:>9}", h.total_count() ? format_us(values[i]) : "-");
  }
  out += head + "\n" + row + "\n";
  out += "  Status codes ";
  bool any = false;
  for (int code = 0; code < metrics::kMaxStatus; ++code) {
    if (t.status[code] == 0) continue;
    out += fmt::format(" {}: {}", code == 0 ? std::string("other") : std::to_string(code),
                       format_count(t.status[code]));
    any = true;
  }
  out += any ? "\n" : " none\n";
  if (t.error_count() == 0) {
    out += "  Errors        none\n";
  } else {
    out += "  Errors\n";
    for (size_t k = 0; k < metrics::kErrorKindCount; ++k) {
      if (t.errors[k] == 0) continue;
      out += fmt::format("    {:<8} {:>10}  {}\n", metrics::kErrorKindNames[k],
                         format_count(t.errors[k]), metrics::kErrorKindHints[k]);
    }
  }
  double secs = r.elapsed_s > 0 ? r.elapsed_s : 1;
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
    out += fmt::format("  TLS handshake p50 {} p99 {}",
                       format_us(static_cast<double>(t.tls_handshake_us.value_at_percentile(50))),
                       format_us(static_cast<double>(t.tls_handshake_us.value_at_percentile(99))));
  }
  out += "\n";
  return out;
}

}  // namespace spiker::report
