// The HTML report: self-contained, inline SVG charts of the timeline, percentiles, steps,
// status codes and verdicts.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "metrics/histogram_codec.h"
#include "report/output_parts.h"

namespace spiker::report::detail {
namespace {

// An inline SVG line chart: one polyline per series over the timeline.
std::string svg_chart(const std::string& id, const std::string& title,
                      const std::vector<std::pair<std::string, std::vector<double>>>& series,
                      const std::string& unit) {
  constexpr double kW = 720, kH = 220, kL = 60, kB = 30, kT = 20;
  double peak = 0;
  size_t n = 0;
  for (const auto& [name, v] : series) {
    for (double x : v) peak = std::max(peak, x);
    n = std::max(n, v.size());
  }
  if (peak <= 0) peak = 1;
  static constexpr const char* kColors[] = {"#2563eb", "#dc2626", "#16a34a", "#9333ea"};
  std::string out = fmt::format(
      "<figure><figcaption>{}</figcaption><svg id=\"{}\" class=\"chart\" viewBox=\"0 0 {} {}\" "
      "width=\"{}\" height=\"{}\" role=\"img\">",
      xml_escape(title), id, kW, kH, kW, kH);
  out += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#999\"/>", kL, kH - kB,
                     kW - 10, kH - kB);
  out += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#999\"/>", kL, kT, kL,
                     kH - kB);
  out += fmt::format("<text x=\"4\" y=\"{}\" font-size=\"11\">{:.4g} {}</text>", kT + 4, peak,
                     xml_escape(unit));
  out += fmt::format("<text x=\"4\" y=\"{}\" font-size=\"11\">0</text>", kH - kB);
  out += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"11\">{} s</text>", kW - 60, kH - 8,
                     n > 0 ? n - 1 : 0);
  size_t color = 0;
  for (const auto& [name, v] : series) {
    std::string points;
    for (size_t i = 0; i < v.size(); ++i) {
      double x =
          kL + (n > 1 ? (kW - 10 - kL) * static_cast<double>(i) / static_cast<double>(n - 1) : 0);
      double y = kH - kB - (kH - kB - kT) * v[i] / peak;
      points += fmt::format("{:.1f},{:.1f} ", x, y);
    }
    const char* c = kColors[color++ % 4];
    out += fmt::format(
        "<polyline class=\"series\" data-name=\"{}\" data-points=\"{}\" fill=\"none\" "
        "stroke=\"{}\" stroke-width=\"1.5\" points=\"{}\"/>",
        xml_escape(name), v.size(), c, points);
    out += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"11\" fill=\"{}\">{}</text>",
                       kL + 10 + 90 * (color - 1), kT - 6, c, xml_escape(name));
  }
  out += "</svg></figure>\n";
  return out;
}

}  // namespace

