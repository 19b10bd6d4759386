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

}  // namespace spiker
