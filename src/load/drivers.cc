#include "load/drivers.h"

#include <algorithm>

namespace spiker::load {

ArrivalStream::ArrivalStream(const ArrivalSchedule& schedule, const Stripe& stripe, int index,
                             int count, int64_t start_ns)
    : schedule_(&schedule), stripe_(&stripe), index_(index), count_(count), start_ns_(start_ns) {
  total_ = worker_share(stripe.count_below(schedule.total()), index, count);
  advance_to(0);
}

int64_t ArrivalStream::time_of(uint64_t j) const {
  uint64_t process_index = j * static_cast<uint64_t>(count_) + static_cast<uint64_t>(index_);
  int64_t t = schedule_->time_of(stripe_->global_index(process_index));
  return t < 0 ? -1 : start_ns_ + t;
}

void ArrivalStream::advance_to(uint64_t j) {
  next_ = j;
  next_ns_ = j < total_ ? time_of(j) : -1;
}

void ArrivalStream::take() { advance_to(next_ + 1); }

uint64_t ArrivalStream::due_by(int64_t t) const {
  // Arrival times grow with the index: the first one after `t`, by bisection.
  uint64_t lo = 0, hi = total_;
  while (lo < hi) {
    uint64_t mid = lo + (hi - lo) / 2;
    int64_t at = time_of(mid);
    if (at >= 0 && at <= t) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}

uint64_t ArrivalStream::skip_until(int64_t t) {
  if (next_ns_ < 0) return 0;
  uint64_t end = std::max(due_by(t), next_);
  uint64_t skipped = end - next_;
  advance_to(end);
  return skipped;
}

uint64_t VuTarget::at(int64_t t) const {
  uint64_t whole = schedule_->vus_at(t - start_ns_);
  return std::min(capacity_, worker_share(stripe_->count_below(whole), index_, count_, group_));
}

IterationBudget::IterationBudget(uint64_t total, const Stripe& stripe, int index, int count) {
  if (total == 0) return;
  limited_ = true;
  budget_ = worker_share(stripe.count_below(total), index, count);
}

}  // namespace spiker::load
