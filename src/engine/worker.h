// A worker: one thread with its own epoll loop, VUs (connections), timers, read buffer and
// metric shard. Nothing is shared per request; the worker hands its shard to the controller on
// a tick. The load model (load::LoadPlan) decides when iterations start; the I/O half
// (worker_io.cc) runs each iteration's request.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <queue>
#include <random>
#include <vector>

#include "core/clock.h"
#include "core/event_loop.h"
#include "core/tls.h"
#include "engine/connection.h"
#include "engine/worker_config.h"
#include "load/drivers.h"
#include "load/load_plan.h"
#include "metrics/shard.h"
#include "proto/session.h"

namespace spiker::engine {

// A worker's metrics for one publish interval.
struct Sample {
  int64_t tick = 0;     // publish interval index since the run's start
  bool warmup = false;  // measured during the warmup: not reported
  std::unique_ptr<metrics::Shard> shard;
};

// How many VUs share one connection (HTTP/2: --max-streams; else 1). Workers take VUs in
// whole groups of this many, so that the run opens ceil(VUs / group) connections.
uint64_t vu_group(const WorkerConfig& config);

class Worker : private proto::SessionHost {
 public:
  // Worker `index` of `count`; `start_ns` is the run's start on the monotonic clock.
  // `clock`: the monotonic clock when null; tests give a ManualClock and call turn().
  Worker(const WorkerConfig& config, const load::LoadPlan& plan, int index, int count,
         int64_t start_ns, const Clock* clock = nullptr);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // The thread body: returns when stopped, aborted, or the plan is done.
  void run();
  // One turn of the loop at the clock's now: stop conditions, drivers, timers, deadlines,
  // publishing. Returns when it next wants to run (absolute), or -1 when the worker is done.
  // run() is open_loop(), then turn() and a wait for events until done; tests call turn()
  // themselves in virtual time.
  bool open_loop();
  int64_t turn();
  // The metrics being recorded now (tests; the controller takes published samples).
  const metrics::Shard& current_shard() const { return *shard_; }
  // Graceful stop: no new iterations; requests in flight finish or time out.
  void stop() { stop_.store(true, std::memory_order_relaxed); }
  // Immediate stop: requests in flight are dropped uncounted.
  void abort() { abort_.store(true, std::memory_order_relaxed); }
  bool finished() const { return finished_.load(std::memory_order_acquire); }
  // Samples published since the last call (controller thread).
  std::vector<Sample> take_samples();
  // Gives a merged sample's shard back for reuse (reset here, on the controller thread, so the
  // worker neither allocates nor clears 600 KB on its tick).
  void recycle(std::unique_ptr<metrics::Shard> shard);
  // Requests in flight, as of the last publish (for the stop message).
  uint64_t in_flight() const { return in_flight_published_.load(std::memory_order_relaxed); }

  // Timers of a VU (or lane).
  void on_timer(Connection& c, uint32_t generation) noexcept { timer_fired(c, generation); }

 private:
  // Load model (worker.cc).
  void loop();
  void close_all() noexcept;
  void begin_stop();
  void drive_closed(int64_t now_ns);
  void drive_open(int64_t now_ns);
  // A VU's (or lane's) timer: think time or pacing over, or a step's pause.
  void timer_fired(Connection& c, uint32_t generation) noexcept;
  void run_queued();
  bool done() const;
  int64_t next_wake(int64_t now_ns) const;
  void begin_iteration(Connection& c, int64_t intended_ns) noexcept;
  void end_iteration(Connection& c, int64_t now_ns, bool socket_ok) noexcept;
  // This turn has started iterations at once for kTurnBudgetNs (from the first of them): the
  // rest wait for the next.
  bool turn_spent() noexcept;
  void new_turn() noexcept;
  void deactivate(Connection& c) noexcept;
  void set_timer(Connection& c, int64_t due_ns) noexcept;
  uint16_t claim() noexcept;
  int64_t stop_point() const noexcept { return end_ns_ == INT64_MAX ? INT64_MAX : end_ns_ - 1; }
  void publish(int64_t tick);

