// Drivers and stop conditions of one worker, as types over an injected clock (plain integers of
// nanoseconds): the engine asks them what is due; tests ask them in virtual time.
//
// - ArrivalStream (open models): this worker's arrivals, in order. A worker takes every
//   count-th of its process's arrivals; the process its execution segment's share of the test's.
//   Arrivals that cannot start (no VU free under the cap) are counted as dropped in bulk, by
//   arithmetic on the schedule, never one by one: at every instant, arrivals due = started +
//   dropped.
// - VuTarget (closed models): how many of this worker's VUs run at time t.
// - IterationBudget (shared iterations): claimed exactly, never more than the worker's share.
#pragma once

#include <algorithm>
#include <cstdint>

#include "load/schedule.h"
#include "load/segment.h"

namespace spiker::load {

class ArrivalStream {
 public:
  ArrivalStream() = default;
  // `start_ns`: the schedule's zero on the worker's clock.
  ArrivalStream(const ArrivalSchedule& schedule, const Stripe& stripe, int index, int count,
                int64_t start_ns);
  // When the next arrival is due (absolute); -1 when none is left.
  int64_t next_ns() const { return next_ns_; }
  // Takes the next arrival (started).
  void take();
  // Passes every arrival due at or before `t` (absolute) without taking them: returns how many
  // (dropped). Logarithmic in the arrivals, whatever the rate.
  uint64_t skip_until(int64_t t);
  // Ends the stream (a shared iteration budget ran out): nothing more is due.
  void close() { next_ns_ = -1; }
  // This worker's arrivals due at or before `t` since the start.
  uint64_t due_by(int64_t t) const;
  uint64_t taken() const { return next_; }   // started + dropped so far
  uint64_t total() const { return total_; }  // this worker's arrivals in the whole schedule

 private:
  int64_t time_of(uint64_t j) const;  // absolute time of this worker's j-th arrival
  void advance_to(uint64_t j);

  const ArrivalSchedule* schedule_ = nullptr;
  const Stripe* stripe_ = nullptr;
  int index_ = 0, count_ = 1;
  int64_t start_ns_ = 0;
  uint64_t next_ = 0;  // the next arrival's local index
  uint64_t total_ = 0;
  int64_t next_ns_ = -1;
};

class VuTarget {
 public:
  VuTarget() = default;
  // `group`: VUs are shared among workers in whole groups of this many (worker_share).
  VuTarget(const VuSchedule& schedule, const Stripe& stripe, int index, int count, int64_t start_ns,
           uint64_t capacity, uint64_t group = 1)
      : schedule_(&schedule),
        stripe_(&stripe),
        index_(index),
        count_(count),
        start_ns_(start_ns),
        capacity_(capacity),
        group_(group) {}
  // This worker's VUs that should run at `t` (absolute).
  uint64_t at(int64_t t) const;
  bool ramping() const { return schedule_->ramping(); }

 private:
  const VuSchedule* schedule_ = nullptr;
  const Stripe* stripe_ = nullptr;
  int index_ = 0, count_ = 1;
  int64_t start_ns_ = 0;
  uint64_t capacity_ = 0;
  uint64_t group_ = 1;
};

class IterationBudget {
 public:
  IterationBudget() = default;  // no limit
  // This worker's share of `total` iterations of the whole test (0: no limit).
  IterationBudget(uint64_t total, const Stripe& stripe, int index, int count);
  // Up to `want` iterations; 0 once the budget is used up.
  uint64_t claim(uint64_t want) {
    if (!limited_) return want;
    uint64_t n = std::min(want, budget_ - std::min(claimed_, budget_));
    claimed_ += n;
    return n;
  }
  bool limited() const { return limited_; }
  bool exhausted() const { return limited_ && claimed_ >= budget_; }
  uint64_t budget() const { return budget_; }

 private:
  bool limited_ = false;
  uint64_t budget_ = 0;
  uint64_t claimed_ = 0;
};

}  // namespace spiker::load
