// The HTML report: one self-contained page. Tables say the numbers; Chart.js (embedded at
// build time from Debian's libjs-chart.js) draws the time series, the latency distribution,
// steps, status codes and checks from the page's run-data (html_charts.js).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/duration.h"
#include "live/live_view.h"
#include "metrics/histogram_codec.h"
#include "report/numbers.h"
#include "report/output_parts.h"

namespace spiker::report::detail {

extern const std::string_view kChartJs;
extern const std::string_view kChartsScript;

namespace {

constexpr double kSpectrum[] = {0,    50,    75,    90,     95,     99, 99.5,
                                99.9, 99.95, 99.99, 99.995, 99.999, 100};

metrics::Histogram histogram_at(const json& d, const char* key) {
  std::string text = str(d, {"histograms", key});
  return text.empty() ? metrics::Histogram{} : metrics::decode_v2(metrics::base64_decode(text));
}

// Log-spaced buckets from the histogram's min to its max, with their request counts.
json distribution(const metrics::Histogram& h) {
  json buckets = json::array();
  if (h.total_count() == 0) return buckets;
  double lo = std::max<double>(1, static_cast<double>(h.min()));
  double hi = std::max<double>(lo + 1, static_cast<double>(h.max()) + 1);
  constexpr int kBuckets = 40;
  double step = std::pow(hi / lo, 1.0 / kBuckets);
  std::vector<uint64_t> counts(kBuckets);
  for (int32_t k = 0; k < h.counts_length(); ++k) {
    int64_t count = h.count_at_index(k);
    if (count == 0) continue;
    double v = std::max<double>(static_cast<double>(h.value_at_index(k)), lo);
    int i = static_cast<int>(std::log(v / lo) / std::log(step));
    counts[static_cast<size_t>(std::clamp(i, 0, kBuckets - 1))] += static_cast<uint64_t>(count);
  }
  for (int i = 0; i < kBuckets; ++i) {
    buckets.push_back({{"lo_ms", lo * std::pow(step, i) / 1000.0},
                       {"hi_ms", lo * std::pow(step, i + 1) / 1000.0},
                       {"count", counts[static_cast<size_t>(i)]}});
  }
  return buckets;
}

json spectrum(const metrics::Histogram& service, const metrics::Histogram& corrected) {
  json out = {{"percentiles", json::array()}, {"service", json::array()}};
  if (service.total_count() == 0) return out;
  for (double p : kSpectrum) {
    out["percentiles"].push_back(p);
    out["service"].push_back(static_cast<double>(service.value_at_percentile(p)) / 1000.0);
    if (corrected.total_count() > 0) {
      out["corrected"].push_back(static_cast<double>(corrected.value_at_percentile(p)) / 1000.0);
    }
  }
  return out;
}

// Open models: the arrival rate the schedule asked for at the middle of each second, from
// --arrival-rate or the rate stages ("30s:100/s", ramping linearly from 0).
json target_rates(const json& d, size_t seconds) {
  json out = json::array();
  const json::json_pointer kLoad("/metadata/load");
  if (!d.contains(kLoad) || !d.at(kLoad).is_object()) return out;
  const json& load = d.at(kLoad);
  double constant = load.value("arrival_rate_exact", load.value("arrival_rate", 0.0));
  std::vector<std::pair<double, double>> stages;  // (length s, target /s)
  for (const json& st : load.value("stages", json::array())) {
    std::string text = st.get<std::string>();
    size_t colon = text.find(':');
    if (colon == std::string::npos || !text.ends_with("/s")) return out;  // VU stages
    try {
      double len =
          static_cast<double>(parse_duration(text.substr(0, colon), "stage").count()) / 1e9;
      stages.emplace_back(len, std::stod(text.substr(colon + 1, text.size() - colon - 3)));
    } catch (const std::exception&) {
      return out;
    }
  }
  if (stages.empty() && constant <= 0) return out;
  for (size_t i = 0; i < seconds; ++i) {
    double t = static_cast<double>(i) + 0.5, from = 0, rate = constant;
    if (!stages.empty()) {
      rate = stages.back().second;
      for (const auto& [len, target] : stages) {
        if (t < len) {
          rate = from + (target - from) * t / len;
          break;
        }
        t -= len;
        from = target;
      }
    }
    out.push_back(rate);
  }
  return out;
}

// What the charts draw, in the page (a '<' would end the script element: escaped).
std::string run_data(const json& d) {
  json steps = json::array();
  const json::json_pointer kSteps("/journeys/steps");
  const json& list = d.contains(kSteps) ? d.at(kSteps) : d.value("scenarios", json::array());
  for (const json& s : list) {
    json item = {{"name", s.value("name", "")},
                 {"requests", s.value("requests", 0)},
                 {"failed", s.value("failed", 0)}};
    if (s.contains("latency_us")) item["p95_ms"] = num(s, {"latency_us", "p95"}) / 1000.0;
    steps.push_back(item);
  }
  json scenarios = json::array();  // journeys: per scenario (its steps are in `steps`)
  if (d.contains(kSteps)) {
    for (const json& s : d.value("scenarios", json::array())) {
      scenarios.push_back({{"name", s.value("name", "")},
                           {"requests", s.value("requests", 0)},
                           {"failed", s.value("failed", 0)},
                           {"steps", s.value("steps", 0)}});
    }
  }
  json timeline = json::array();
  for (const json& p : d.value("timeline", json::array())) {
    json row = p;
    for (const char* k : {"latency_hist", "corrected_hist", "queue_hist"}) row.erase(k);
    timeline.push_back(row);
  }
  metrics::Histogram service = histogram_at(d, "latency_us");
  metrics::Histogram corrected = histogram_at(d, "corrected_latency_us");
  json data = {{"timeline", timeline},
               {"open", str(d, {"metadata", "load", "load_model"}) == "open"},
               {"target_rate", target_rates(d, timeline.size())},
               {"intended", d.contains("corrected_latency_us")},
               {"steps", steps},
               {"scenarios", scenarios},
               {"status", d.value("status_codes", json::object())},
               {"errors", d.value("errors", json::object())},
               {"checks", d.value("/checks/results"_json_pointer, json::object())},
               {"distribution", {{"buckets", distribution(service)}}},
               {"spectrum", spectrum(service, corrected)}};
  std::string text = data.dump(), safe;
  for (char c : text) safe += c == '<' ? std::string("\\u003c") : std::string(1, c);
  return safe;
}

std::string figure(const char* id, const char* caption) {
  return fmt::format(
      "<figure><figcaption>{}</figcaption><div class=\"box\"><canvas id=\"{}\" role=\"img\" "
      "aria-label=\"{}\"></canvas></div></figure>\n",
      caption, id, caption);
}

}  // namespace

std::string to_html(const json& d) {
  std::string title = str(d, {"metadata", "title"});
  if (title.empty()) {
    title = str(d, {"metadata", "target", "method"}) + " " + str(d, {"metadata", "target", "url"});
  }
  std::string out = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">";
  out += "<title>LoadSpiker: " + xml_escape(title) +
         "</title><style>"
         "body{font:14px system-ui,sans-serif;margin:24px;color:#111;max-width:1100px}"
         "table{border-collapse:collapse;margin:8px 0 20px}"
         "td,th{border:1px solid #ddd;padding:4px 8px;text-align:right}"
         "th{background:#f4f4f5}td.l,th.l{text-align:left}.pass{color:#16a34a}.fail{color:#dc2626}"
         "figure{margin:16px 0}figcaption{font-weight:600;margin-bottom:4px}"
         ".box{position:relative;height:260px}.grid{display:grid;grid-template-columns:1fr 1fr;"
         "gap:0 24px}.note{color:#555}</style></head><body>\n";
  out += "<h1>LoadSpiker: " + xml_escape(title) + "</h1>\n";
  out += fmt::format("<p>{} · {} model · started {} · {} s measured{}</p>\n",
                     xml_escape(str(d, {"metadata", "load", "executor"})),
                     xml_escape(str(d, {"metadata", "load", "load_model"})),
                     xml_escape(str(d, {"metadata", "started_at"})),
                     format_number(num(d, {"summary", "elapsed_secs"}), 2),
                     d.value("/metadata/interrupted"_json_pointer, false) ? " · interrupted" : "");
  out +=
      "<table id=\"summary\"><tr><th>requests</th><th>successful</th><th>failed</th>"
      "<th>error rate</th><th>req/s</th><th>received</th><th>p50</th><th>p95</th><th>p99</th>"
      "<th>max</th></tr>";
  auto ms = [](double us) { return format_number(us / 1000.0, 3) + " ms"; };
  out += fmt::format(
      "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
      "<td>{}</td><td>{}</td><td>{}</td></tr></table>\n",
      format_number(num(d, {"summary", "total_requests"})),
      format_number(num(d, {"summary", "successful"})),
      format_number(num(d, {"summary", "failed"})),
      format_percent(num(d, {"summary", "error_rate"})),
      format_number(num(d, {"summary", "requests_per_sec"}), 1),
      live::format_bytes(num(d, {"summary", "bytes_received"})), ms(num(d, {"latency_us", "p50"})),
      ms(num(d, {"latency_us", "p95"})), ms(num(d, {"latency_us", "p99"})),
      ms(num(d, {"latency_us", "max"})));
  if (d.contains("thresholds")) {
    bool passed = d["thresholds"].value("passed", true);
    out += fmt::format(
        "<h2>Thresholds: <span class=\"{}\">{}</span></h2><table id=\"thresholds\">"
        "<tr><th class=\"l\">metric</th><th class=\"l\">condition</th>"
        "<th>actual</th><th>verdict</th></tr>",
        passed ? "pass" : "fail", passed ? "passed" : "failed");
    for (const json& t : d["thresholds"]["results"]) {
      bool ok = t.value("passed", false);
      out += fmt::format(
          "<tr><td class=\"l\">{}</td><td class=\"l\">{}</td><td>{}</td><td class=\"{}\">{}"
          "</td></tr>",
          xml_escape(t.value("metric", "")), xml_escape(t.value("condition", "")),
          xml_escape(format_in_unit(t.value("actual", 0.0), t.value("unit", ""))),
          ok ? "pass" : "fail", ok ? "pass" : "fail");
    }
    out += "</table>\n";
  }
  if (d.contains("checks")) {
    out += fmt::format(
        "<h2>Checks: {} passed</h2><table id=\"checks\"><tr><th class=\"l\">"
        "check</th><th>passed</th><th>total</th></tr>",
        format_percent(num(d, {"checks", "overall_pass_rate"}, 1)));
    for (auto& [name, c] : d["checks"]["results"].items()) {
      double p = c.value("passed", 0.0), n = c.value("total", 0.0);
      out += fmt::format("<tr><td class=\"l {}\">{}</td><td>{}</td><td>{}</td></tr>",
                         p == n ? "pass" : "fail", xml_escape(name), format_number(p),
                         format_number(n));
    }
    out += "</table>\n";
  }
  out += "<h2>Over time</h2>\n";
  out +=
      "<p class=\"note\">One point per second. <span id=\"partial-note\">Every second of the "
      "run was whole.</span></p>\n";
  out += "<div class=\"grid\">";
  out +=
      figure("chart-vus", d.value("/metadata/load/load_model"_json_pointer, std::string()) == "open"
                              ? "VUs, and the arrival rate asked and achieved"
                              : "VUs");
  out += figure("chart-rps", "Requests and errors per second");
  out += figure("chart-latency", "Service time per second: p50, p95, p99");
  if (d.contains("corrected_latency_us")) {
    out += figure("chart-corrected", "Corrected latency per second: p50, p95, p99");
  }
  out += "</div>\n<h2>Latency distribution</h2>\n<div class=\"grid\">";
  out += figure("chart-histogram", "Histogram of service time");
  out += figure("chart-spectrum", "Percentile spectrum");
  out += "</div>\n";
  metrics::Histogram service = histogram_at(d, "latency_us");
  if (service.total_count() > 0) {
    metrics::Histogram corrected = histogram_at(d, "corrected_latency_us");
    out += "<table id=\"spectrum\"><tr><th>percentile</th><th>service time</th>";
    if (corrected.total_count() > 0) out += "<th>corrected latency</th>";
    out += "</tr>";
    for (double p : kSpectrum) {
      out += fmt::format("<tr><td>{}</td><td>{}</td>", format_number(p, 3),
                         ms(static_cast<double>(service.value_at_percentile(p))));
      if (corrected.total_count() > 0) {
        out += "<td>" + ms(static_cast<double>(corrected.value_at_percentile(p))) + "</td>";
      }
      out += "</tr>";
    }
    out += "</table>\n";
  }
  const json::json_pointer kSteps("/journeys/steps");
  const json& steps = d.contains(kSteps) ? d.at(kSteps) : d.value("scenarios", json::array());
  if (!steps.empty()) {
    out += "<h2>Scenarios and steps</h2>\n<div class=\"grid\">";
    if (d.contains(kSteps)) out += figure("chart-scenarios", "Requests and failures by scenario");
    out += figure("chart-steps", "Requests, failures and p95 by step");
    out += "</div>\n";
    out +=
        "<table id=\"steps\"><tr><th class=\"l\">name</th><th class=\"l\">method</th>"
        "<th class=\"l\">url</th><th>requests</th><th>failed</th><th>p50</th><th>p95</th>"
        "<th>p99</th></tr>";
    for (const json& s : steps) {
      auto at = [&](const char* k) {
        return s.contains("latency_us") ? ms(num(s, {"latency_us", k})) : std::string("—");
      };
      out += fmt::format(
          "<tr><td class=\"l\">{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td><td>{}"
          "</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
          xml_escape(s.value("name", "")), xml_escape(s.value("method", "")),
          xml_escape(s.value("url", "")), format_number(s.value("requests", 0.0)),
          format_number(s.value("failed", 0.0)), at("p50"), at("p95"), at("p99"));
    }
    out += "</table>\n";
  }
  out += "<h2>Status codes, errors and checks</h2>\n<div class=\"grid\">";
  out += figure("chart-status", "Responses by status code, and errors by kind");
  if (d.contains("checks")) out += figure("chart-checks", "Checks: pass rate");
  out += "</div>\n";
  out += "<table id=\"status\"><tr><th class=\"l\">status or error</th><th>count</th></tr>";
  for (const char* section : {"status_codes", "errors"}) {
    if (!d.contains(section)) continue;
    for (auto& [k, n] : d[section].items()) {
      out += fmt::format("<tr><td class=\"l\">{}</td><td>{}</td></tr>", xml_escape(k),
                         format_number(n.get<double>()));
    }
  }
  out += "</table>\n";
  out += "<script type=\"application/json\" id=\"run-data\">" + run_data(d) + "</script>\n";
  out += "<script>" + std::string(kChartJs) + "</script>\n";
  out += "<script>" + std::string(kChartsScript) + "</script>\n";
  out += "</body></html>\n";
  return out;
}

}  // namespace spiker::report::detail
