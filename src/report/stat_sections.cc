// The registered stat blocks (metrics/stat_block.h) in the JSON result, in merged results and
// in the summary: one section per protocol that recorded anything, named after its block, with
// its counters, its derived figures and its histograms. No protocol is named here.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "metrics/histogram_codec.h"
#include "metrics/stat_block.h"
#include "report/json_parts.h"
#include "live/live_view.h"
#include "metrics/shard.h"

namespace spiker::report {

using nlohmann::json;
using live::format_count;
using live::format_us;

namespace {

bool used(const metrics::Shard& t, const metrics::StatBlock& b) {
  for (size_t i = 0; i < b.def.counters.size(); ++i) {
    if (b.counter(i) < t.block_counters.size() && t.block_counters[b.counter(i)] > 0) return true;
  }
  for (size_t i = 0; i < b.def.histograms.size(); ++i) {
    if (b.histogram(i) < t.block_histograms.size() &&
        t.block_histograms[b.histogram(i)].total_count() > 0) {
      return true;
    }
  }
  return false;
}

void put_derived(const metrics::StatBlock& b, const uint64_t* counters, double measured_s,
                 json& section) {
  if (b.def.derive == nullptr) return;
  for (const auto& [k, v] : b.def.derive(counters, measured_s)) {
    section[k] = std::round(v * 10000) / 10000;
  }
}

std::string hist_key(const metrics::StatBlock& b, size_t i) {
  return b.def.name + "." + b.def.histograms[i] + "_us";
}

}  // namespace

void put_stat_sections(const metrics::Shard& t, double measured_s, json& doc) {
  for (const metrics::StatBlock& b : metrics::StatBlocks::all()) {
    if (!used(t, b)) continue;
    json section = json::object();
    for (size_t i = 0; i < b.def.counters.size(); ++i) {
      section[b.def.counters[i]] = t.block_counters[b.counter(i)];
    }
    put_derived(b, &t.block_counters[b.first_counter], measured_s, section);
    for (size_t i = 0; i < b.def.histograms.size(); ++i) {
      const metrics::Histogram& h = t.block_histograms[b.histogram(i)];
      section[b.def.histograms[i] + "_us"] = latency(h);
      doc["histograms"][hist_key(b, i)] =
          metrics::base64_encode(metrics::encode_v2_compressed(h));
    }
    doc[b.def.name] = section;
  }
}

void merge_stat_sections(const std::vector<json>& docs, double measured_s, json& out) {
  for (const metrics::StatBlock& b : metrics::StatBlocks::all()) {
    if (!out.contains(b.def.name)) continue;
    json section = out[b.def.name];
    std::vector<uint64_t> counters(b.def.counters.size());
    for (size_t i = 0; i < counters.size(); ++i) {
      for (const json& d : docs) {
        const json s = d.value(b.def.name, json::object());
        counters[i] += s.value(b.def.counters[i], uint64_t{0});
      }
      section[b.def.counters[i]] = counters[i];
    }
    put_derived(b, counters.data(), measured_s, section);
    for (size_t i = 0; i < b.def.histograms.size(); ++i) {
      metrics::Histogram h;
      for (const json& d : docs) {
        const json hs = d.value("histograms", json::object());
        if (!hs.contains(hist_key(b, i))) continue;
        h.merge(metrics::decode_v2(metrics::base64_decode(hs[hist_key(b, i)].get<std::string>())));
      }
      section[b.def.histograms[i] + "_us"] = latency(h);
      out["histograms"][hist_key(b, i)] = metrics::base64_encode(metrics::encode_v2_compressed(h));
    }
    out[b.def.name] = section;
  }
}

std::string stat_summary_lines(const metrics::Shard& t, double measured_s) {
  std::string out;
  for (const metrics::StatBlock& b : metrics::StatBlocks::all()) {
    if (!used(t, b)) continue;
    std::string line = fmt::format("  {:<13}", b.def.title.empty() ? b.def.name : b.def.title);
    for (size_t i = 0; i < b.def.counters.size(); ++i) {
      uint64_t n = t.block_counters[b.counter(i)];
      bool listed = b.def.summary.empty() ? n > 0
                                          : std::find(b.def.summary.begin(), b.def.summary.end(),
                                                      b.def.counters[i]) != b.def.summary.end();
      if (!listed) continue;
      std::string name = b.def.counters[i];
      std::replace(name.begin(), name.end(), '_', ' ');
      line += fmt::format(" {} {} ", name, format_count(n));
    }
    if (b.def.derive != nullptr) {
      for (const auto& [k, v] : b.def.derive(&t.block_counters[b.first_counter], measured_s)) {
        std::string name = k;
        std::replace(name.begin(), name.end(), '_', ' ');
        line += k.ends_with("rate") ? fmt::format(" {} {:.2f}% ", name, v * 100)
                                    : fmt::format(" {} {:.1f} ", name, v);
      }
    }
    for (size_t i = 0; i < b.def.histograms.size(); ++i) {
      const metrics::Histogram& h = t.block_histograms[b.histogram(i)];
      if (h.total_count() == 0) continue;
      line += fmt::format(" {} p50 {} p99 {} ", b.def.histograms[i],
                          format_us(static_cast<double>(h.value_at_percentile(50))),
                          format_us(static_cast<double>(h.value_at_percentile(99))));
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

}  // namespace spiker::report
