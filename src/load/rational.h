// Exact fractions for execution segments: "1/3", "0.25", "25%", "1".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace spiker::load {

struct Rational {
  int64_t num = 0;
  int64_t den = 1;  // > 0, and gcd(num, den) == 1

  static Rational make(int64_t num, int64_t den);
  bool operator==(const Rational& o) const { return num == o.num && den == o.den; }
  bool operator<(const Rational& o) const;
  bool operator<=(const Rational& o) const { return !(o < *this); }
  std::string to_string() const;
};

// Parses a fraction in [0, 1]; throws SetupError naming `what` otherwise.
Rational parse_rational(std::string_view text, std::string_view what);

}  // namespace spiker::load
