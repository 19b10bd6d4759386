#include "report/merge.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <map>

#include "core/error.h"
#include "core/json.h"
#include "metrics/histogram_codec.h"
#include "report/json_parts.h"

namespace spiker::report {
namespace {

using json = nlohmann::json;

json parse_result(const std::string& text, const std::string& name) {
  json d;
  try {
    d = json::parse(text);
  } catch (const json::exception& e) {
    throw SetupError(fmt::format("{}: not a JSON result: {}", name, e.what()), kExitError);
  }
  if (!d.is_object() || !d.contains("summary") || !d.contains("latency_us")) {
    throw SetupError(fmt::format("{}: not a LoadSpiker or Kaioken result (no summary)", name),
                     kExitError);
  }
  return d;
}

metrics::Histogram decode(const json& text) {
  return metrics::decode_v2(metrics::base64_decode(text.get<std::string>()));
}

uint64_t u64(const json& j, const char* k) { return j.contains(k) ? j[k].get<uint64_t>() : 0; }

void add_counts(json& into, const json& from) {
  for (auto& [k, v] : from.items()) {
    into[k] = (into.contains(k) ? into[k].get<uint64_t>() : 0) + v.get<uint64_t>();
  }
}

// "2026-11-29T18:21:56.123Z" as Unix milliseconds; -1 when it is not one.
int64_t unix_ms_of(const std::string& text) {
  tm t{};
  const char* rest = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &t);
  if (rest == nullptr) return -1;
  int64_t ms = static_cast<int64_t>(timegm(&t)) * 1000;
  if (*rest == '.') ms += static_cast<int64_t>(std::llround(std::strtod(rest, nullptr) * 1000));
  return ms;
}

// A fraction as the JSON writes it ("1/3", "0", "1").
double fraction_of(std::string_view text) {
  size_t slash = text.find('/');
  double num = std::strtod(std::string(text.substr(0, slash)).c_str(), nullptr);
  if (slash == std::string_view::npos) return num;
  double den = std::strtod(std::string(text.substr(slash + 1)).c_str(), nullptr);
  return den > 0 ? num / den : num;
}

// Segments of one test cover disjoint parts of it: the same result twice, or two segments
// that share iterations, would count requests twice. Results without a segment (whole tests
// run side by side from several machines) may merge, unless they are the same result.
void check_disjoint(const std::vector<json>& docs, const std::vector<std::string>& names) {
  struct Part {
    double from, to;
    size_t i;
  };
  std::vector<Part> parts;
  for (size_t i = 0; i < docs.size(); ++i) {
    for (size_t k = 0; k < i; ++k) {
      if (docs[k] == docs[i]) {
        throw SetupError(fmt::format("{} and {} are the same result; merge each segment once",
                                     names[k], names[i]),
                         kExitError);
      }
    }
    std::string seg = docs[i]["metadata"]["load"].value("segment", "");
    if (seg.empty()) continue;
    size_t colon = seg.find(':');
    parts.push_back({fraction_of(std::string_view(seg).substr(0, colon)),
                     colon == std::string::npos ? 1.0 : fraction_of(seg.substr(colon + 1)), i});
  }
  std::sort(parts.begin(), parts.end(),
            [](const Part& a, const Part& b) { return a.from < b.from; });
  for (size_t k = 1; k < parts.size(); ++k) {
    if (parts[k].from < parts[k - 1].to - 1e-12) {
      const json& a = docs[parts[k - 1].i]["metadata"]["load"];
      const json& b = docs[parts[k].i]["metadata"]["load"];
      throw SetupError(
          fmt::format("{} (segment {}) and {} (segment {}) overlap: their iterations would count "
                      "twice; merge the results of one --segment-sequence, each segment once",
                      names[parts[k - 1].i], a.value("segment", ""), names[parts[k].i],
                      b.value("segment", "")),
          kExitError);
    }
  }
}

}  // namespace

namespace {

// A result read with checked access (core/json.h) that lacks what it needs, or holds the wrong
// type, is named in the error rather than crashing or merging garbage.
template <typename F>
auto checked(const std::vector<std::string>& names, F&& f) {
  try {
    return f();
  } catch (const SetupError&) {
    throw;
  } catch (const std::exception& e) {
    std::string list;
    for (const std::string& n : names) list += (list.empty() ? "" : ", ") + n;
    throw SetupError(fmt::format("{}: not a complete LoadSpiker result ({})", list, e.what()),
                     kExitError);
  }
}

}  // namespace

