#include "proto/message_stamp.h"

#include <algorithm>
#include <cstring>
#include <ctime>

#include "metrics/shard.h"

namespace spiker::proto {
namespace {
constexpr char kMagic[4] = {'L', 'S', 'E', '2'};
constexpr size_t kMaxPublishers = 4096;  // tracked per receiver
}  // namespace

int64_t wall_ns() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

void put_stamp(std::string& out, uint32_t publisher, uint32_t seq) {
  char stamp[kStampSize];
  std::memcpy(stamp, kMagic, 4);
  int64_t t = wall_ns();
  std::memcpy(stamp + 4, &t, 8);
  std::memcpy(stamp + 12, &publisher, 4);
  std::memcpy(stamp + 16, &seq, 4);
  out.append(stamp, kStampSize);
}

bool StampReader::read(std::string_view* payload, Seen* seen, uint32_t lane) {
  if (payload->size() < kStampSize || std::memcmp(payload->data(), kMagic, 4) != 0) return false;
  int64_t sent = 0;
  uint32_t publisher = 0, seq = 0;
  std::memcpy(&sent, payload->data() + 4, 8);
  std::memcpy(&publisher, payload->data() + 12, 4);
  std::memcpy(&seq, payload->data() + 16, 4);
  payload->remove_prefix(kStampSize);
  *seen = Seen{};
  seen->latency_us = std::max<int64_t>((wall_ns() - sent) / 1000, 0);
  uint64_t key = static_cast<uint64_t>(publisher) << 32 | lane;
  auto it = std::find_if(next_seq_.begin(), next_seq_.end(),
                         [&](const auto& p) { return p.first == key; });
  if (it == next_seq_.end()) {
    if (next_seq_.size() < kMaxPublishers) next_seq_.emplace_back(key, seq + 1);
    return true;
  }
  if (seq == it->second) {
    ++it->second;
  } else if (seq > it->second) {
    seen->lost = seq - it->second;
    it->second = seq + 1;
  } else {
    seen->out_of_order = true;  // late: counted lost when its gap was seen
  }
  return true;
}

bool StampReader::take(std::string_view* payload, metrics::Shard& shard, const StampStats& stats) {
  Seen seen;
  if (!read(payload, &seen)) return false;
  shard.add(stats.timed);
  shard.block_histogram(stats.latency).record(seen.latency_us);
  if (seen.lost > 0) shard.add(stats.lost, seen.lost);
  if (seen.out_of_order) shard.add(stats.out_of_order);
  return true;
}

}  // namespace spiker::proto