  // One iteration's request (worker_io.cc).
  void start_request(Connection& c) noexcept;
  void close_socket(Connection& c) noexcept;
  void scan_deadlines(int64_t now_ns) noexcept;
  void render(Connection& c);
  // A plain run's render context for VU `c`: its number, iteration and the worker's RNG.
  void plain_context(const Connection& c, plan::RenderContext& ctx) noexcept;
  // The next ${REQUEST_ID} of this worker (unique across the process's workers).
  uint64_t next_request_id() noexcept {
    return request_seq_++ * static_cast<uint64_t>(count_) + static_cast<uint64_t>(index_) + 1;
  }

  // WebSocket steps (journey_ws.cc): ws.* on the VU's WebSocket lane, through its session.
  Connection& ws_lane(Connection& vu);
  void ws_step(Connection& vu, uint8_t index) noexcept;

  // Registered protocols (worker_session.cc): a VU's (or lane's) proto::Session, and the one
  // completion path of their Outcomes.
  void session_start(Connection& c) noexcept;
  void session_step(Connection& vu, uint8_t index) noexcept;
  void submit(Connection& c, const plan::ProtocolRequest& r, int64_t timeout_ns) noexcept;
  void submit(Connection& c, proto::Exchange& x, int64_t timeout_ns) noexcept;
  void ensure_session(Connection& c) noexcept {
    if (!c.session || c.session->origin != c.origin) make_session(c);
  }
  void make_session(Connection& c) noexcept;
  // The session `c`'s exchange goes to: its own, or its slot's shared one for its origin.
  proto::Session& session_for(Connection& c) noexcept;
  proto::Session* session_of(const Connection& c) const noexcept {
    return c.shared != nullptr ? c.shared : c.session.get();
  }
  void flush_sessions() noexcept;
  void retire(std::unique_ptr<proto::Session> s) noexcept;
  void release_idle_session(Connection& c) noexcept;
  // A journey's HTTP response: its cookies stored; true when a redirect is followed instead.
  bool after_http_response(Connection& lane, const plan::CapturedResponse& r) noexcept;
  std::string_view payload(Connection& c, const plan::ProtocolRequest& r) noexcept;
  void on_step_outcome(Connection& lane, const proto::Outcome& o) noexcept;
  void plain_outcome(Connection& c, const plan::Step& st, const proto::Outcome& o) noexcept;
  const plan::Step& step_of(const Connection& lane) const noexcept {
    return journey_->scenarios[lane.vu->journey->scenario].steps[lane.step];
  }
  void plain_exchange(Connection& c, const plan::Request& v) noexcept;
  int64_t now() const noexcept { return loop_.now(); }
  uint64_t random() noexcept override { return rng_(); }
  const SocketAddress& next_address(const proto::Endpoint& e) noexcept override {
    return (*e.addresses)[next_address_++ % e.addresses->size()];
  }
  void complete(proto::Session& s, const proto::Outcome& o) noexcept override;
  void defer_flush(proto::Session& s) noexcept override { flush_queue_.push_back(&s); }

  // Journeys (journey.cc): an iteration runs a scenario's steps, concurrently where the DAG
  // allows, each on a lane of the VU.
  void start_journey(Connection& vu) noexcept;
  bool pick_rows(Connection& vu, VuJourney& j, const plan::Scenario& sc) noexcept;
  void advance(Connection& vu) noexcept;
  bool condition_holds(const VuJourney& j, const plan::Step& st) const noexcept;
  void start_step(Connection& vu, uint8_t index) noexcept;
  Connection& idle_lane(Connection& vu, uint16_t origin);
  void render_step(Connection& lane);
  void journey_context(const Connection& lane, plan::RenderContext& ctx,
                       const std::string** rows) noexcept;
  bool judge_step(const plan::Step& st, const plan::CapturedResponse& r, bool parsed, int status,
                  VuJourney& j) noexcept;
  bool follow_redirect(Connection& lane, const plan::CapturedResponse& r) noexcept;
  void step_finished(Connection& lane, bool ok) noexcept;
  void complete_step(Connection& lane, bool ok) noexcept;
  void finish_journey(Connection& vu) noexcept;
  void stop_journey(Connection& vu) noexcept;
  uint64_t vu_number(const Connection& vu) const noexcept;
  const OriginConfig& origin_of(const Connection& c) const { return config_.origins[c.origin]; }

