// A worker: one thread with its own epoll loop, connections, read buffer and metric shard.
// Nothing is shared per request; the worker hands its shard to the controller on a tick.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "engine/connection.h"
#include "engine/worker_config.h"
#include "metrics/shard.h"

namespace spiker::engine {

// A worker's metrics for one publish interval.
struct Sample {
  int64_t tick = 0;  // publish interval index since the run's start
  std::unique_ptr<metrics::Shard> shard;
};

class Worker {
 public:
  // `connections` sockets; `max_requests` requests in all (0: no limit); `start_ns` the run's
  // start on the monotonic clock (tick origin).
  Worker(const WorkerConfig& config, int connections, uint64_t max_requests, int64_t start_ns);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // The thread body: returns when stopped, aborted, or the request budget is used up.
  void run();
  // Graceful stop: no new requests; in-flight ones finish or time out.
  void stop() { stop_.store(true, std::memory_order_relaxed); }
  // Immediate stop: in-flight requests are dropped uncounted.
  void abort() { abort_.store(true, std::memory_order_relaxed); }
  bool finished() const { return finished_.load(std::memory_order_acquire); }
  // Samples published since the last call (controller thread).
  std::vector<Sample> take_samples();
  // Gives a merged sample's shard back for reuse (reset here, on the controller thread, so the
  // worker neither allocates nor clears 600 KB on its tick).
  void recycle(std::unique_ptr<metrics::Shard> shard);
  // Requests in flight right now, as of the last publish (for the stop message).
  uint64_t in_flight() const { return in_flight_published_.load(std::memory_order_relaxed); }

 private:
  void loop();
  void on_event(Connection& c, uint32_t events) noexcept;
  void start_cycle(Connection& c) noexcept;
  void connect(Connection& c) noexcept;
  void on_connected(Connection& c) noexcept;
  void handshake(Connection& c) noexcept;
  void start_write(Connection& c) noexcept;
  void write_some(Connection& c) noexcept;
  void read_some(Connection& c) noexcept;
  // Returns false when the connection was closed while handling the bytes.
  bool on_bytes(Connection& c, const char* data, size_t len) noexcept;
  void on_response(Connection& c, int64_t now_ns) noexcept;
  void on_eof(Connection& c) noexcept;
  void fail(Connection& c, metrics::ErrorKind kind) noexcept;
  void close(Connection& c) noexcept;
  void queue_restart(Connection& c) noexcept;
  void account_tls(Connection& c) noexcept;
  uint16_t claim() noexcept;
  void scan_deadlines(int64_t now_ns) noexcept;
  void publish(int64_t tick);
  bool busy() const noexcept;

  WorkerConfig config_;
  std::string wire_;  // the request repeated `pipeline` times
  size_t request_len_;
  uint64_t max_requests_;
  uint64_t claimed_ = 0;
  int64_t start_ns_;
  int epoll_fd_ = -1;
  size_t next_address_ = 0;
  bool stopping_ = false;
  std::vector<Connection> conns_;
  std::vector<Connection*> restart_;     // to (re)start on the next loop turn
  std::vector<Connection*> restarting_;  // the ones being started this turn
  size_t active_ = 0;                    // connections with an open socket
  std::vector<char> read_buf_;
  std::unique_ptr<metrics::Shard> shard_;
  int64_t last_tick_ = 0;

  std::atomic<bool> stop_{false};
  std::atomic<bool> abort_{false};
  std::atomic<bool> finished_{false};
  std::atomic<uint64_t> in_flight_published_{0};
  std::mutex mailbox_mutex_;
  std::vector<Sample> mailbox_;
  std::vector<std::unique_ptr<metrics::Shard>> spares_;
};

}  // namespace spiker::engine
