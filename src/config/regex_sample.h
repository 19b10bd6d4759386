// Strings drawn at random from a regular expression (Kaioken's --rand-regex-url): literals,
// escapes (\d \w \s \. ...), classes [a-z0-9_-], groups with `|`, and the quantifiers
// ? * + {n} {n,} {n,m} (unbounded ones stop at 8 repeats). ^ and $ are ignored, and `.` stands
// for itself: in a URL pattern it is a host's or a file's dot.
#pragma once

#include <memory>
#include <random>
#include <string>
#include <string_view>

namespace spiker::config {

class RegexSampler {
 public:
  // Throws ConfigError naming `where` for what it cannot generate.
  RegexSampler(std::string_view pattern, std::string_view where);
  ~RegexSampler();
  RegexSampler(RegexSampler&&) noexcept;
  std::string sample(std::mt19937_64& rng) const;

  struct Node;

 private:
  std::unique_ptr<Node> root_;
};

}  // namespace spiker::config
