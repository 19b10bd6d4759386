// A fixed-size array of int64 counters that starts zeroed without touching memory: large
// arrays are mapped from the kernel's zero pages, so a sparse histogram costs only the pages it
// uses, and creating one costs no memset.
#pragma once

#include <cstddef>
#include <cstdint>

namespace spiker::metrics {

class ZeroedCounts {
 public:
  ZeroedCounts() = default;
  explicit ZeroedCounts(size_t n);
  ZeroedCounts(const ZeroedCounts& other);
  ZeroedCounts& operator=(const ZeroedCounts& other);
  ZeroedCounts(ZeroedCounts&& other) noexcept;
  ZeroedCounts& operator=(ZeroedCounts&& other) noexcept;
  ~ZeroedCounts();

  size_t size() const noexcept { return size_; }
  int64_t& operator[](size_t i) noexcept { return data_[i]; }
  const int64_t& operator[](size_t i) const noexcept { return data_[i]; }
  int64_t* begin() noexcept { return data_; }
  int64_t* end() noexcept { return data_ + size_; }

 private:
  void release() noexcept;

  int64_t* data_ = nullptr;
  size_t size_ = 0;
  bool mapped_ = false;
};

}  // namespace spiker::metrics
