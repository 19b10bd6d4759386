// The JSON result: Kaioken's schema (shared/reference/kaioken.md) plus LoadSpiker's extra fields.
#pragma once

#include <string>

#include "report/run_report.h"

namespace spiker::report {

// The tool's version, as written in metadata.version.
inline constexpr const char* kVersion = "0.1.0";

// Pretty-printed JSON with secrets redacted.
std::string to_json(const RunReport& report);

// "2026-11-22T21:50:02.123Z"
std::string rfc3339(int64_t unix_ms);

}  // namespace spiker::report
