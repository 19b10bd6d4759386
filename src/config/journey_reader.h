// The journey half of a config file: [defaults], [data.NAME], [extraction] and [[scenarios]]
// with steps, extraction, checks and dependencies, compiled into a plan::Journey.
#pragma once

#include <memory>
#include <string>

#include "config/config_file.h"
#include "config/section.h"
#include "plan/journey.h"

namespace spiker::config {

// True when the file uses what only journeys run: steps, extract, depends_on, weight = 0,
// checks or think time on a scenario, [extraction], [defaults], [data.*], cookie_jar or
// follow_redirects.
bool uses_journeys(const toml::table& root);

// Reads those sections (marking their keys known in `top`) and compiles the journey. Throws
// ConfigError naming file:line:column.
std::shared_ptr<plan::Journey> read_journey(const toml::table& root, Section& top,
                                            const TargetSection& target, const std::string& path);

}  // namespace spiker::config