// The work, with unchecked errors (below).
Merged merge_unchecked(const std::vector<std::string>& texts,
                       const std::vector<std::string>& names);
Comparison compare_unchecked(const std::string& base_text, const std::string& cur_text,
                             const std::string& base_name, const std::string& cur_name,
                             const CompareOptions& o);

Merged merge_results(const std::vector<std::string>& texts, const std::vector<std::string>& names) {
  return checked(names, [&] { return merge_unchecked(texts, names); });
}

Comparison compare_results(const std::string& base_text, const std::string& cur_text,
                           const std::string& base_name, const std::string& cur_name,
                           const CompareOptions& o) {
  return checked({base_name, cur_name},
                 [&] { return compare_unchecked(base_text, cur_text, base_name, cur_name, o); });
}

Merged merge_unchecked(const std::vector<std::string>& texts,
                       const std::vector<std::string>& names) {
  if (texts.size() < 2) throw SetupError("merge: give at least two results", kExitUsage);
  std::vector<json> docs;
  for (size_t i = 0; i < texts.size(); ++i) docs.push_back(parse_result(texts[i], names[i]));
  check_disjoint(docs, names);
  Merged m;
  // The merged run spans from the earliest start to the latest end.
  int64_t first_ms = -1, last_ms = -1;
  std::string first_text, last_text;
  double warmup_s = 0;
  metrics::Shard& t = m.totals;
  json out = docs.front();
  json status = json::object(), errors = json::object();
  std::map<int64_t, json> seconds;
  std::map<int64_t, metrics::Histogram> second_hist;
  bool corrected = true;
  uint64_t concurrency = 0, max_vus = 0, opened = 0;
  json arrivals;
  for (size_t i = 0; i < docs.size(); ++i) {
    const json& d = docs[i];
    if (!d.contains("histograms") || !d["histograms"].contains("latency_us")) {
      throw SetupError(fmt::format("{}: has no latency histogram (a Kaioken result?); merge needs "
                                   "LoadSpiker results to merge percentiles exactly",
                                   names[i]),
                       kExitError);
    }
    const json& s = d["summary"];
    t.requests += u64(s, "total_requests");
    t.failed += u64(s, "failed");
    t.bytes_received += u64(s, "bytes_received");
    t.bytes_sent += u64(s, "bytes_sent");
    t.latency_us.merge(decode(d["histograms"]["latency_us"]));
    if (d["histograms"].contains("corrected_latency_us")) {
      t.corrected_us.merge(decode(d["histograms"]["corrected_latency_us"]));
    } else {
      corrected = false;
    }
    double rps = s.value("requests_per_sec", 0.0);
    if (rps > 0)
      m.measured_s = std::max(m.measured_s, static_cast<double>(u64(s, "total_requests")) / rps);
    std::string started = d["metadata"].value("started_at", ""),
                ended = d["metadata"].value("ended_at", "");
    int64_t a = unix_ms_of(started), b = unix_ms_of(ended);
    if (a >= 0 && (first_ms < 0 || a < first_ms)) first_ms = a, first_text = started;
    if (b >= 0 && b > last_ms) last_ms = b, last_text = ended;
    warmup_s = std::max(warmup_s, d["metadata"]["load"].value("warmup_secs", 0.0));
    add_counts(status, d.value("status_codes", json::object()));
    add_counts(errors, d.value("errors", json::object()));
    const json& load = d["metadata"]["load"];
    concurrency += load.value("concurrency", 0ull);
    max_vus += load.value("max_vus", 0ull);
    opened += d.value("/connections/opened"_json_pointer, 0ull);
    if (d["metadata"]["load"].value("load_model", "") !=
        docs.front()["metadata"]["load"].value("load_model", "")) {
      throw SetupError(fmt::format("{}: a different load model than {}; merge takes the segments "
                                   "of one test",
                                   names[i], names[0]),
                       kExitError);
    }
    for (const json& p : d.value("timeline", json::array())) {
      int64_t sec = p.value("elapsed_secs", 0ll);
      json& row = seconds[sec];
      if (row.is_null()) row = json::object();
      for (const char* k : {"requests", "errors", "bytes_received", "vus", "dropped_iterations"}) {
        if (p.contains(k)) row[k] = row.value(k, 0ull) + p[k].get<uint64_t>();
      }
      if (p.contains("latency_hist")) second_hist[sec].merge(decode(p["latency_hist"]));
    }
    if (d.contains("summary") && d["summary"].contains("arrival_rate")) {
      const json& a = d["summary"]["arrival_rate"];
      if (arrivals.is_null())
        arrivals = a;
      else {
        for (const char* k :
             {"target_iterations", "started_iterations", "dropped_iterations", "max_vus"}) {
          arrivals[k] = arrivals.value(k, 0ull) + a.value(k, 0ull);
        }
        for (const char* k : {"target_rps", "achieved_rps"}) {
          arrivals[k] = arrivals.value(k, 0.0) + a.value(k, 0.0);
        }
      }
    }
    auto size_of = [](const json& doc, const char* pointer) {
      json::json_pointer p(pointer);
      return doc.contains(p) ? static_cast<int64_t>(doc.at(p).size()) : -1;
    };
    if (size_of(d, "/scenarios") != size_of(docs.front(), "/scenarios") ||
        size_of(d, "/journeys/steps") != size_of(docs.front(), "/journeys/steps")) {
      throw SetupError(fmt::format("{}: other scenarios than {}; merge takes the segments of one "
                                   "test",
                                   names[i], names[0]),
                       kExitError);
    }
  }
  // Steps (journeys.steps, or the scenarios of a plain run), by index: counts add up and
  // histograms merge; a journey's scenarios[] entries add up their counts.
  const json::json_pointer kSteps("/journeys/steps");
  bool journeys = out.contains(kSteps);
  json& step_list = journeys ? out[kSteps] : out["scenarios"];
  for (size_t k = 0; k < step_list.size() && k < 64; ++k) {
    json& item = step_list[k];
    uint64_t requests = 0, failed = 0, failed_steps = 0;
    metrics::Histogram h;
    for (const json& d : docs) {
      const json& x = journeys ? d.at(kSteps).at(k) : d.at("scenarios").at(k);
      requests += x.value("requests", 0ull);
      failed += x.value("failed", 0ull);
      failed_steps += x.value("failed_steps", 0ull);
      if (x.contains("latency_hist")) h.merge(decode(x["latency_hist"]));
    }
    item["requests"] = requests;
    if (item.contains("failed")) item["failed"] = failed;
    if (item.contains("failed_steps")) item["failed_steps"] = failed_steps;
    t.scenario_requests[k] = requests;
    t.step_failed[k] = failed;
    if (h.total_count() > 0) {
      item["latency_us"] = latency(h);
      item["latency_hist"] = metrics::base64_encode(metrics::encode_v2_compressed(h));
      t.step_latency(k).merge(h);
    }
    m.step_names.push_back(item.value("name", ""));
    m.step_scenarios.push_back(item.value("scenario", item.value("name", "")));
  }
  if (journeys && out.contains("scenarios")) {
    for (size_t k = 0; k < out["scenarios"].size(); ++k) {
      json& item = out["scenarios"][k];
      for (const char* key : {"requests", "failed"}) {
        uint64_t sum = 0;
        for (const json& d : docs) sum += d.at("scenarios").at(k).value(key, 0ull);
        item[key] = sum;
      }
    }
  }
  if (out.contains("checks")) {
    json results = json::object();
    uint64_t passed = 0, total = 0;
    for (const json& d : docs) {
      const json checks = d.value("/checks/results"_json_pointer, json::object());
      for (auto& [name, c] : checks.items()) {  // (items() of a temporary would dangle)
        json& r = results[name];
        if (r.is_null()) r = json::object();
        r["passed"] = r.value("passed", 0ull) + c.value("passed", 0ull);
        r["total"] = r.value("total", 0ull) + c.value("total", 0ull);
      }
    }
    size_t idx = 0;
    for (auto& [name, r] : results.items()) {
      uint64_t p = r["passed"], n = r["total"];
      r["pass_rate"] = n > 0 ? static_cast<double>(p) / static_cast<double>(n) : 1.0;
      passed += p;
      total += n;
      if (idx < t.check_passed.size()) {
        t.check_passed[idx] = p;
        t.check_total[idx] = n;
      }
      ++idx;
    }
    out["checks"] = {{"overall_pass_rate",
                      total > 0 ? static_cast<double>(passed) / static_cast<double>(total) : 1.0},
                     {"results", results}};
  }
  if (out.contains("journeys")) {
    json j = json::object();
    for (const json& d : docs) {
      json counts = d.value("journeys", json::object());
      counts.erase("steps");
      add_counts(j, counts);
    }
    if (journeys) j["steps"] = out[kSteps];
    out["journeys"] = j;
    t.iterations = j.value("iterations", 0ull);
  }
  for (size_t k = 0; k < metrics::kErrorKindCount; ++k) {  // by kind, for the stat sections
    t.errors[k] = errors.value(std::string(metrics::kErrorKindNames[k]), uint64_t{0});
  }
  merge_stat_sections(docs, t, m.measured_s, out);
  json timeline = json::array();
  for (auto& [sec, row] : seconds) {
    json p = row;
    p["elapsed_secs"] = sec;
    auto it = second_hist.find(sec);
    if (it != second_hist.end()) {
      p["p50_us"] = it->second.value_at_percentile(50);
      p["p95_us"] = it->second.value_at_percentile(95);
      p["p99_us"] = it->second.value_at_percentile(99);
      p["latency_hist"] = metrics::base64_encode(metrics::encode_v2_compressed(it->second));
    }
    timeline.push_back(p);
  }
  out["timeline"] = timeline;
  out["status_codes"] = status;
  out["errors"] = errors;
  out["latency_us"] = latency(t.latency_us);
  out["histograms"]["latency_us"] =
      metrics::base64_encode(metrics::encode_v2_compressed(t.latency_us));
  if (corrected && t.corrected_us.total_count() > 0) {
    out["corrected_latency_us"] = percentiles(t.corrected_us);
    out["histograms"]["corrected_latency_us"] =
        metrics::base64_encode(metrics::encode_v2_compressed(t.corrected_us));
  } else {
    out.erase("corrected_latency_us");
    out["histograms"].erase("corrected_latency_us");
  }
  out.erase("queue_time_us");  // a mean and a p99 do not merge; the histograms above do
  if (first_ms >= 0 && last_ms > first_ms) {
    double span = static_cast<double>(last_ms - first_ms) / 1000.0;
    m.measured_s = std::max(span - warmup_s, 1e-3);
    out["metadata"]["started_at"] = first_text;
    out["metadata"]["ended_at"] = last_text;
    out["metadata"]["duration_secs"] = static_cast<int64_t>(std::llround(m.measured_s));
    out["summary"]["elapsed_secs"] = span;
  }
  json& s = out["summary"];
  s["total_requests"] = t.requests;
  s["successful"] = t.requests - t.failed;
  s["failed"] = t.failed;
  s["error_rate"] =
      t.requests > 0 ? static_cast<double>(t.failed) / static_cast<double>(t.requests) : 0.0;
  s["requests_per_sec"] =
      m.measured_s > 0 ? std::round(static_cast<double>(t.requests) / m.measured_s * 100) / 100
                       : 0.0;
  s["bytes_received"] = t.bytes_received;
  s["bytes_sent"] = t.bytes_sent;
  if (!arrivals.is_null()) s["arrival_rate"] = arrivals;
  json& load = out["metadata"]["load"];
  (void)concurrency;  // segments record the whole test's VUs: the first one's stand
  (void)max_vus;
  load.erase("segment");
  out["metadata"]["merged_from"] = names;
  if (out.contains("connections")) {
    out["connections"] = {{"opened", opened}};  // set-up time percentiles do not merge
  }
  out.erase("thresholds");
  m.json = out.dump(2) + "\n";
  return m;
}

