// Execution segments (as k6 defines them): a rational slice [from, to) of the whole test. A
// process runs only its segment's share of the VUs, arrivals and iterations; the shares of a
// sequence of segments that tile [0, 1] add up exactly to the whole, with no coordinator.
//
// Indices (of VUs, arrivals, iterations) are striped: over every block of L consecutive
// indices (L = the least common denominator of the sequence), each segment owns its size times
// L of them, spread by smooth weighted round robin so that segments interleave.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string_view>
#include <vector>

#include "load/rational.h"

namespace spiker::load {

class Stripe {
 public:
  // The whole test.
  Stripe() : Stripe({Rational{0, 1}, Rational{1, 1}}, 0) {}
  // `points` is the sequence 0 = p0 < p1 < ... < pn = 1; this instance owns [p_i, p_i+1).
  Stripe(std::vector<Rational> points, size_t index);
  // From --segment "a:b" (e.g. "1/3:2/3") and --segment-sequence "0,1/3,2/3,1" (may be empty:
  // then the sequence is 0, a, b, 1). Throws SetupError on bad input.
  static Stripe parse(std::string_view segment, std::string_view sequence);

  bool owns(uint64_t k) const;
  // How many of the indices [0, n) this segment owns.
  uint64_t count_below(uint64_t n) const;
  // The j-th (0-based) index this segment owns.
  uint64_t global_index(uint64_t j) const;
  bool whole() const { return owned_.size() == period_; }
  Rational from() const { return from_; }
  Rational to() const { return to_; }

 private:
  uint64_t period_ = 1;          // L
  std::vector<uint32_t> owned_;  // the positions in [0, L) this segment owns, ascending
  Rational from_, to_;
};

// Worker `w` of `n` (threads inside one process) takes every n-th of the process's indices.
inline uint64_t worker_share(uint64_t total, int w, int n) {
  auto un = static_cast<uint64_t>(n);
  return total / un + (static_cast<uint64_t>(w) < total % un ? 1 : 0);
}

// The same, in whole groups of `group` (HTTP/2: the VUs sharing one connection), so that the
// workers together open ceil(total / group) connections: worker w takes its share of the
// groups, the last group possibly short.
inline uint64_t worker_share(uint64_t total, int w, int n, uint64_t group) {
  if (group <= 1) return worker_share(total, w, n);
  uint64_t groups = (total + group - 1) / group;
  auto un = static_cast<uint64_t>(n), uw = static_cast<uint64_t>(w);
  uint64_t first = uw * (groups / un) + std::min(uw, groups % un);  // its first group
  uint64_t mine = worker_share(groups, w, n) * group, before = first * group;
  return before >= total ? 0 : std::min(mine, total - before);
}

}  // namespace spiker::load
