// Human durations as Kaioken and k6 write them: "500ms", "10s", "2m", "1h30m", "1.5s".
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace spiker {

// Parses a duration. Units: ns, us (or µs), ms, s, m, h, d; several may follow each other
// ("1h30m"). A bare number means seconds (as wrk reads it). Throws SetupError naming `what`
// (e.g. "--duration") when the text is not a duration.
std::chrono::nanoseconds parse_duration(std::string_view text, std::string_view what);

// "1h30m", "10s", "250ms": the shortest exact form.
std::string format_duration(std::chrono::nanoseconds d);

// Parses a count with an optional k/m suffix ("1000", "10k", "2m" = 2,000,000).
uint64_t parse_count(std::string_view text, std::string_view what);

}  // namespace spiker