  WorkerConfig config_;
  const load::LoadPlan& plan_;
  int index_, count_;
  std::vector<std::string> wires_;  // each variant's request repeated `pipeline` times
  int64_t start_ns_;
  int64_t end_ns_;         // the schedule's end (INT64_MAX: none)
  int64_t warmup_end_ns_;  // 0 once past
  size_t next_address_ = 0;
  bool stopping_ = false;
  bool submitting_ = false;  // inside a session's submit()
  // However fast iterations complete, a turn that has run kTurnBudgetNs starts no more of them
  // at once: they queue for the next turn, and the loop sees its timers, signals and deadline.
  int64_t turn_started_ns_ = 0;  // 0: no iteration started at once yet this turn
  uint32_t turn_chained_ = 0;    // iterations begun at once this turn
  bool turn_spent_ = false;
  int64_t step_done_ns_ = 0;      // when the step ending now got its Outcome (0: now)
  bool exhausted_ = false;        // the shared iteration budget is used up
  load::IterationBudget budget_;  // this worker's share of shared iterations
  load::ArrivalStream arrivals_;  // open: this worker's arrivals
  load::VuTarget vu_target_;      // closed: this worker's VUs over time
  EventLoop loop_;                // epoll, timers and the clock
  std::vector<proto::SessionOptions> session_options_;             // per origin, for sessions
  std::vector<std::unique_ptr<proto::Session>> retired_sessions_;  // freed on the next turn
  int64_t next_scan_ = 0;
  int64_t scan_every_ = 0;
  std::vector<Connection> conns_;    // the VUs; never resized after construction
  size_t running_ = 0;               // closed: VUs taking part; open: VUs created
  size_t retire_ = 0;                // closed: VUs to retire at the end of their iteration
  size_t next_vu_ = 0;               // closed: next inactive VU to activate (they go in order)
  size_t in_request_ = 0;            // VUs with a request on its way
  std::vector<Connection*> free_;    // open: VUs waiting for an arrival
  std::vector<Connection*> queued_;  // to begin their iteration on the next turn
  std::vector<Connection*> starting_;
  std::mt19937_64 rng_;
  std::string batch_buf_;  // a pipelining protocol's batch of payloads
  std::vector<char> read_buf_;
  std::string body_buf_;
  TlsSessionCache tls_sessions_;  // the last ticket, so reconnects resume      // scratch for
                                  // rendering dynamic bodies
  uint64_t request_seq_ = 0;      // this worker's sends, for ${REQUEST_ID}
  std::unique_ptr<metrics::Shard> shard_;
  int64_t last_tick_ = 0;
  const plan::Journey* journey_ = nullptr;        // the run's journey, or plain_journey_
  std::unique_ptr<plan::Journey> plain_journey_;  // a plain run's requests as one-step scenarios
  std::vector<uint32_t> scenario_weight_upto_;
  std::vector<Connection*> lanes_;  // every extra lane of every VU (deadlines, in-flight count)
  std::unique_ptr<plan::ExtractScratch> extract_scratch_;
  plan::CapturedResponse captured_;
  // Shared sessions (HTTP/2): by slot (--max-streams VUs) * origins + origin, made when needed.
  std::vector<std::unique_ptr<proto::Session>> shared_;
  std::vector<proto::Session*> flush_queue_;  // sessions with output queued this turn

  std::atomic<bool> stop_{false};
  std::atomic<bool> abort_{false};
  std::atomic<bool> finished_{false};
  std::atomic<uint64_t> in_flight_published_{0};
  std::mutex mailbox_mutex_;
  std::vector<Sample> mailbox_;
  std::vector<std::unique_ptr<metrics::Shard>> spares_;
};

}  // namespace spiker::engine
