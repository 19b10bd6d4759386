// What the grid's files share: the built-in manifests and helpers for messages.
#pragma once

#include <string>

#include "grid/grid.h"

namespace spiker::grid {

// The built-in runners' and assets' manifests (HCL text).
std::string builtin_manifests();
// Whether this build runs `runner` (a manifest may declare one it has no code for).
bool implemented(const std::string& runner, bool asset);

// "file:line:col" of a position.
inline std::string where(const hcl::Source& src, hcl::Pos p) {
  return src.name + ":" + std::to_string(p.line) + ":" + std::to_string(p.col);
}

// A duration input ("45s", "500ms") in nanoseconds; throws SetupError naming `what`.
int64_t duration_ns(const std::string& text, const std::string& what);

}  // namespace spiker::grid
