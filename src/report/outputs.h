// End-of-run outputs besides the JSON result, all written from the JSON result itself, so a
// saved result renders the same way later (`loadspiker report`): CSV and Markdown summaries,
// JUnit XML (a test case per threshold and per check), an HdrHistogram interval log (.hlog) of
// latency per second, per-second time series (CSV or JSON lines) and a self-contained HTML page.
#pragma once

#include <string>
#include <string_view>

namespace spiker::report {

enum class Format { kJson, kCsv, kMarkdown, kHtml, kJunit, kHlog, kSeriesCsv, kSeriesJsonl };

// The format named by `forced` (--format), else by the file's extension: .json .csv .md .html
// .xml (JUnit) .hlog .series.csv .jsonl. Throws SetupError for anything else.
Format format_for(std::string_view path, std::string_view forced);

// Renders `json_result` (the JSON result's text) in `format`. Throws SetupError when the text is
// not a LoadSpiker or Kaioken result.
std::string render(std::string_view json_result, Format format);

}  // namespace spiker::report
