#include "report/numbers.h"

#include <fmt/format.h>

#include <cmath>

#include "live/live_view.h"

namespace spiker::report {

std::string format_number(double v, int decimals) {
  if (!std::isfinite(v)) return v > 0 ? "inf" : (v < 0 ? "-inf" : "nan");
  double a = std::fabs(v);
  if (a >= 1e15 || (a == std::floor(a) && a < 1e15)) {
    std::string s = live::format_count(static_cast<uint64_t>(std::llround(a)));
    return v < 0 ? "-" + s : s;
  }
  std::string s;
  if (a >= 1) {
    s = fmt::format("{:.{}f}", v, decimals);
  } else {
    // Three significant digits below 1: 0.0967312 -> 0.0967, 0.5 -> 0.5.
    int places = std::min(12, 3 - static_cast<int>(std::floor(std::log10(a))) - 1);
    s = fmt::format("{:.{}f}", v, std::max(places, decimals));
  }
  if (s.find('.') != std::string::npos) {
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
  }
  // Thousands separators on the integer part.
  size_t dot = s.find('.');
  size_t int_end = dot == std::string::npos ? s.size() : dot;
  size_t int_begin = s[0] == '-' ? 1 : 0;
  std::string out = s.substr(0, int_begin);
  for (size_t i = int_begin; i < int_end; ++i) {
    if (i > int_begin && (int_end - i) % 3 == 0) out += ',';
    out += s[i];
  }
  return out + s.substr(int_end);
}

std::string format_plain(double v) {
  if (!std::isfinite(v)) return "0";
  if (v == std::floor(v) && std::fabs(v) < 9e15) return fmt::format("{:.0f}", v);
  double a = std::fabs(v);
  int places = a >= 1 ? std::max(0, 6 - 1 - static_cast<int>(std::floor(std::log10(a))))
                      : std::min(15, 6 - static_cast<int>(std::floor(std::log10(a))) - 1);
  std::string s = fmt::format("{:.{}f}", v, places);
  if (s.find('.') != std::string::npos) {
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
  }
  return s;
}

std::string format_percent(double rate) {
  double p = rate * 100;
  if (p == 0 || p == 100) return fmt::format("{:.0f}%", p);
  if (p >= 10) return format_number(std::round(p * 10) / 10, 1) + "%";
  return format_number(p, 2) + "%";
}

std::string plural(uint64_t n, std::string_view one, std::string_view many) {
  std::string word = n == 1         ? std::string(one)
                     : many.empty() ? std::string(one) + "s"
                                    : std::string(many);
  return live::format_count(n) + " " + word;
}

std::string format_in_unit(double v, std::string_view unit) {
  if (unit == "ms") return format_number(v) + " ms";
  if (unit == "rate") return format_number(v) + " (" + format_percent(v) + ")";
  if (unit == "/s") return format_number(v, 1) + "/s";
  return format_number(v);
}

}  // namespace spiker::report
