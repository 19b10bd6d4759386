#include "core/duration.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>

#include "core/error.h"

namespace spiker {
namespace {

// Nanoseconds per unit, or 0 when `unit` is not a duration unit.
double unit_ns(std::string_view unit) {
  if (unit == "ns") return 1;
  if (unit == "us" || unit == "\xC2\xB5s") return 1e3;
  if (unit == "ms") return 1e6;
  if (unit == "s") return 1e9;
  if (unit == "m") return 60e9;
  if (unit == "h") return 3600e9;
  if (unit == "d") return 86400e9;
  return 0;
}

[[noreturn]] void bad_duration(std::string_view text, std::string_view what) {
  throw SetupError(fmt::format(
      "{}: '{}' is not a duration; write a number with a unit, e.g. 500ms, 10s, 2m, 1h30m", what,
      text));
}

}  // namespace

std::chrono::nanoseconds parse_duration(std::string_view text, std::string_view what) {
  if (text.empty()) bad_duration(text, what);
  double total_ns = 0;
  size_t i = 0;
  bool any_unit = false;
  while (i < text.size()) {
    size_t start = i;
    while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.'))
      ++i;
    if (i == start) bad_duration(text, what);
    double number = 0;
    auto [end, ec] = std::from_chars(text.data() + start, text.data() + i, number);
    if (ec != std::errc() || end != text.data() + i) bad_duration(text, what);
    size_t unit_start = i;
    while (i < text.size() && !std::isdigit(static_cast<unsigned char>(text[i])) && text[i] != '.')
      ++i;
    std::string_view unit = text.substr(unit_start, i - unit_start);
    if (unit.empty()) {
      if (any_unit || i != text.size()) bad_duration(text, what);
      unit = "s";  // a bare number is seconds
    }
    double per = unit_ns(unit);
    if (per == 0) bad_duration(text, what);
    any_unit = true;
    total_ns += number * per;
  }
  if (!std::isfinite(total_ns) || total_ns > 9e18) bad_duration(text, what);
  return std::chrono::nanoseconds(static_cast<int64_t>(std::llround(total_ns)));
}

std::string format_duration(std::chrono::nanoseconds d) {
  int64_t ns = d.count();
  if (ns == 0) return "0s";
  if (ns % 1'000'000'000 != 0) {
    if (ns % 1'000'000 == 0) return fmt::format("{}ms", ns / 1'000'000);
    if (ns % 1'000 == 0) return fmt::format("{}us", ns / 1'000);
    return fmt::format("{}ns", ns);
  }
  int64_t s = ns / 1'000'000'000;
  std::string out;
  if (s >= 3600) out += fmt::format("{}h", s / 3600), s %= 3600;
  if (s >= 60) out += fmt::format("{}m", s / 60), s %= 60;
  if (s > 0) out += fmt::format("{}s", s);
  return out;
}

uint64_t parse_count(std::string_view text, std::string_view what) {
  uint64_t multiplier = 1;
  std::string_view digits = text;
  if (!digits.empty()) {
    char last = static_cast<char>(std::tolower(static_cast<unsigned char>(digits.back())));
    if (last == 'k') multiplier = 1000, digits.remove_suffix(1);
    if (last == 'm') multiplier = 1'000'000, digits.remove_suffix(1);
  }
  if (digits.empty() || digits.size() > 15) {
    throw SetupError(
        fmt::format("{}: '{}' is not a count; write e.g. 1000, 10k or 2m", what, text));
  }
  uint64_t value = 0;
  for (char c : digits) {
    if (!std::isdigit(static_cast<unsigned char>(c))) {
      throw SetupError(
          fmt::format("{}: '{}' is not a count; write e.g. 1000, 10k or 2m", what, text));
    }
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  return value * multiplier;
}

}  // namespace spiker
