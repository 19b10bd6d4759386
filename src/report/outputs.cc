#include "report/outputs.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "core/error.h"
#include "core/json.h"
#include "live/live_view.h"
#include "metrics/histogram_codec.h"
#include "report/numbers.h"
#include "report/output_parts.h"

namespace spiker::report {
namespace detail {

double num(const json& doc, std::initializer_list<const char*> path, double fallback) {
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

}  // namespace detail

namespace {

using namespace detail;

std::string to_csv(const json& d) {
  std::string out = "metric,value\n";
  auto row = [&](std::string_view k, const std::string& v) {
    out += csv_field(k) + "," + csv_field(v) + "\n";
  };
  auto number = [](double v) { return format_plain(v); };
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
          fmt::format("{} {}", format_plain(t.value("actual", 0.0)),
                      t.value("passed", false) ? "pass" : "fail"));
    }
  }
  return out;
}

std::string to_markdown(const json& d) {
  auto count = [&](std::initializer_list<const char*> path) { return format_number(num(d, path)); };
  auto ms = [](double us) { return format_number(us / 1000.0, 3); };
  std::string out =
      fmt::format("# LoadSpiker result\n\n`{} {}` · {} · started {} · {} s\n\n",
                  str(d, {"metadata", "target", "method"}), str(d, {"metadata", "target", "url"}),
                  str(d, {"metadata", "load", "executor"}), str(d, {"metadata", "started_at"}),
                  count({"metadata", "duration_secs"}));
  out += "| requests | successful | failed | error rate | req/s | received |\n";
  out += "|---:|---:|---:|---:|---:|---:|\n";
  out += fmt::format("| {} | {} | {} | {} | {} | {} |\n\n", count({"summary", "total_requests"}),
                     count({"summary", "successful"}), count({"summary", "failed"}),
                     format_percent(num(d, {"summary", "error_rate"})),
                     format_number(num(d, {"summary", "requests_per_sec"}), 1),
                     live::format_bytes(num(d, {"summary", "bytes_received"})));
  out += "## Latency (ms)\n\n|";
  std::string rule = "|";
  std::string values = "|";
  for (const char* k : kLatencyKeys) {
    out += fmt::format(" {} |", k);
    rule += "---:|";
    values += fmt::format(" {} |", ms(num(d, {"latency_us", k})));
  }
  out += "\n" + rule + "\n" + values + "\n\n";
  if (d.contains("thresholds")) {
    out +=
        fmt::format("## Thresholds: {}\n\n| | metric | condition | actual |\n|---|---|---|---:|\n",
                    d["thresholds"].value("passed", true) ? "passed" : "**failed**");
    for (const json& t : d["thresholds"]["results"]) {
      out += fmt::format("| {} | {} | `{}` | {} |\n", t.value("passed", false) ? "✅" : "❌",
                         md_cell(t.value("metric", "")), md_cell(t.value("condition", "")),
                         format_in_unit(t.value("actual", 0.0), t.value("unit", "")));
    }
    out += "\n";
  }
  if (d.contains("checks")) {
    out +=
        fmt::format("## Checks: {} passed\n\n| | check | passed | total |\n|---|---|---:|---:|\n",
                    format_percent(num(d, {"checks", "overall_pass_rate"}, 1)));
    for (auto& [name, c] : d["checks"]["results"].items()) {
      double p = c.value("passed", 0.0), n = c.value("total", 0.0);
      out += fmt::format("| {} | {} | {} | {} |\n", p == n ? "✅" : "❌", md_cell(name),
                         format_number(p), format_number(n));
    }
    out += "\n";
  }
  if (d.contains("journeys") && d["journeys"].contains("steps")) {
    out +=
        "## Scenarios and steps\n\n| name | method | url | requests | failed | p95 ms |\n"
        "|---|---|---|---:|---:|---:|\n";
    for (const json& s : d["journeys"]["steps"]) {
      out += fmt::format(
          "| {} | {} | {} | {} | {} | {} |\n", md_cell(s.value("name", "")), s.value("method", ""),
          md_cell(s.value("url", "")), format_number(s.value("requests", 0.0)),
          format_number(s.value("failed", 0.0)),
          s.contains("latency_us") ? ms(num(s, {"latency_us", "p95"})) : std::string("—"));
    }
    out += "\n";
  }
  out += "## Status codes\n\n| status | count |\n|---|---:|\n";
  if (d.contains("status_codes")) {
    for (auto& [code, n] : d["status_codes"].items()) {
      out += fmt::format("| {} | {} |\n", code, format_number(n.get<double>()));
    }
  }
  if (d.contains("errors") && !d["errors"].empty()) {
    out += "\n## Errors\n\n| kind | count |\n|---|---:|\n";
    for (auto& [kind, n] : d["errors"].items()) {
      out += fmt::format("| {} | {} |\n", kind, format_number(n.get<double>()));
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
        c.failure = fmt::format("actual {} does not satisfy {}",
                                format_in_unit(t.value("actual", 0.0), t.value("unit", "")),
                                t.value("condition", ""));
      }
      cases.push_back(c);
    }
  }
  if (d.contains("checks")) {
    for (auto& [name, ch] : d["checks"]["results"].items()) {
      Case c{"check " + name, ""};
      double p = ch.value("passed", 0.0), n = ch.value("total", 0.0);
      if (p < n) {
        c.failure = fmt::format("{} of {} passed ({})", format_number(p), format_number(n),
                                format_percent(p / n));
      }
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
  // Untagged: service time (the JSON's latency_us); Tag=corrected: from the intended start
  // (coordinated-omission free); Tag=queue: intended start to sent.
  for (const json& p : d["timeline"]) {
    double length = p.value("partial_secs", 1.0);
    for (const auto& [key, tag] : {std::pair<const char*, const char*>{"latency_hist", ""},
                                   {"corrected_hist", "Tag=corrected,"},
                                   {"queue_hist", "Tag=queue,"}}) {
      std::string hist = p.value(key, "");
      if (hist.empty()) continue;
      metrics::Histogram h = metrics::decode_v2(metrics::base64_decode(hist));
      out += fmt::format("{}{:.3f},{:.3f},{:.3f},{}\n", tag, p.value("elapsed_secs", 0.0), length,
                         static_cast<double>(h.max()) / 1000.0, hist);
    }
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
  // Kaioken writes --format json (its default) whatever the name: so do we, and say so.
  std::fprintf(stderr,
               "note: -o %s: no known extension (.json, .csv, .md, .html, .xml, .hlog, "
               ".series.csv, .jsonl): written as JSON, Kaioken's default; --format chooses\n",
               std::string(path).c_str());
  return Format::kJson;
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
  try {  // read with checked access (core/json.h): what is missing is an error, not a crash
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
  } catch (const SetupError&) {
    throw;
  } catch (const std::exception& e) {
    throw SetupError(fmt::format("not a complete LoadSpiker or Kaioken result ({})", e.what()),
                     kExitError);
  }
  return {};
}

}  // namespace spiker::report
