// A grid under load: every VU runs the grid as its iteration. The grid compiles to the journey
// plan (a TOML document in the journey file's shape, read by the config front end like any
// file): each step instance a journey step, references to other steps' outputs as extracted
// variables, `check` conditions as checks, the `loadspiker { }` block as [load].
#pragma once

#include <string>

#include "grid/grid.h"

namespace spiker::grid {

// Throws SetupError naming what cannot run under load (cmd and print steps, references into
// counted groups, dynamic counts, checks the engine's conditions cannot say).
std::string to_journey_toml(const Grid& g);

}  // namespace spiker::grid