std::string to_html(const json& d) {
  std::vector<double> rps, errors, p50, p95, p99;
  if (d.contains("timeline")) {
    for (const json& p : d["timeline"]) {
      rps.push_back(p.value("requests", 0.0));
      errors.push_back(p.value("errors", 0.0));
      p50.push_back(p.value("p50_us", 0.0) / 1000.0);
      p95.push_back(p.value("p95_us", 0.0) / 1000.0);
      p99.push_back(p.value("p99_us", 0.0) / 1000.0);
    }
  }
  // The percentile spectrum from the full histogram, on a log scale of 1 / (1 - p).
  std::vector<std::pair<double, double>> spectrum;
  std::string hist = str(d, {"histograms", "latency_us"});
  if (!hist.empty()) {
    metrics::Histogram h = metrics::decode_v2(metrics::base64_decode(hist));
    for (double p : {0.0, 25.0, 50.0, 75.0, 90.0, 95.0, 99.0, 99.5, 99.9, 99.95, 99.99, 99.999}) {
      spectrum.emplace_back(p, static_cast<double>(h.value_at_percentile(p)) / 1000.0);
    }
  }
  std::string title = fmt::format("LoadSpiker: {} {}", str(d, {"metadata", "target", "method"}),
                                  str(d, {"metadata", "target", "url"}));
  std::string out = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">";
  out += "<title>" + xml_escape(title) +
         "</title><style>"
         "body{font:14px system-ui,sans-serif;margin:24px;color:#111}"
         "table{border-collapse:collapse;margin:8px 0 20px}"
         "td,th{border:1px solid #ddd;padding:4px 8px;text-align:right}"
         "th{background:#f4f4f5}td.l,th.l{text-align:left}.pass{color:#16a34a}.fail{color:#dc2626}"
         "figure{margin:12px 0}figcaption{font-weight:600}</style></head><body>\n";
  out += "<h1>" + xml_escape(title) + "</h1>\n";
  out += fmt::format("<p>{} · {} · started {} · {:g} s measured{}</p>\n",
                     xml_escape(str(d, {"metadata", "load", "executor"})),
                     xml_escape(str(d, {"metadata", "load", "load_model"})),
                     xml_escape(str(d, {"metadata", "started_at"})),
                     num(d, {"metadata", "duration_secs"}),
                     d.value("/metadata/interrupted"_json_pointer, false) ? " · interrupted" : "");
  out +=
      "<table id=\"summary\"><tr><th>requests</th><th>successful</th><th>failed</th>"
      "<th>error rate</th><th>req/s</th><th>received</th></tr>";
  out += fmt::format(
      "<tr><td>{:g}</td><td>{:g}</td><td>{:g}</td><td>{:.2f}%</td><td>{:.1f}</td><td>{:g} "
      "B</td></tr></table>\n",
      num(d, {"summary", "total_requests"}), num(d, {"summary", "successful"}),
      num(d, {"summary", "failed"}), 100 * num(d, {"summary", "error_rate"}),
      num(d, {"summary", "requests_per_sec"}), num(d, {"summary", "bytes_received"}));
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
          "<tr><td class=\"l\">{}</td><td class=\"l\">{}</td><td>{:g}</td><td class=\"{}\">{}"
          "</td></tr>",
          xml_escape(t.value("metric", "")), xml_escape(t.value("condition", "")),
          t.value("actual", 0.0), ok ? "pass" : "fail", ok ? "pass" : "fail");
    }
    out += "</table>\n";
  }
  if (d.contains("checks")) {
    out += fmt::format(
        "<h2>Checks: {:.2f}% passed</h2><table id=\"checks\"><tr><th class=\"l\">"
        "check</th><th>passed</th><th>total</th></tr>",
        100 * num(d, {"checks", "overall_pass_rate"}, 1));
    for (auto& [name, c] : d["checks"]["results"].items()) {
      double p = c.value("passed", 0.0), n = c.value("total", 0.0);
      out += fmt::format("<tr><td class=\"l {}\">{}</td><td>{:g}</td><td>{:g}</td></tr>",
                         p == n ? "pass" : "fail", xml_escape(name), p, n);
    }
    out += "</table>\n";
  }
  out += "<h2>Over time</h2>\n";
  out += svg_chart("chart-rps", "Requests per second", {{"requests/s", rps}}, "req/s");
  out += svg_chart("chart-errors", "Errors per second", {{"errors/s", errors}}, "err/s");
  out += svg_chart("chart-latency", "Latency percentiles per second",
                   {{"p50", p50}, {"p95", p95}, {"p99", p99}}, "ms");
  if (!spectrum.empty()) {
    out +=
        "<h2>Latency distribution</h2><table id=\"spectrum\"><tr><th>percentile</th>"
        "<th>ms</th></tr>";
    std::vector<double> ys;
    for (const auto& [p, ms] : spectrum) {
      out += fmt::format("<tr><td>{:g}</td><td>{:.3f}</td></tr>", p, ms);
      ys.push_back(ms);
    }
    out += "</table>\n";
    out += svg_chart("chart-spectrum",
                     "Percentile spectrum (x: 0, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.95, "
                     "99.99, 99.999 — a log scale of 1/(1-p))",
                     {{"latency ms", ys}}, "ms");
  }
  if (d.contains("scenarios")) {
    out +=
        "<h2>Scenarios and steps</h2><table id=\"steps\"><tr><th class=\"l\">name</th>"
        "<th class=\"l\">method</th><th class=\"l\">url</th><th>requests</th><th>failed</th>"
        "<th>p50 ms</th><th>p95 ms</th><th>p99 ms</th></tr>";
    for (const json& s : d["scenarios"]) {
      auto ms = [&](const char* k) {
        return s.contains("latency_us") ? fmt::format("{:.3f}", num(s, {"latency_us", k}) / 1000.0)
                                        : std::string("—");
      };
      out += fmt::format(
          "<tr><td class=\"l\">{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td><td>{:g}"
          "</td><td>{:g}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
          xml_escape(s.value("name", "")), xml_escape(s.value("method", "")),
          xml_escape(s.value("url", "")), s.value("requests", 0.0), s.value("failed", 0.0),
          ms("p50"), ms("p95"), ms("p99"));
    }
    out += "</table>\n";
  }
  out +=
      "<h2>Status codes and errors</h2><table id=\"status\"><tr><th class=\"l\">status or "
      "error</th><th>count</th></tr>";
  for (const char* section : {"status_codes", "errors"}) {
    if (!d.contains(section)) continue;
    for (auto& [k, n] : d[section].items()) {
      out += fmt::format("<tr><td class=\"l\">{}</td><td>{:g}</td></tr>", xml_escape(k),
                         n.get<double>());
    }
  }
  out += "</table>\n";
  // The data the charts draw, for tools reading the page.
  json data = {{"timeline", d.value("timeline", json::array())}};
  std::string embedded = data.dump();
  std::string safe;
  for (char c : embedded) safe += c == '<' ? std::string("\\u003c") : std::string(1, c);
  out += "<script type=\"application/json\" id=\"run-data\">" + safe + "</script>\n";
  out += "</body></html>\n";
  return out;
}

}  // namespace spiker::report::detail
