// What the controller hands to views and reports: per-second timeline rows and the live state.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "metrics/shard.h"

namespace spiker::metrics {

// One second of the run.
struct TimelinePoint {
  int64_t elapsed_secs = 0;  // this row covers [elapsed_secs, elapsed_secs + 1) since start
  uint64_t requests = 0;
  uint64_t errors = 0;      // failed requests (transport errors and status >= 400)
  uint64_t iterations = 0;  // journeys: iterations that ended this second
  uint64_t bytes_received = 0;
  int64_t p50_us = 0, p95_us = 0, p99_us = 0;
  // From the intended start (0 unless requests had intended start times), and queue time.
  int64_t corrected_p50_us = 0, corrected_p95_us = 0, corrected_p99_us = 0;
  uint64_t vus = 0;  // the most VUs running during this second
  uint64_t dropped_iterations = 0;
  std::string latency_hist;  // this second's latency histogram (V2 compressed, base64)
  std::string corrected_hist, queue_hist;  // the same for corrected latency and queue time
};

// The row for second `second` of what `s` measured in it.
TimelinePoint timeline_point(const Shard& s, int64_t second);

// What a live view sees on each tick.
struct LiveState {
  double elapsed_s = 0;
  double duration_s = 0;  // 0 when the run is bounded by count only
  uint64_t max_requests = 0;
  const Shard* totals = nullptr;
  const Shard* window = nullptr;  // the last full second
  double window_rps = 0;
  const std::vector<TimelinePoint>* timeline = nullptr;
  bool stopping = false;     // no new requests: the time is up, a signal or a threshold
  bool interrupted = false;  // the stop came from Ctrl-C (a second one aborts)
  bool finished = false;     // the run is over: the last update
  bool warming_up = false;
  uint64_t in_flight = 0;
  uint64_t vus = 0;      // running now
  uint64_t vus_max = 0;  // the most this instance may run (closed: the VU target's peak)
};

}  // namespace spiker::metrics
