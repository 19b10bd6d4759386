// Environment variables in config files, as Kaioken substitutes them when a file is loaded:
// `${VAR}` and `${VAR:-default}` for names with an upper-case letter. All-lower-case names
// (`${token}`) are runtime variables and built-ins (`${REQUEST_ID}`, `${TIMESTAMP_MS}`, ...) are
// filled per request: both are left in place.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.h"

namespace spiker::config {

// A mistake in a config file: exit code 1, as for any bad configuration (a bad flag is 2).
struct ConfigError : SetupError {
  explicit ConfigError(const std::string& message) : SetupError(message, kExitError) {}
};

using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

// The process environment.
std::optional<std::string> process_env(const std::string& name);

// Substitutes environment variables in `text` (a file's contents). Throws SetupError naming
// `file`, the line and the variable when one is unset and has no default.
std::string interpolate_env(std::string_view text, std::string_view file,
                            const EnvLookup& lookup = process_env);

// True for the built-in runtime variables (REQUEST_ID, TIMESTAMP_MS, VU_ID, ITERATION, UUID,
// RANDOM_INT:a:b, RANDOM_STRING:n).
bool is_builtin_variable(std::string_view name);

}  // namespace spiker::config
