#include "load/rational.h"

#include <fmt/format.h>

#include <charconv>
#include <numeric>

#include "core/error.h"

namespace spiker::load {
namespace {

[[noreturn]] void bad(std::string_view text, std::string_view what) {
  throw SetupError(fmt::format(
      "{}: '{}' is not a fraction from 0 to 1; write e.g. 1/3, 0.25 or 25%", what, text));
}

int64_t parse_int(std::string_view s, std::string_view text, std::string_view what) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size() || v < 0 || v > 1'000'000'000) {
    bad(text, what);
  }
  return v;
}

}  // namespace

Rational Rational::make(int64_t num, int64_t den) {
  int64_t g = std::gcd(num, den);
  if (g == 0) g = 1;
  return {num / g, den / g};
}

bool Rational::operator<(const Rational& o) const {
  return static_cast<__int128>(num) * o.den < static_cast<__int128>(o.num) * den;
}

std::string Rational::to_string() const {
  return den == 1 ? std::to_string(num) : fmt::format("{}/{}", num, den);
}

Rational parse_rational(std::string_view text, std::string_view what) {
  Rational r;
  if (text.ends_with("%")) {
    r = Rational::make(parse_int(text.substr(0, text.size() - 1), text, what), 100);
  } else if (size_t slash = text.find('/'); slash != std::string_view::npos) {
    int64_t den = parse_int(text.substr(slash + 1), text, what);
    if (den == 0) bad(text, what);
    r = Rational::make(parse_int(text.substr(0, slash), text, what), den);
  } else if (size_t dot = text.find('.'); dot != std::string_view::npos) {
    std::string_view frac = text.substr(dot + 1);
    if (frac.size() > 9) bad(text, what);
    int64_t den = 1;
    for (size_t i = 0; i < frac.size(); ++i) den *= 10;
    int64_t whole = dot == 0 ? 0 : parse_int(text.substr(0, dot), text, what);
    r = Rational::make(whole * den + (frac.empty() ? 0 : parse_int(frac, text, what)), den);
  } else {
    r = Rational::make(parse_int(text, text, what), 1);
  }
  if (Rational{1, 1} < r) bad(text, what);
  return r;
}

}  // namespace spiker::load
