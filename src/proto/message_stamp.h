// End-to-end latency for messaging protocols (MQTT, AMQP): a publisher puts a stamp before the
// message (a magic, the wall-clock send time, its publisher id, a sequence number); whoever
// receives a stamped message records publish-to-receive latency and counts what went missing
// or came out of order per publisher.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace spiker::metrics {
struct Shard;
}

namespace spiker::proto {

// Where a protocol counts what stamps tell (handles of its stat block: StatBlock::counter(i),
// StatBlock::histogram(i)).
struct StampStats {
  uint32_t timed = 0;         // messages that carried a stamp
  uint32_t lost = 0;          // sequence numbers skipped
  uint32_t out_of_order = 0;  // late ones
  uint32_t latency = 0;       // histogram: publish to receive, microseconds
};

inline constexpr size_t kStampSize = 20;

int64_t wall_ns() noexcept;

// Appends a stamp for message `seq` of `publisher`.
void put_stamp(std::string& out, uint32_t publisher, uint32_t seq);

// What one receiver has seen of each publisher's sequence.
class StampReader {
 public:
  struct Seen {
    int64_t latency_us = 0;  // publish to now (wall clock)
    uint64_t lost = 0;       // sequence numbers skipped (messages that never came)
    bool out_of_order = false;
  };
  // When `payload` starts with a stamp: strips it and says what it tells; false otherwise.
  // `lane` keeps sequences apart where order holds only within one (a Kafka partition).
  bool read(std::string_view* payload, Seen* seen, uint32_t lane = 0);
  // The same, counted into `shard` at `stats`.
  bool take(std::string_view* payload, metrics::Shard& shard, const StampStats& stats);

 private:
  std::vector<std::pair<uint64_t, uint32_t>> next_seq_;  // publisher and lane -> next sequence
};

}  // namespace spiker::proto
