#include "metrics/zeroed_counts.h"

#include <sys/mman.h>

#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>

namespace spiker::metrics {
namespace {

constexpr size_t kMapAtBytes = 64 * 1024;

}  // namespace

ZeroedCounts::ZeroedCounts(size_t n) : size_(n) {
  size_t bytes = n * sizeof(int64_t);
  if (bytes >= kMapAtBytes) {
    void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    data_ = static_cast<int64_t*>(p);
    mapped_ = true;
  } else {
    data_ = static_cast<int64_t*>(std::calloc(n == 0 ? 1 : n, sizeof(int64_t)));
    if (data_ == nullptr) throw std::bad_alloc();
  }
}

ZeroedCounts::ZeroedCounts(const ZeroedCounts& other) : ZeroedCounts(other.size_) {
  if (size_ > 0) std::memcpy(data_, other.data_, size_ * sizeof(int64_t));
}

ZeroedCounts& ZeroedCounts::operator=(const ZeroedCounts& other) {
  if (this != &other) *this = ZeroedCounts(other);
  return *this;
}

ZeroedCounts::ZeroedCounts(ZeroedCounts&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      mapped_(std::exchange(other.mapped_, false)) {}

ZeroedCounts& ZeroedCounts::operator=(ZeroedCounts&& other) noexcept {
  if (this != &other) {
    release();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    mapped_ = std::exchange(other.mapped_, false);
  }
  return *this;
}

ZeroedCounts::~ZeroedCounts() { release(); }

void ZeroedCounts::release() noexcept {
  if (data_ == nullptr) return;
  if (mapped_) {
    munmap(data_, size_ * sizeof(int64_t));
  } else {
    std::free(data_);
  }
  data_ = nullptr;
}

}  // namespace spiker::metrics
