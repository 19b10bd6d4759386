// The during-run view: on a terminal, a block redrawn several times a second (progress,
// current and average RPS with a sparkline, last-second percentiles, status codes, errors);
// elsewhere (CI logs), one plain line every few seconds.
#pragma once

#include <cstdio>
#include <string>

#include "metrics/snapshot.h"

namespace spiker::live {

enum class LiveMode { kOff, kTerminal, kPlain };

class LiveView {
 public:
  // `title` is shown on top (target URL and load shape). Draws to `out`.
  LiveView(LiveMode mode, std::string title, std::FILE* out);
  // Called on every controller tick and once at the end.
  void update(const metrics::LiveState& state);
  // Erases nothing; ends the terminal block so the summary prints below it.
  void finish();

 private:
  void draw_terminal(const metrics::LiveState& state);
  void draw_plain(const metrics::LiveState& state);

  LiveMode mode_;
  std::string title_;
  std::FILE* out_;
  int drawn_lines_ = 0;
  double next_plain_s_ = 5;
};

// Picks the mode: off when quiet or JSON goes to stdout, terminal when `out` is a TTY and the
// TUI is not disabled, plain otherwise.
LiveMode choose_live_mode(bool quiet, bool no_tui, std::FILE* out);

// Helpers shared with the end-of-run summary.
std::string format_us(double us);        // "850us", "12.3ms", "1.20s"
std::string format_count(uint64_t n);    // "1,234,567"
std::string format_bytes(double bytes);  // "12.3 MiB"
std::string sparkline(const metrics::LiveState& state, size_t width);

}  // namespace spiker::live
