#include "config/regex_sample.h"

#include <fmt/format.h>

#include <vector>

#include "config/env_interpolate.h"

namespace spiker::config {

// An alternation of sequences of (atom, min, max).
struct RegexSampler::Node {
  struct Piece {
    std::string chars;            // a set to draw one character from (atom = class or literal)
    std::unique_ptr<Node> group;  // or a group
    int min = 1, max = 1;
  };
  std::vector<std::vector<Piece>> alternatives;
};

namespace {

constexpr int kUnbounded = 8;
constexpr size_t kMaxSample = 8192;

class Parser {
 public:
  Parser(std::string_view p, std::string_view where) : p_(p), where_(where) {}

  std::unique_ptr<RegexSampler::Node> parse() {
    auto n = alternation();
    if (i_ < p_.size()) fail("unbalanced ')'");
    return n;
  }

 private:
  [[noreturn]] void fail(std::string_view why) const {
    throw ConfigError(
        fmt::format("{}: rand_regex_url '{}': {} at character {}; supported: "
                    "literals, \\d \\w \\s, [a-z0-9], ., (a|b), ? * + {{n,m}}",
                    where_, p_, why, i_ + 1));
  }

  std::unique_ptr<RegexSampler::Node> alternation() {
    auto n = std::make_unique<RegexSampler::Node>();
    n->alternatives.emplace_back();
    while (i_ < p_.size() && p_[i_] != ')') {
      char c = p_[i_];
      if (c == '|') {
        ++i_;
        n->alternatives.emplace_back();
        continue;
      }
      if (c == '^' || c == '$') {
        ++i_;
        continue;
      }
      RegexSampler::Node::Piece piece;
      if (c == '(') {
        ++i_;
        if (p_.substr(i_, 2) == "?:") i_ += 2;
        piece.group = alternation();
        if (i_ >= p_.size() || p_[i_] != ')') fail("'(' without ')'");
        ++i_;
      } else if (c == '[') {
        piece.chars = klass();
      } else if (c == '\\') {
        piece.chars = escape();
      } else if (c == '.') {  // a URL's dots: itself (use [a-z0-9] for a random character)
        ++i_;
        piece.chars = ".";
      } else if (c == '*' || c == '+' || c == '?' || c == '{') {
        fail("a quantifier with nothing before it");
      } else {
        ++i_;
        piece.chars = std::string(1, c);
      }
      quantifier(piece);
      n->alternatives.back().push_back(std::move(piece));
    }
    return n;
  }

  static constexpr std::string_view kDigits = "0123456789";
  static constexpr std::string_view kWord =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_";

  std::string escape() {
    ++i_;
    if (i_ >= p_.size()) fail("a trailing '\\'");
    char c = p_[i_++];
    if (c == 'd') return std::string(kDigits);
    if (c == 'w') return std::string(kWord);
    if (c == 's') return " ";
    if (c == 'D' || c == 'W' || c == 'S') fail("negated escapes are not supported");
    return std::string(1, c);
  }

  std::string klass() {
    ++i_;  // '['
    if (i_ < p_.size() && p_[i_] == '^') fail("negated classes are not supported");
    std::string set;
    while (i_ < p_.size() && p_[i_] != ']') {
      if (p_[i_] == '\\') {
        set += escape();
        continue;
      }
      char from = p_[i_++];
      if (i_ + 1 < p_.size() && p_[i_] == '-' && p_[i_ + 1] != ']') {
        char to = p_[i_ + 1];
        i_ += 2;
        if (to < from) fail("a range that goes backwards");
        for (int ch = from; ch <= to; ++ch) set += static_cast<char>(ch);
      } else {
        set += from;
      }
    }
    if (i_ >= p_.size()) fail("'[' without ']'");
    ++i_;
    if (set.empty()) fail("an empty class");
    return set;
  }

  void quantifier(RegexSampler::Node::Piece& piece) {
    if (i_ >= p_.size()) return;
    char c = p_[i_];
    if (c == '?') piece.min = 0, piece.max = 1;
    if (c == '*') piece.min = 0, piece.max = kUnbounded;
    if (c == '+') piece.min = 1, piece.max = kUnbounded;
    if (c == '?' || c == '*' || c == '+') {
      ++i_;
      return;
    }
    if (c != '{') return;
    size_t close = p_.find('}', i_);
    if (close == std::string_view::npos) fail("'{' without '}'");
    std::string_view body = p_.substr(i_ + 1, close - i_ - 1);
    size_t comma = body.find(',');
    auto number = [&](std::string_view t) {
      int v = 0;
      if (t.empty() || t.size() > 4) fail("a repeat count that is not a number up to 9999");
      for (char d : t) {
        if (d < '0' || d > '9') fail("a repeat count that is not a number");
        v = v * 10 + (d - '0');
      }
      return v;
    };
    piece.min = number(body.substr(0, comma));
    piece.max = comma == std::string_view::npos ? piece.min
                : comma + 1 == body.size()      ? piece.min + kUnbounded
                                                : number(body.substr(comma + 1));
    if (piece.max < piece.min) fail("{n,m} with m < n");
    i_ = close + 1;
  }

  std::string_view p_, where_;
  size_t i_ = 0;
};

void generate(const RegexSampler::Node& n, std::mt19937_64& rng, std::string& out) {
  const auto& alt = n.alternatives[rng() % n.alternatives.size()];
  for (const auto& piece : alt) {
    int times =
        piece.min + static_cast<int>(rng() % static_cast<uint64_t>(piece.max - piece.min + 1));
    for (int k = 0; k < times; ++k) {
      if (out.size() > kMaxSample) {
        throw ConfigError(fmt::format(
            "rand_regex_url: the expression makes URLs longer than {} bytes; bound its repeats",
            kMaxSample));
      }
      if (piece.group) {
        generate(*piece.group, rng, out);
      } else {
        out += piece.chars[rng() % piece.chars.size()];
      }
    }
  }
}

}  // namespace

RegexSampler::RegexSampler(std::string_view pattern, std::string_view where)
    : root_(Parser(pattern, where).parse()) {}
RegexSampler::~RegexSampler() = default;
RegexSampler::RegexSampler(RegexSampler&&) noexcept = default;

std::string RegexSampler::sample(std::mt19937_64& rng) const {
  std::string out;
  generate(*root_, rng, out);
  return out;
}

}  // namespace spiker::config
