#include "report/json_result.h"

#include <fmt/format.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cmath>
#include <ctime>
#include <thread>

#include "core/json.h"
#include "core/redact.h"
#include "metrics/histogram_codec.h"
#include "metrics/stat_block.h"
#include "report/json_parts.h"

namespace spiker::report {

using nlohmann::json;

json percentiles(const metrics::Histogram& h) {
  return {{"min", h.min()},
          {"max", h.max()},
          {"mean", std::round(h.mean() * 100) / 100},
          {"p50", h.value_at_percentile(50)},
          {"p75", h.value_at_percentile(75)},
          {"p90", h.value_at_percentile(90)},
          {"p95", h.value_at_percentile(95)},
          {"p99", h.value_at_percentile(99)},
          {"p999", h.value_at_percentile(99.9)}};
}

// percentiles() plus the spread and the count.
json latency(const metrics::Histogram& h) {
  json j = percentiles(h);
  j["stddev"] = std::round(h.stddev() * 100) / 100;
  j["p9999"] = h.value_at_percentile(99.99);
  j["count"] = h.total_count();
  return j;
}

namespace {

json env() {
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  utsname u{};
  uname(&u);
  return {{"hostname", host},
          {"os", "linux"},  // Rust's std::env::consts::OS, as Kaioken writes it
          {"kernel", fmt::format("{} {}", u.sysname, u.release)},
          {"cpus", std::thread::hardware_concurrency()}};
}

// A Kaioken integer field from our double (rates and seconds may be fractional here; the exact
// value goes in an extra field where it matters).
int64_t whole(double v) { return static_cast<int64_t>(std::llround(v)); }

}  // namespace

std::string rfc3339(int64_t unix_ms) {
  time_t secs = static_cast<time_t>(unix_ms / 1000);
  tm t{};
  gmtime_r(&secs, &t);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &t);
  return fmt::format("{}.{:03d}Z", buf, static_cast<int>(unix_ms % 1000));
}

