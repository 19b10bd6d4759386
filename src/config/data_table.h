// Data files for [data.NAME]: CSV with a header row, or a JSON array of objects.
#pragma once

#include <string>

#include "plan/journey.h"

namespace spiker::config {

// Fills `t.columns` and `t.cells` from `path`; throws ConfigError naming `where`.
void load_data_table(plan::DataTable& t, const std::string& path, const std::string& where);

}  // namespace spiker::config