std::string with_thresholds(const std::string& text, const std::string& thresholds_json) {
  json d = json::parse(text);
  if (thresholds_json.empty()) return text;
  d["thresholds"] = json::parse(thresholds_json);
  return d.dump(2) + "\n";
}

Comparison compare_unchecked(const std::string& base_text, const std::string& cur_text,
                             const std::string& base_name, const std::string& cur_name,
                             const CompareOptions& o) {
  json b = parse_result(base_text, base_name), c = parse_result(cur_text, cur_name);
  Comparison out;
  json warnings = json::array();
  std::string bm = b.value("/metadata/load/load_model"_json_pointer, std::string("closed"));
  std::string cm = c.value("/metadata/load/load_model"_json_pointer, std::string("closed"));
  if (bm != cm) {
    if (!o.force) {
      out.model_mismatch = true;
      out.table = fmt::format(
          "{} ran the {} model and {} the {} model: their latencies mean different things. "
          "Compare like with like, or add --force.\n",
          base_name, bm, cur_name, cm);
      return out;
    }
    warnings.push_back(fmt::format("different load models: {} vs {}", bm, cm));
  }
  std::string bu = b.value("/metadata/target/url"_json_pointer, std::string());
  std::string cu = c.value("/metadata/target/url"_json_pointer, std::string());
  if (bu != cu) warnings.push_back(fmt::format("different targets: {} vs {}", bu, cu));
  struct Metric {
    const char* name;
    json::json_pointer at;
    const char* unit;
    bool higher_better;
    double threshold_pct;  // 0: never a regression
  };
  const Metric metrics_list[] = {
      {"requests_per_sec", "/summary/requests_per_sec"_json_pointer, "req/s", true, o.rps_pct},
      {"error_rate", "/summary/error_rate"_json_pointer, "ratio", false, o.error_rate_pct},
      {"latency_mean", "/latency_us/mean"_json_pointer, "us", false, 0},
      {"latency_p50", "/latency_us/p50"_json_pointer, "us", false, 0},
      {"latency_p95", "/latency_us/p95"_json_pointer, "us", false, 0},
      {"latency_p99", "/latency_us/p99"_json_pointer, "us", false, o.p99_pct},
      {"latency_p999", "/latency_us/p999"_json_pointer, "us", false, o.p999_pct},
  };
  json metrics = json::array(), regressions = json::array();
  out.table =
      fmt::format("{:<18} {:>14} {:>14} {:>10}   {}\n", "metric",
                  base_name.substr(base_name.size() > 14 ? base_name.size() - 14 : 0),
                  cur_name.substr(cur_name.size() > 14 ? cur_name.size() - 14 : 0), "change", "");
  for (const Metric& mt : metrics_list) {
    if (!b.contains(mt.at) || !c.contains(mt.at)) continue;
    double bv = b[mt.at].get<double>(), cv = c[mt.at].get<double>();
    double delta = cv - bv;
    double pct = bv != 0 ? delta / bv * 100 : (cv != 0 ? 100.0 : 0.0);
    bool worse = mt.higher_better ? delta < 0 : delta > 0;
    bool better = mt.higher_better ? delta > 0 : delta < 0;
    bool regressed = mt.threshold_pct > 0 && worse && std::fabs(pct) > mt.threshold_pct;
    metrics.push_back({{"name", mt.name},
                       {"baseline", bv},
                       {"current", cv},
                       {"delta", delta},
                       {"delta_pct", pct},
                       {"unit", mt.unit},
                       {"improved", better},
                       {"regressed", regressed}});
    if (regressed) {
      regressions.push_back({{"metric", mt.name},
                             {"baseline", bv},
                             {"current", cv},
                             {"delta_pct", pct},
                             {"threshold_pct", mt.threshold_pct}});
      out.regressed = true;
    }
    out.table += fmt::format("{:<18} {:>14.6g} {:>14.6g} {:>+9.1f}%   {}\n", mt.name, bv, cv, pct,
                             regressed ? "REGRESSED" : (better ? "better" : ""));
  }
  for (const json& w : warnings) out.table += "warning: " + w.get<std::string>() + "\n";
  out.table +=
      out.regressed ? fmt::format("{} regression(s)\n", regressions.size()) : "no regressions\n";
  json doc = {{"baseline_file", base_name}, {"current_file", cur_name},
              {"metrics", metrics},         {"regressions", regressions},
              {"warnings", warnings},       {"has_regressions", out.regressed}};
  out.json = doc.dump(2) + "\n";
  return out;
}

}  // namespace spiker::report
