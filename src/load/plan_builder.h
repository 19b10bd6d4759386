// Turns what a user asked for (flags, or a config file's [load] table) into a LoadPlan, with
// the executor chosen from the options given and every conflict reported by name.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "load/load_plan.h"
#include "plan/load_model.h"

namespace spiker::load {

using LoadSpec = plan::LoadModel;

// Throws SetupError naming the flags in conflict.
LoadPlan build_plan(const LoadSpec& spec);

}  // namespace spiker::load
