// How every output writes numbers people read: no exponents, units named, "1 VU" and "2 VUs".
// (Counts, bytes and microseconds come from live/live_view.h, shared with the live view.)
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace spiker::report {

// 3700440 -> "3,700,440"; 0.0967312 -> "0.0967"; 12.5 -> "12.5": three significant digits
// below 1, at most `decimals` places above; trailing zeros dropped; never an exponent.
std::string format_number(double v, int decimals = 2);
// For machine-read outputs (CSV): integers whole, others to 6 significant digits; no exponent,
// no separators: 3700440 -> "3700440", 0.0967312 -> "0.0967312".
std::string format_plain(double v);
// A 0..1 rate as a percentage: 1 -> "100%", 0.5673 -> "56.7%", 0.0004 -> "0.04%".
std::string format_percent(double rate);
// "1 VU", "2 VUs", "1,000 requests".
std::string plural(uint64_t n, std::string_view one, std::string_view many = {});
// A threshold's actual value in its unit: "ms" -> "123.4 ms", "rate" -> "0.0123 (1.23%)",
// "/s" -> "200.5/s", "count" -> "1,234".
std::string format_in_unit(double v, std::string_view unit);

}  // namespace spiker::report
