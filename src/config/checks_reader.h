// Kaioken's [[checks]] section: entries compiled into checks and attached to the steps in
// their scope; the steps' own checks are numbered alongside.
#pragma once

#include <string>

#include "config/section.h"
#include "plan/journey.h"

namespace spiker::config {

// Numbers every check of `j` (Journey::check_names) and attaches [[checks]] entries of `top`.
// Throws ConfigError naming file:line:column.
void attach_checks(Section& top, plan::Journey& j, const std::string& path);

}  // namespace spiker::config
