// The registered stat blocks (metrics/stat_block.h) in the JSON result, in merged results and
// in the summary: one section per protocol that recorded anything, named after its block, with
// its counters, its derived figures and its histograms. No protocol is named here.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "core/json.h"
#include "live/live_view.h"
#include "metrics/histogram_codec.h"
#include "metrics/shard.h"
#include "metrics/stat_block.h"
#include "report/json_parts.h"

namespace spiker::report {

using live::format_count;
using live::format_us;
using nlohmann::json;

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
  for (const auto& [k, v] : b.derived(counters, measured_s)) {
    section[k] = std::round(v * 10000) / 10000;
  }
}

std::string hist_key(const metrics::StatBlock& b, size_t i) {
  return b.def.name + "." + b.histogram_key(i);
}

std::string latency_text(const metrics::Histogram& h) { return latency(h).dump(); }

// The block's section: its own shape, or counters, derived figures and NAME_us histograms.
json section_of(const metrics::StatBlock& b, const uint64_t* counters,
                const metrics::Histogram* hists, const metrics::Shard& run, double measured_s,
                const std::vector<std::pair<std::string, std::string>>* facts, bool merged) {
  if (b.def.section != nullptr) {
    metrics::StatSectionInput in;
    in.block = &b;
    in.counters = counters;
    in.histograms = hists;
    in.run = &run;
    in.measured_s = measured_s;
    in.facts = facts;
    in.merged = merged;
    in.latency_json = latency_text;
    return json::parse(b.def.section(in));
  }
  json section = json::object();
  for (size_t i = 0; i < b.def.counters.size(); ++i) section[b.def.counters[i]] = counters[i];
  put_derived(b, counters, measured_s, section);
  for (size_t i = 0; i < b.def.histograms.size(); ++i) {
    section[b.histogram_key(i)] = latency(hists[i]);
  }
  return section;
}

json facts_json(const std::vector<std::pair<std::string, std::string>>* facts) {
  json f = json::object();
  if (facts != nullptr) {
    for (const auto& [k, v] : *facts) f[k] = v;
  }
  return f;
}

}  // namespace

void put_stat_sections(const metrics::Shard& t, double measured_s, const BlockFacts& facts,
                       json& doc) {
  for (const metrics::StatBlock& b : metrics::StatBlocks::all()) {
    auto f = facts.find(b.def.name);
    const std::vector<std::pair<std::string, std::string>>* block_facts =
        f == facts.end() ? nullptr : &f->second;
    if (block_facts == nullptr && !used(t, b)) continue;
    const uint64_t* counters = &t.block_counters[b.first_counter];
    const metrics::Histogram* hists =
        b.def.histograms.empty() ? nullptr : &t.block_histograms[b.first_histogram];
    doc[b.def.name] = section_of(b, counters, hists, t, measured_s, block_facts, false);
    // As recorded, for `report merge`: counters, facts and histograms.
    json raw = {{"counters", json::object()}, {"facts", facts_json(block_facts)}};
    for (size_t i = 0; i < b.def.counters.size(); ++i)
      raw["counters"][b.def.counters[i]] = counters[i];
    doc["stat_blocks"][b.def.name] = raw;
    for (size_t i = 0; i < b.def.histograms.size(); ++i) {
      doc["histograms"][hist_key(b, i)] =
          metrics::base64_encode(metrics::encode_v2_compressed(hists[i]));
    }
  }
}

void merge_stat_sections(const std::vector<json>& docs, const metrics::Shard& merged,
                         double measured_s, json& out) {
  for (const metrics::StatBlock& b : metrics::StatBlocks::all()) {
    if (!out.contains("stat_blocks") || !out["stat_blocks"].contains(b.def.name)) continue;
    std::vector<uint64_t> counters(b.def.counters.size());
    std::vector<metrics::Histogram> hists(b.def.histograms.size());
    json raw = out["stat_blocks"][b.def.name];
    for (const json& d : docs) {
      const json blocks = d.value("stat_blocks", json::object());
      const json c = blocks.value(b.def.name, json::object()).value("counters", json::object());
      for (size_t i = 0; i < counters.size(); ++i) {
        counters[i] += c.value(b.def.counters[i], uint64_t{0});
      }
      const json hs = d.value("histograms", json::object());
      for (size_t i = 0; i < hists.size(); ++i) {
        if (!hs.contains(hist_key(b, i))) continue;
        hists[i].merge(
            metrics::decode_v2(metrics::base64_decode(hs[hist_key(b, i)].get<std::string>())));
      }
    }
    std::vector<std::pair<std::string, std::string>> facts;
    const json given = raw.value("facts", json::object());
    for (auto& [k, v] : given.items()) facts.emplace_back(k, v.get<std::string>());
    for (size_t i = 0; i < counters.size(); ++i) raw["counters"][b.def.counters[i]] = counters[i];
    out["stat_blocks"][b.def.name] = raw;
    for (size_t i = 0; i < hists.size(); ++i) {
      out["histograms"][hist_key(b, i)] =
          metrics::base64_encode(metrics::encode_v2_compressed(hists[i]));
    }
    out[b.def.name] = section_of(b, counters.data(), hists.empty() ? nullptr : hists.data(), merged,
                                 measured_s, &facts, true);
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
    for (const auto& [k, v] : b.derived(&t.block_counters[b.first_counter], measured_s)) {
      std::string name = k;
      std::replace(name.begin(), name.end(), '_', ' ');
      line += k.ends_with("rate") ? fmt::format(" {} {:.2f}% ", name, v * 100)
                                  : fmt::format(" {} {:.1f} ", name, v);
    }
    for (size_t i = 0; i < b.def.histograms.size(); ++i) {
      const metrics::Histogram& h = t.block_histograms[b.histogram(i)];
      if (h.total_count() == 0) continue;
      auto value = [&](double p) {
        double v = static_cast<double>(h.value_at_percentile(p));
        return b.counts(i) ? fmt::format("{}", h.value_at_percentile(p)) : format_us(v);
      };
      line += fmt::format(" {} p50 {} p99 {} ", b.def.histograms[i], value(50), value(99));
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

}  // namespace spiker::report
