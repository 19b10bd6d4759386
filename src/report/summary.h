// The end-of-run summary table printed on the console.
#pragma once

#include <string>

#include "report/run_report.h"

namespace spiker::report {

std::string format_summary(const RunReport& report, bool color);

}  // namespace spiker::report
