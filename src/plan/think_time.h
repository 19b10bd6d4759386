// Think time between a VU's iterations: fixed ("1s"), uniform ("1s..3s") or exponential with a
// mean ("exp:1s"). A timer, never a sleep.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <string_view>

namespace spiker::plan {

class ThinkTime {
 public:
  enum class Kind { kNone, kFixed, kUniform, kExponential };

  ThinkTime() = default;
  // Throws SetupError naming `where`.
  static ThinkTime parse(std::string_view text, std::string_view where = "--think-time");

  bool none() const { return kind_ == Kind::kNone; }
  Kind kind() const { return kind_; }
  int64_t mean_ns() const;
  // One pause, in nanoseconds.
  int64_t sample(std::mt19937_64& rng) const;
  std::string to_string() const;

 private:
  Kind kind_ = Kind::kNone;
  int64_t a_ns_ = 0;  // fixed value, uniform low end, or exponential mean
  int64_t b_ns_ = 0;  // uniform high end
};

}  // namespace spiker::plan
