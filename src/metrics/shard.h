// What one worker measured during one interval; mergeable into totals. Owned by one thread at
// a time: workers fill theirs without locks, the controller merges published ones.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "metrics/error_kind.h"
#include "metrics/histogram.h"
#include "metrics/stat_block.h"

namespace spiker::metrics {

inline constexpr int kMaxStatus = 600;       // HTTP 100..599, named protocol statuses 1..99; else 0
inline constexpr size_t kMaxScenarios = 64;  // request variants (scenarios) counted apart

struct Shard {
  Shard();
  Histogram latency_us;         // service time: first byte of the request written to last byte read
  Histogram connect_us;         // TCP connect (SYN to established)
  Histogram tls_handshake_us;   // TLS handshake, after connect
  Histogram corrected_us;       // intended start to last byte read (open or paced models)
  Histogram queue_us;           // intended start to first byte written (open or paced models)
  uint64_t requests = 0;        // finished requests: responses + transport errors
  uint64_t responses = 0;       // complete HTTP responses (any status)
  uint64_t failed = 0;          // status >= 400 or transport error
  uint64_t bytes_sent = 0;      // wire bytes written (TLS records included)
  uint64_t bytes_received = 0;  // wire bytes read (TLS records included)
  uint64_t connections_opened = 0;
  uint64_t tls_resumed = 0;         // TLS handshakes that resumed a session
  uint64_t dropped_iterations = 0;  // arrivals that found no free VU under the cap
  uint64_t vus = 0;  // gauge: VUs running when the shard was published (not summed by merge)
  std::array<uint64_t, kErrorKindCount> errors{};
  std::array<uint64_t, kMaxStatus> status{};
  std::array<uint64_t, kMaxScenarios> scenario_requests{};  // finished, by variant or step
  // Journeys.
  uint64_t iterations = 0;         // journey iterations started
  uint64_t iterations_failed = 0;  // ... in which a step failed
  uint64_t steps_skipped = 0;      // steps not sent: a dependency failed
  uint64_t checks_passed = 0;
  uint64_t checks_failed = 0;
  uint64_t extract_failures = 0;   // an extractor found nothing (its step fails)
  uint64_t redirect_failures = 0;  // too many redirects, or one to a host not in the plan
  uint64_t data_exhausted = 0;     // iterations refused: a unique data table ran out
  std::array<uint64_t, kMaxScenarios> step_failures{};  // by step
  std::array<uint64_t, kMaxScenarios> step_failed{};    // failed requests, by variant or step
  // Latency by variant or step, made on first use (runs with one request have none).
  std::vector<Histogram> step_latency_us;
  Histogram& step_latency(size_t i) {
    if (step_latency_us.empty()) step_latency_us.resize(kMaxScenarios);
    return step_latency_us[i];
  }
  // The registered protocols' stat blocks (metrics/stat_block.h), by handle.
  std::vector<uint64_t> block_counters;
  std::vector<Histogram> block_histograms;
  void add(uint32_t counter, uint64_t n = 1) noexcept { block_counters[counter] += n; }
  Histogram& block_histogram(uint32_t h) noexcept { return block_histograms[h]; }
  std::array<uint64_t, kMaxScenarios> check_passed{};  // by check id
  std::array<uint64_t, kMaxScenarios> check_total{};

  // 100..599: HTTP's; 1..99: a protocol's named statuses (metrics::status_label); else "other".
  void record_status(int code) noexcept { ++status[code > 0 && code < kMaxStatus ? code : 0]; }
  void record_error(ErrorKind kind) noexcept {
    ++errors[static_cast<size_t>(kind)];
    ++requests;
    ++failed;
  }
  uint64_t error_count() const noexcept;
  void merge(const Shard& other);
  void reset() noexcept;
};

}  // namespace spiker::metrics
