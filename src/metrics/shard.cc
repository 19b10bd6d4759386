#include "metrics/shard.h"

#include <algorithm>

#include "metrics/histogram_codec.h"
#include "metrics/snapshot.h"

namespace spiker::metrics {

Shard::Shard()
    : block_counters(StatBlocks::counter_count()),
      block_histograms(StatBlocks::histogram_count()) {}

uint64_t Shard::error_count() const noexcept {
  uint64_t n = 0;
  for (uint64_t e : errors) n += e;
  return n;
}

void Shard::merge(const Shard& o) {
  latency_us.merge(o.latency_us);
  connect_us.merge(o.connect_us);
  tls_handshake_us.merge(o.tls_handshake_us);
  corrected_us.merge(o.corrected_us);
  queue_us.merge(o.queue_us);
  dropped_iterations += o.dropped_iterations;
  requests += o.requests;
  responses += o.responses;
  failed += o.failed;
  bytes_sent += o.bytes_sent;
  bytes_received += o.bytes_received;
  connections_opened += o.connections_opened;
  tls_resumed += o.tls_resumed;
  for (size_t i = 0; i < errors.size(); ++i) errors[i] += o.errors[i];
  for (size_t i = 0; i < status.size(); ++i) status[i] += o.status[i];
  for (size_t i = 0; i < scenario_requests.size(); ++i) {
    scenario_requests[i] += o.scenario_requests[i];
    step_failures[i] += o.step_failures[i];
    check_passed[i] += o.check_passed[i];
    step_failed[i] += o.step_failed[i];
    check_total[i] += o.check_total[i];
  }
  if (!o.step_latency_us.empty()) {
    for (size_t i = 0; i < o.step_latency_us.size(); ++i) {
      if (o.step_latency_us[i].total_count() > 0) step_latency(i).merge(o.step_latency_us[i]);
    }
  }
  if (block_counters.size() < o.block_counters.size()) {
    block_counters.resize(o.block_counters.size());
  }
  for (size_t i = 0; i < o.block_counters.size(); ++i) block_counters[i] += o.block_counters[i];
  if (block_histograms.size() < o.block_histograms.size()) {
    block_histograms.resize(o.block_histograms.size());
  }
  for (size_t i = 0; i < o.block_histograms.size(); ++i) {
    if (o.block_histograms[i].total_count() > 0) block_histograms[i].merge(o.block_histograms[i]);
  }
  iterations += o.iterations;
  iterations_failed += o.iterations_failed;
  steps_skipped += o.steps_skipped;
  checks_passed += o.checks_passed;
  checks_failed += o.checks_failed;
  extract_failures += o.extract_failures;
  redirect_failures += o.redirect_failures;
  data_exhausted += o.data_exhausted;
}

void Shard::reset() noexcept {
  latency_us.reset();
  connect_us.reset();
  tls_handshake_us.reset();
  corrected_us.reset();
  queue_us.reset();
  dropped_iterations = vus = 0;
  requests = responses = failed = bytes_sent = bytes_received = connections_opened = tls_resumed =
      0;
  errors.fill(0);
  status.fill(0);
  scenario_requests.fill(0);
  step_failures.fill(0);
  check_passed.fill(0);
  step_failed.fill(0);
  for (Histogram& h : step_latency_us) {
    if (h.total_count() > 0) h.reset();
  }
  check_total.fill(0);
  std::fill(block_counters.begin(), block_counters.end(), 0);
  for (Histogram& h : block_histograms) {
    if (h.total_count() > 0) h.reset();
  }
  iterations = iterations_failed = steps_skipped = checks_passed = checks_failed =
      extract_failures = redirect_failures = data_exhausted = 0;
}

TimelinePoint timeline_point(const Shard& s, int64_t second) {
  TimelinePoint p;
  p.elapsed_secs = second;
  p.requests = s.requests;
  p.errors = s.failed;
  p.iterations = s.iterations;
  p.bytes_received = s.bytes_received;
  p.p50_us = s.latency_us.value_at_percentile(50);
  p.p95_us = s.latency_us.value_at_percentile(95);
  p.p99_us = s.latency_us.value_at_percentile(99);
  p.corrected_p50_us = s.corrected_us.value_at_percentile(50);
  p.corrected_p95_us = s.corrected_us.value_at_percentile(95);
  p.corrected_p99_us = s.corrected_us.value_at_percentile(99);
  p.vus = s.vus;
  p.dropped_iterations = s.dropped_iterations;
  if (s.latency_us.total_count() > 0) {
    p.latency_hist = base64_encode(encode_v2_compressed(s.latency_us));
  }
  if (s.corrected_us.total_count() > 0) {
    p.corrected_hist = base64_encode(encode_v2_compressed(s.corrected_us));
    p.queue_hist = base64_encode(encode_v2_compressed(s.queue_us));
  }
  return p;
}

}  // namespace spiker::metrics
