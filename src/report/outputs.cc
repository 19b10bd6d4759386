#include "report/outputs.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "metrics/histogram_codec.h"

namespace spiker::report {
namespace {

using json = nlohmann::json;

double num(const json& doc, std::initializer_list<const char*> path, double fallback = 0) {
  const json* at = &doc;
  for (const char* k : path) {
    if (!at->is_object() || !at->contains(k)) return fallback;
    at = &(*at)[k];
  }
  return at->is_number() ? at->get<double>() : fallback;
}

std::string str(const json& doc, std::initializer_list<const char*> path) {
  const json* at = &doc;
  for (const char* k : path) {
    if (!at->is_object() || !at->contains(k)) return "";
    at = &(*at)[k];
  }
  return at->is_string() ? at->get<std::string>() : "";
}

std::string xml_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string csv_field(std::string_view s) {
  if (s.find_first_of(",\"\n") == std::string_view::npos) return std::string(s);
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string md_cell(std::string_view s) {
  std::string out;
  for (char c : s) out += c == '|' ? std::string("\\|") : std::string(1, c);
  return out;
}

constexpr const char* kLatencyKeys[] = {"min", "mean", "p50",  "p75", "p90",
                                        "p95", "p99",  "p999", "max"};

std::string to_csv(const json& d) {
  std::string out = "metric,value\n";
  auto row = [&](std::string_view k, const std::string& v) {
    out += csv_field(k) + "," + csv_field(v) + "\n";
  };
  auto number = [](double v) { return fmt::format("{:g}", v); };
  for (const char* k : {"total_requests", "successful", "failed", "error_rate", "requests_per_sec",
                        "bytes_received"}) {
    row(k, number(num(d, {"summary", k})));
  }
  for (const char* k : kLatencyKeys) {
    row(fmt::format("latency_{}_ms", k), number(num(d, {"latency_us", k}) / 1000.0));
  }
  if (d.contains("status_codes")) {
    for (auto& [code, n] : d["status_codes"].items())
      row("status_" + code, number(n.get<double>()));
  }
  if (d.contains("errors")) {
    for (auto& [kind, n] : d["errors"].items()) row("error_" + kind, number(n.get<double>()));
  }
  if (d.contains("checks")) {
    row("check_pass_rate", number(num(d, {"checks", "overall_pass_rate"})));
  }
  if (d.contains("thresholds")) {
    row("thresholds_passed", d["thresholds"].value("passed", true) ? "true" : "false");
    for (const json& t : d["thresholds"]["results"]) {
      row(fmt::format("threshold {} {}", t.value("metric", ""), t.value("condition", "")),
          fmt::format("{:g} {}", t.value("actual", 0.0),
                      t.value("passed", false) ? "pass" : "fail"));
    }
  }
  return out;
}

std::string to_markdown(const json& d) {
  std::string out =
      fmt::format("# LoadSpiker result\n\n`{} {}` · {} · started {} · {} s\n\n",
                  str(d, {"metadata", "target", "method"}), str(d, {"metadata", "target", "url"}),
                  str(d, {"metadata", "load", "executor"}), str(d, {"metadata", "started_at"}),
                  num(d, {"metadata", "duration_secs"}));
  out += "| requests | successful | failed | error rate | req/s | received |\n";
  out += "|---:|---:|---:|---:|---:|---:|\n";
  out +=
      fmt::format("| {:g} | {:g} | {:g} | {:.2f}% | {:.1f} | {:g} B |\n\n",
                  num(d, {"summary", "total_requests"}), num(d, {"summary", "successful"}),
                  num(d, {"summary", "failed"}), 100 * num(d, {"summary", "error_rate"}),
                  num(d, {"summary", "requests_per_sec"}), num(d, {"summary", "bytes_received"}));
  out += "## Latency (ms)\n\n|";
  std::string rule = "|";
  std::string values = "|";
  for (const char* k : kLatencyKeys) {
    out += fmt::format(" {} |", k);
    rule += "---:|";
    values += fmt::format(" {:.3f} |", num(d, {"latency_us", k}) / 1000.0);
  }
  out += "\n" + rule + "\n" + values + "\n\n";
  if (d.contains("thresholds")) {
    out +=
        fmt::format("## Thresholds: {}\n\n| | metric | condition | actual |\n|---|---|---|---:|\n",
                    d["thresholds"].value("passed", true) ? "passed" : "**failed**");
    for (const json& t : d["thresholds"]["results"]) {
      out += fmt::format("| {} | {} | `{}` | {:g} |\n", t.value("passed", false) ? "✅" : "❌",
                         md_cell(t.value("metric", "")), md_cell(t.value("condition", "")),
                         t.value("actual", 0.0));
    }
    out += "\n";
  }
  if (d.contains("checks")) {
    out += fmt::format(
        "## Checks: {:.2f}% passed\n\n| | check | passed | total |\n|---|---|---:|---:|\n",
        100 * num(d, {"checks", "overall_pass_rate"}, 1));
    for (auto& [name, c] : d["checks"]["results"].items()) {
      double p = c.value("passed", 0.0), n = c.value("total", 0.0);
      out += fmt::format("| {} | {} | {:g} | {:g} |\n", p == n ? "✅" : "❌", md_cell(name), p, n);
    }
    out += "\n";
  }
  if (d.contains("scenarios")) {
    out +=
        "## Scenarios and steps\n\n| name | method | url | requests | failed | p95 ms |\n"
        "|---|---|---|---:|---:|---:|\n";
    for (const json& s : d["scenarios"]) {
      out += fmt::format("| {} | {} | {} | {:g} | {:g} | {} |\n", md_cell(s.value("name", "")),
                         s.value("method", ""), md_cell(s.value("url", "")),
                         s.value("requests", 0.0), s.value("failed", 0.0),
                         s.contains("latency_us")
                             ? fmt::format("{:.3f}", num(s, {"latency_us", "p95"}) / 1000.0)
                             : std::string("—"));
    }
    out += "\n";
  }
  out += "## Status codes\n\n| status | count |\n|---|---:|\n";
  if (d.contains("status_codes")) {
    for (auto& [code, n] : d["status_codes"].items()) {
      out += fmt::format("| {} | {:g} |\n", code, n.get<double>());
    }
  }
  if (d.contains("errors") && !d["errors"].empty()) {
    out += "\n## Errors\n\n| kind | count |\n|---|---:|\n";
    for (auto& [kind, n] : d["errors"].items()) {
      out += fmt::format("| {} | {:g} |\n", kind, n.get<double>());
    }
  }
  return out;
}

std::string to_junit(const json& d) {
  struct Case {
    std::string name, failure;
  };
  std::vector<Case> cases;
  if (d.contains("thresholds")) {
    for (const json& t : d["thresholds"]["results"]) {
      Case c{fmt::format("threshold {} {}", t.value("metric", ""), t.value("condition", "")), ""};
      if (!t.value("passed", false)) {
        c.failure = fmt::format("actual {:g} does not satisfy {}", t.value("actual", 0.0),
                                t.value("condition", ""));
      }
      cases.push_back(c);
    }
  }
  if (d.contains("checks")) {
    for (auto& [name, ch] : d["checks"]["results"].items()) {
      Case c{"check " + name, ""};
      double p = ch.value("passed", 0.0), n = ch.value("total", 0.0);
      if (p < n) c.failure = fmt::format("{:g} of {:g} passed ({:.2f}%)", p, n, 100 * p / n);
      cases.push_back(c);
    }
  }
  size_t failures =
      std::count_if(cases.begin(), cases.end(), [](const Case& c) { return !c.failure.empty(); });
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += fmt::format(
      "<testsuites name=\"loadspiker\" tests=\"{}\" failures=\"{}\">\n"
      "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" time=\"{:g}\" "
      "timestamp=\"{}\">\n",
      cases.size(), failures, xml_escape(str(d, {"metadata", "target", "url"})), cases.size(),
      failures, num(d, {"summary", "elapsed_secs"}),
      xml_escape(str(d, {"metadata", "started_at"})));
  for (const Case& c : cases) {
    out += fmt::format("    <testcase classname=\"loadspiker\" name=\"{}\"", xml_escape(c.name));
    if (c.failure.empty()) {
      out += "/>\n";
    } else {
      out += fmt::format(">\n      <failure message=\"{}\"/>\n    </testcase>\n",
                         xml_escape(c.failure));
    }
  }
  out += "  </testsuite>\n</testsuites>\n";
  return out;
}

// HdrHistogram's interval log: one line per second, "start,length,max,histogram".
std::string to_hlog(const json& d) {
  std::string started = str(d, {"metadata", "started_at"});
  std::string out = "#[Histogram log format version 1.3]\n";
  out += fmt::format("#[Written by LoadSpiker {}; values in microseconds, Interval_Max in ms]\n",
                     str(d, {"metadata", "version"}));
  tm t{};
  double start_s = 0;
  if (strptime(started.c_str(), "%Y-%m-%dT%H:%M:%S", &t) != nullptr) {
    start_s = static_cast<double>(timegm(&t));
    size_t dot = started.find('.');
    if (dot != std::string::npos) start_s += std::strtod(started.c_str() + dot, nullptr);
  }
  out += fmt::format("#[StartTime: {:.3f} (seconds since epoch), {}]\n", start_s, started);
  out += fmt::format("#[BaseTime: {:.3f} (seconds since epoch)]\n", start_s);
  out +=
      "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"\n";
  if (!d.contains("timeline")) return out;
  for (const json& p : d["timeline"]) {
    std::string hist = p.value("latency_hist", "");
    if (hist.empty()) continue;
    metrics::Histogram h = metrics::decode_v2(metrics::base64_decode(hist));
    out += fmt::format("{:.3f},1.000,{:.3f},{}\n", p.value("elapsed_secs", 0.0),
                       static_cast<double>(h.max()) / 1000.0, hist);
  }
  return out;
}

constexpr const char* kSeriesKeys[] = {"elapsed_secs", "requests", "errors", "bytes_received",
                                       "p50_us",       "p95_us",   "p99_us", "vus"};

std::string to_series_csv(const json& d) {
  std::string out;
  for (const char* k : kSeriesKeys) out += std::string(out.empty() ? "" : ",") + k;
  out += "\n";
  if (!d.contains("timeline")) return out;
  for (const json& p : d["timeline"]) {
    std::string line;
    for (const char* k : kSeriesKeys) {
      line += fmt::format("{}{:g}", line.empty() ? "" : ",", p.value(k, 0.0));
    }
    out += line + "\n";
  }
  return out;
}

std::string to_series_jsonl(const json& d) {
  std::string out;
  if (!d.contains("timeline")) return out;
  for (const json& p : d["timeline"]) {
    json row = json::object();
    for (const char* k : kSeriesKeys) {
      if (p.contains(k)) row[k] = p[k];
    }
    out += row.dump() + "\n";
  }
  return out;
}

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

}  // namespace

Format format_for(std::string_view path, std::string_view forced) {
  static constexpr std::pair<std::string_view, Format> kNames[] = {
      {"json", Format::kJson},
      {"csv", Format::kCsv},
      {"md", Format::kMarkdown},
      {"markdown", Format::kMarkdown},
      {"html", Format::kHtml},
      {"junit", Format::kJunit},
      {"hlog", Format::kHlog},
      {"series-csv", Format::kSeriesCsv},
      {"series-jsonl", Format::kSeriesJsonl}};
  if (!forced.empty()) {
    for (const auto& [name, f] : kNames) {
      if (forced == name) return f;
    }
    throw SetupError(fmt::format(
        "--format {}: use json, csv, md, html, junit, hlog, series-csv or series-jsonl", forced));
  }
  static constexpr std::pair<std::string_view, Format> kExt[] = {
      {".series.csv", Format::kSeriesCsv},
      {".jsonl", Format::kSeriesJsonl},
      {".json", Format::kJson},
      {".csv", Format::kCsv},
      {".md", Format::kMarkdown},
      {".html", Format::kHtml},
      {".htm", Format::kHtml},
      {".xml", Format::kJunit},
      {".hlog", Format::kHlog}};
  for (const auto& [ext, f] : kExt) {
    if (path.ends_with(ext)) return f;
  }
  if (path == "/dev/null" || path == "-") return Format::kJson;
  throw SetupError(fmt::format(
      "-o {}: cannot tell the format from the extension; use .json, .csv, .md, .html, .xml "
      "(JUnit), .hlog, .series.csv or .jsonl, or give --format",
      path));
}

std::string render(std::string_view json_result, Format format) {
  json d;
  try {
    d = json::parse(json_result);
  } catch (const json::exception& e) {
    throw SetupError(fmt::format("not a JSON result: {}", e.what()), kExitError);
  }
  if (!d.is_object() || !d.contains("summary") || !d.contains("latency_us")) {
    throw SetupError("not a LoadSpiker or Kaioken JSON result (no summary or latency_us)",
                     kExitError);
  }
  switch (format) {
    case Format::kJson:
      return std::string(json_result);
    case Format::kCsv:
      return to_csv(d);
    case Format::kMarkdown:
      return to_markdown(d);
    case Format::kHtml:
      return to_html(d);
    case Format::kJunit:
      return to_junit(d);
    case Format::kHlog:
      return to_hlog(d);
    case Format::kSeriesCsv:
      return to_series_csv(d);
    case Format::kSeriesJsonl:
      return to_series_jsonl(d);
  }
  return {};
}

}  // namespace spiker::report
