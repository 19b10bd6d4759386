// The monotonic clock of the hot path, in nanoseconds since an arbitrary origin.
#pragma once

#include <time.h>

#include <cstdint>

namespace spiker {

// CLOCK_MONOTONIC through the vDSO: no system call.
inline int64_t mono_now_ns() noexcept {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

// A clock the engine can be given instead of the monotonic one: tests run workers in virtual
// time with a ManualClock.
class Clock {
 public:
  virtual int64_t now() const noexcept = 0;

 protected:
  ~Clock() = default;
};

class ManualClock final : public Clock {
 public:
  int64_t now() const noexcept override { return t_; }
  void set(int64_t t) noexcept { t_ = t; }
  void advance(int64_t d) noexcept { t_ += d; }

 private:
  int64_t t_ = 0;
};

}  // namespace spiker