std::string to_json(const RunReport& r) {
  const metrics::Shard& t = *r.totals;
  json headers = json::array();
  for (const auto& [name, value] : r.info.headers) {
    headers.push_back(fmt::format("{}: {}", name, is_secret_header(name) ? kRedacted : value));
  }
  json doc;
  doc["metadata"] = {
      {"tool", "loadspiker"},
      {"title", r.info.title},
      {"version", kVersion},
      {"started_at", rfc3339(r.started_unix_ms)},
      {"ended_at", rfc3339(r.ended_unix_ms)},
      {"duration_secs", static_cast<int64_t>(std::llround(r.measured_s))},
      {"target", {{"url", r.info.url}, {"method", r.info.method}, {"headers", headers}}},
      {"load",
       {{"concurrency", r.info.concurrency},
        {"rate", whole(r.info.rate)},  // Kaioken's integer fields (its compare reads them so)
        {"ramp_up_secs", whole(r.info.ramp_up_secs)},
        {"warmup_secs", whole(r.info.warmup_secs)},
        {"timeout_ms", r.info.timeout_ms},
        {"load_model", r.info.open_model ? "open" : "closed"},
        {"executor", r.info.executor},
        {"threads", r.info.threads},
        {"pipeline", r.info.pipeline},
        {"protocol", r.info.protocol},
        {"max_streams", r.info.max_streams},
        {"connect_timeout_ms", r.info.connect_timeout_ms},
        {"max_requests", r.info.max_requests}}},
      {"env", env()},
      {"interrupted", r.interrupted},
  };
  doc["summary"] = {{"total_requests", t.requests},
                    {"successful", t.requests - t.failed},
                    {"failed", t.failed},
                    {"error_rate", r.error_rate()},
                    {"requests_per_sec", std::round(r.rps() * 100) / 100},
                    {"bytes_received", t.bytes_received},
                    {"bytes_sent", t.bytes_sent},
                    {"elapsed_secs", r.elapsed_s}};
  json& load = doc["metadata"]["load"];
  if (r.info.open_model) {
    if (r.info.arrival_rate > 0) {
      load["arrival_rate"] = whole(r.info.arrival_rate);
      if (r.info.arrival_rate != std::floor(r.info.arrival_rate)) {
        load["arrival_rate_exact"] = r.info.arrival_rate;
      }
    }
    load["max_vus"] = r.info.max_vus;
    double window = r.info.duration_secs > 0 ? r.info.duration_secs : r.measured_s;
    uint64_t started = r.info.journeys ? t.iterations : t.requests;  // an iteration: a request
    double target = window > 0 ? static_cast<double>(r.info.target_iterations) / window : 0;
    // Kaioken's achieved_rps: the rate of the last whole second (a 1 s rolling window).
    double last_second = 0;
    for (const metrics::TimelinePoint& p : *r.timeline) {
      if (static_cast<double>(p.elapsed_secs) + 1 <= r.elapsed_s + 1e-3) {
        last_second = static_cast<double>(r.info.journeys ? p.iterations : p.requests);
      }
    }
    doc["summary"]["arrival_rate"] = {
        {"target_rps", whole(target)},
        {"target_rps_exact", std::round(target * 100) / 100},
        {"achieved_rps", last_second},
        {"achieved_rps_window_secs", 1},
        {"achieved_rps_overall", window > 0 ? static_cast<double>(started) / window : 0},
        {"overall_window_secs", window},
        {"max_vus", r.info.max_vus},
        {"dropped_iterations", t.dropped_iterations},
        {"target_iterations", r.info.target_iterations},
        {"started_iterations", started}};
    doc["summary"]["dropped_iterations"] = t.dropped_iterations;
  } else {
    load["vus"] = r.info.max_vus;
  }
  if (!r.info.stages.empty()) load["stages"] = r.info.stages;
  if (!r.info.think_time.empty()) load["think_time"] = r.info.think_time;
  if (!r.info.segment.empty()) load["segment"] = r.info.segment;
  if (r.info.duration_secs > 0) load["duration_secs"] = r.info.duration_secs;
  json steps;  // journeys: the per-step entries
  if (!r.info.scenarios.empty()) {
    json scenarios = json::array();
    for (size_t i = 0; i < r.info.scenarios.size(); ++i) {
      const ScenarioInfo& sc = r.info.scenarios[i];
      json item = {{"name", sc.name},
                   {"url", sc.url},
                   {"method", sc.method},
                   {"weight", sc.weight},
                   {"protocol", sc.protocol.empty() ? r.info.protocol : sc.protocol},
                   {"requests", t.scenario_requests[i]}};
      if (r.info.journeys) {
        item["scenario"] = sc.scenario;
        item["failed_steps"] = t.step_failures[i];
      }
      item["failed"] = t.step_failed[i];
      if (i < t.step_latency_us.size() && t.step_latency_us[i].total_count() > 0) {
        item["latency_us"] = latency(t.step_latency_us[i]);
        item["latency_hist"] =
            metrics::base64_encode(metrics::encode_v2_compressed(t.step_latency_us[i]));
      }
      if (!sc.tags.empty()) {
        json tags = json::object();
        for (const auto& [k, v] : sc.tags) tags[k] = v;
        item["tags"] = tags;
      }
      scenarios.push_back(item);
    }
    if (r.info.journeys) {
      // Kaioken's scenarios[]: one entry per scenario (its first step's URL and method, tags
      // as a map); the steps are in our own journeys.steps, filled below.
      steps = std::move(scenarios);
      scenarios = json::array();
      for (size_t i = 0; i < r.info.scenarios.size(); ++i) {
        const ScenarioInfo& st = r.info.scenarios[i];
        json* entry = nullptr;
        for (json& e : scenarios) {
          if (e["name"] == st.scenario) entry = &e;
        }
        if (entry == nullptr) {
          scenarios.push_back({{"name", st.scenario},
                               {"url", st.url},
                               {"method", st.method},
                               {"weight", st.weight},
                               {"steps", 0},
                               {"requests", 0},
                               {"failed", 0}});
          entry = &scenarios.back();
        }
        json& e = *entry;
        e["steps"] = e["steps"].get<uint64_t>() + 1;
        e["requests"] = e["requests"].get<uint64_t>() + t.scenario_requests[i];
        e["failed"] = e["failed"].get<uint64_t>() + t.step_failed[i];
        for (const auto& [k, v] : st.tags) e["tags"][k] = v;
      }
    }
    doc["scenarios"] = scenarios;
  }
  if (!r.info.scenario_loads.empty()) {
    json loads = json::array();
    for (const auto& l : r.info.scenario_loads) {
      loads.push_back({{"scenario", l.scenario}, {"executor", l.executor}, {"shape", l.shape}});
    }
    load["scenario_executors"] = loads;
  }
  if (!r.thresholds.empty()) {
    json results = json::array();
    for (const ThresholdOutcome& t : r.thresholds) {
      json item = {{"metric", t.metric},
                   {"condition", t.condition},
                   {"actual", t.actual},
                   {"unit", t.unit},
                   {"passed", t.passed}};
      if (t.aborted_run) item["aborted_run"] = true;
      results.push_back(item);
    }
    doc["thresholds"] = {{"passed", r.thresholds_passed()}, {"results", results}};
  }
  if (!r.info.check_names.empty()) {
    json results = json::object();
    uint64_t passed = 0, total = 0;
    for (size_t i = 0; i < r.info.check_names.size(); ++i) {
      uint64_t p = t.check_passed[i], n = t.check_total[i];
      passed += p;
      total += n;
      results[r.info.check_names[i]] = {
          {"passed", p},
          {"total", n},
          {"pass_rate", n > 0 ? static_cast<double>(p) / static_cast<double>(n) : 1.0}};
    }
    doc["checks"] = {{"overall_pass_rate",
                      total > 0 ? static_cast<double>(passed) / static_cast<double>(total) : 1.0},
                     {"results", results}};
  }
  if (r.info.journeys) {
    doc["journeys"] = {{"iterations", t.iterations},
                       {"iterations_failed", t.iterations_failed},
                       {"steps_skipped", t.steps_skipped},
                       {"checks_passed", t.checks_passed},
                       {"checks_failed", t.checks_failed},
                       {"extract_failures", t.extract_failures},
                       {"redirect_failures", t.redirect_failures},
                       {"data_exhausted", t.data_exhausted}};
    if (!steps.is_null()) doc["journeys"]["steps"] = steps;
  }
  if (r.info.has_intended_times) {
    // Corrected latency counts from when each request was due (intended start); service time
    // (latency_us) from when it was sent. Queue time is the difference.
    doc["corrected_latency_us"] = percentiles(t.corrected_us);
    const metrics::Histogram& q = t.queue_us;
    doc["queue_time_us"] = {
        {"mean", std::round(q.mean() * 100) / 100},
        {"p99", q.value_at_percentile(99)},
        {"total",
         static_cast<int64_t>(std::llround(q.mean() * static_cast<double>(q.total_count())))},
        {"count", q.total_count()},
        {"max", q.max()}};
  }
  doc["latency_us"] = latency(t.latency_us);
  json status = json::object();
  for (int code = 0; code < metrics::kMaxStatus; ++code) {
    if (t.status[code] != 0) status[metrics::status_label(code)] = t.status[code];
  }
  doc["status_codes"] = status;
  json errors = json::object();
  for (size_t k = 0; k < metrics::kErrorKindCount; ++k) {
    if (t.errors[k] != 0) errors[std::string(metrics::kErrorKindNames[k])] = t.errors[k];
  }
  doc["errors"] = errors;
  json timeline = json::array();
  for (const metrics::TimelinePoint& p : *r.timeline) {
    timeline.push_back({{"elapsed_secs", p.elapsed_secs},
                        {"requests", p.requests},
                        {"errors", p.errors},
                        {"bytes_received", p.bytes_received},
                        {"p50_us", p.p50_us},
                        {"p95_us", p.p95_us},
                        {"p99_us", p.p99_us},
                        {"vus", p.vus}});
    json& row = timeline.back();
    if (r.info.journeys) row["iterations"] = p.iterations;
    if (r.info.has_intended_times) {
      row["corrected_p50_us"] = p.corrected_p50_us;
      row["corrected_p95_us"] = p.corrected_p95_us;
      row["corrected_p99_us"] = p.corrected_p99_us;
    }
    if (r.info.open_model) row["dropped_iterations"] = p.dropped_iterations;
    if (!p.latency_hist.empty()) row["latency_hist"] = p.latency_hist;
    if (!p.corrected_hist.empty()) row["corrected_hist"] = p.corrected_hist;
    if (!p.queue_hist.empty()) row["queue_hist"] = p.queue_hist;
    // The run's last second may be cut short: say how long it was, so that charts and rates
    // do not read it as a drop.
    double length = r.elapsed_s - static_cast<double>(p.elapsed_secs);
    if (length < 0.999) row["partial_secs"] = std::round(std::max(length, 0.0) * 1000) / 1000;
  }
  doc["timeline"] = timeline;
  doc["connections"] = {{"opened", t.connections_opened},
                        {"connect_time_us", latency(t.connect_us)}};
  if (t.tls_handshake_us.total_count() > 0) {
    doc["connections"]["tls_handshake_us"] = latency(t.tls_handshake_us);
    doc["connections"]["tls_resumed"] = t.tls_resumed;
    doc["connections"]["tls_full"] = t.tls_handshake_us.total_count() - t.tls_resumed;
  }
  // The full latency histogram (HdrHistogram V2 compressed, base64), for lossless merging.
  doc["histograms"] = {
      {"latency_us", metrics::base64_encode(metrics::encode_v2_compressed(t.latency_us))}};
  if (r.info.has_intended_times) {
    doc["histograms"]["corrected_latency_us"] =
        metrics::base64_encode(metrics::encode_v2_compressed(t.corrected_us));
  }
  put_stat_sections(t, r.measured_s, r.info.block_facts, doc);
  return doc.dump(2) + "\n";
}

}  // namespace spiker::report
