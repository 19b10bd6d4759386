#include "live/live_view.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>

#include "metrics/stat_block.h"

namespace spiker::live {

using metrics::kErrorKindCount;
using metrics::kErrorKindNames;
using metrics::LiveState;
using metrics::Shard;

LiveMode choose_live_mode(bool quiet, bool no_tui, std::FILE* out) {
  if (quiet) return LiveMode::kOff;
  if (!no_tui && isatty(fileno(out))) return LiveMode::kTerminal;
  return LiveMode::kPlain;
}

std::string format_us(double us) {
  if (us < 1000) return fmt::format("{:.0f}us", us);
  if (us < 1'000'000) return fmt::format("{:.2f}ms", us / 1000);
  return fmt::format("{:.2f}s", us / 1e6);
}

std::string format_count(uint64_t n) {
  std::string digits = std::to_string(n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string format_bytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (b >= 1024 && u < 4) b /= 1024, ++u;
  return u == 0 ? fmt::format("{:.0f} B", b) : fmt::format("{:.2f} {}", b, units[u]);
}

std::string sparkline(const LiveState& s, size_t width) {
  static const char* kBars[] = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
  const auto& tl = *s.timeline;
  size_t from = tl.size() > width ? tl.size() - width : 0;
  uint64_t peak = 1;
  for (size_t i = from; i < tl.size(); ++i) peak = std::max(peak, tl[i].requests);
  std::string out;
  for (size_t i = from; i < tl.size(); ++i) out += kBars[tl[i].requests * 7 / peak];
  return out;
}

namespace {

// After the progress bar: why no new requests start, and what a key does now.
std::string stop_note(const LiveState& s) {
  if (s.finished) return s.interrupted ? "  (interrupted; partial results)" : "  (done)";
  if (!s.stopping) return "";
  if (s.interrupted) {
    return fmt::format("  (interrupted: {} in flight; Ctrl-C again to abort)", s.in_flight);
  }
  return fmt::format("  (finishing: {} in flight)", s.in_flight);
}

std::string status_line(const Shard& t) {
  std::string out;
  for (int code = 0; code < metrics::kMaxStatus; ++code) {
    if (t.status[code] == 0) continue;
    out += fmt::format("  {}: {}", metrics::status_label(code), format_count(t.status[code]));
  }
  return out.empty() ? "  -" : out;
}

std::string error_line(const Shard& t) {
  std::string out;
  for (size_t k = 0; k < kErrorKindCount; ++k) {
    if (t.errors[k] != 0)
      out += fmt::format("  {}: {}", kErrorKindNames[k], format_count(t.errors[k]));
  }
  return out.empty() ? "  none" : out;
}

}  // namespace

LiveView::LiveView(LiveMode mode, std::string title, std::FILE* out)
    : mode_(mode), title_(std::move(title)), out_(out) {}

void LiveView::update(const LiveState& state) {
  if (mode_ == LiveMode::kTerminal) draw_terminal(state);
  if (mode_ == LiveMode::kPlain) draw_plain(state);
}

void LiveView::draw_terminal(const LiveState& s) {
  const Shard& t = *s.totals;
  double progress = 0;
  std::string remaining;
  if (s.duration_s > 0) {
    progress = std::min(1.0, s.elapsed_s / s.duration_s);
    remaining = fmt::format("remaining {:.1f}s", std::max(0.0, s.duration_s - s.elapsed_s));
  } else if (s.max_requests > 0) {
    progress = std::min(1.0, static_cast<double>(t.requests) / static_cast<double>(s.max_requests));
    remaining =
        fmt::format("{} of {} requests", format_count(t.requests), format_count(s.max_requests));
  }
  constexpr int kBarWidth = 40;
  int filled = static_cast<int>(progress * kBarWidth);
  std::string bar;
  for (int i = 0; i < kBarWidth; ++i) bar += i < filled ? "█" : "░";
  double avg = s.elapsed_s > 0 ? static_cast<double>(t.requests) / s.elapsed_s : 0;
  const Shard& w = *s.window;
  std::string lines[] = {
      fmt::format("\x1b[1m{}\x1b[0m", title_),
      fmt::format(" {} {:3.0f}%  elapsed {:.1f}s  {}{}", bar, progress * 100, s.elapsed_s,
                  remaining, stop_note(s)),
      fmt::format(" RPS  now {:>10}  avg {:>10}  {}",
                  format_count(static_cast<uint64_t>(s.window_rps)),
                  format_count(static_cast<uint64_t>(avg)), sparkline(s, 40)),
      fmt::format(
          " latency (last 1s)  p50 {:>9}  p95 {:>9}  p99 {:>9}{}",
          format_us(static_cast<double>(w.latency_us.value_at_percentile(50))),
          format_us(static_cast<double>(w.latency_us.value_at_percentile(95))),
          format_us(static_cast<double>(w.latency_us.value_at_percentile(99))),
          w.corrected_us.total_count() > 0
              ? fmt::format("   corrected p99 {:>9}",
                            format_us(static_cast<double>(w.corrected_us.value_at_percentile(99))))
              : ""),
      fmt::format(" requests {}   VUs {}   received {}{}{}", format_count(t.requests),
                  format_count(s.vus), format_bytes(static_cast<double>(t.bytes_received)),
                  t.dropped_iterations > 0
                      ? fmt::format("   dropped {}", format_count(t.dropped_iterations))
                      : "",
                  s.warming_up ? "   (warming up: not counted)" : ""),
      fmt::format(" status {}", status_line(t)),
      fmt::format(" errors {}", error_line(t)),
  };
  std::string frame;
  if (drawn_lines_ > 0) frame += fmt::format("\x1b[{}A", drawn_lines_);
  for (const std::string& l : lines) frame += "\r\x1b[2K" + l + "\n";
  drawn_lines_ = static_cast<int>(std::size(lines));
  std::fputs(frame.c_str(), out_);
  std::fflush(out_);
}

void LiveView::draw_plain(const LiveState& s) {
  if (s.elapsed_s < next_plain_s_) return;
  next_plain_s_ = s.elapsed_s + 5;
  const Shard& t = *s.totals;
  std::fputs(
      fmt::format("[{:6.1f}s] requests={} rps={:.0f} p50={} p99={} errors={}{}\n", s.elapsed_s,
                  t.requests, s.window_rps,
                  format_us(static_cast<double>(s.window->latency_us.value_at_percentile(50))),
                  format_us(static_cast<double>(s.window->latency_us.value_at_percentile(99))),
                  t.failed, stop_note(s))
          .c_str(),
      out_);
  std::fflush(out_);
}

void LiveView::finish() {
  if (mode_ == LiveMode::kTerminal) std::fputs("\n", out_);
  std::fflush(out_);
}

}  // namespace spiker::live
