// The worker's load-model half: which VUs run, when iterations start, the loop itself.
#include "engine/worker.h"

#include <sys/epoll.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <ctime>
#include <utility>

#include "core/clock.h"

namespace spiker::engine {
namespace {

constexpr size_t kReadBufferSize = 64 * 1024;
// How often a ramping VU count is re-read.
constexpr int64_t kRampCheckNs = 1'000'000;
// The longest a turn starts iterations at once before it returns to the loop.
constexpr int64_t kTurnBudgetNs = 2'000'000;

size_t capacity(const load::LoadPlan& plan, int index, int count, uint64_t group) {
  uint64_t whole = plan.model == load::Model::kClosed ? plan.vus->max_vus() : plan.max_vus;
  return load::worker_share(plan.stripe.count_below(whole), index, count, group);
}

}  // namespace

uint64_t vu_group(const WorkerConfig& config) {
  bool h2 = std::any_of(config.origins.begin(), config.origins.end(),
                        [](const OriginConfig& o) { return o.h2; });
  return h2 ? static_cast<uint64_t>(std::max(config.max_streams, 1)) : 1;
}

Worker::Worker(const WorkerConfig& config, const load::LoadPlan& plan, int index, int count,
               int64_t start_ns, const Clock* clock)
    : config_(config),
      plan_(plan),
      index_(index),
      count_(count),
      start_ns_(start_ns),
      end_ns_(plan.duration_ns > 0 ? start_ns + plan.duration_ns : INT64_MAX),
      warmup_end_ns_(plan.warmup_ns > 0 ? start_ns + plan.warmup_ns : 0),
      loop_(clock),
      conns_(capacity(plan, index, count, vu_group(config))),
      rng_(0x5eed0000u + static_cast<uint64_t>(index)),
      read_buf_(kReadBufferSize),
      shard_(std::make_unique<metrics::Shard>()) {
  config_.pipeline = std::clamp(config_.pipeline, 1, 1024);
  for (const RequestVariant& v : *config_.requests) {
    std::string wire;
    for (int i = 0; i < config_.pipeline; ++i) wire += v.wire;
    wires_.push_back(std::move(wire));
  }
  if (config_.journey) {
    journey_ = config_.journey.get();
    config_.pipeline = 1;
  } else {  // a plain run: one engine path, its requests as one-step scenarios
    plain_journey_ = plan::one_step_journey(*config_.requests);
    journey_ = plain_journey_.get();
  }
  uint32_t w = 0;
  for (const plan::Scenario& sc : journey_->scenarios)
    scenario_weight_upto_.push_back(w += sc.weight);
  extract_scratch_ = std::make_unique<plan::ExtractScratch>();
  config_.max_streams = std::max(config_.max_streams, 1);
  bool any_h2 = false;
  for (const OriginConfig& o : config_.origins) any_h2 = any_h2 || o.h2;
  if (any_h2) config_.pipeline = 1;  // streams, not pipelining
  for (Connection& c : conns_) c.worker = this;
  queued_.reserve(conns_.size());
  starting_.reserve(conns_.size());
  free_.reserve(conns_.size());
  budget_ = load::IterationBudget(plan.shared_iterations, plan.stripe, index, count);
  exhausted_ = budget_.limited() && budget_.budget() == 0;
  if (plan.model == load::Model::kClosed) {
    vu_target_ = load::VuTarget(*plan.vus, plan.stripe, index, count, start_ns, conns_.size(),
                                vu_group(config_));
    // Inactive VUs wait in free_, the lowest index on top, so VUs start in order.
    for (size_t i = conns_.size(); i-- > 0;) free_.push_back(&conns_[i]);
  } else {
    arrivals_ = load::ArrivalStream(*plan.arrivals, plan.stripe, index, count, start_ns);
  }
  host_loop_ = &loop_;  // what sessions read of the worker
  host_shard_ = &shard_;
  host_read_buffer_ = &read_buf_;
  for (const OriginConfig& o : config_.origins) {
    proto::SessionOptions so;
    so.endpoint.addresses = &o.addresses;
    so.endpoint.host = o.host;
    so.endpoint.tls = o.tls;
    so.endpoint.scheme = o.scheme;
    so.endpoint.tunnel = o.tunnel.get();
    so.keep_alive = config_.keep_alive;
    so.connect_timeout_ns = config_.connect_timeout_ns;
    so.tls_cache = &tls_sessions_;
    so.streams = static_cast<uint32_t>(config_.max_streams);
    so.window = config_.h2_window;
    session_options_.push_back(std::move(so));
  }
  scan_every_ = std::clamp<int64_t>(std::min(config_.timeout_ns, config_.connect_timeout_ns) / 20,
                                    1'000'000, 50'000'000);
}

Worker::~Worker() {
  close_all();
  // Sessions go while what they report to (the shard, the loop) is still there: members are
  // destroyed in the reverse order of their declaration, not of their use.
  for (Connection* l : lanes_) l->session.reset();
  for (Connection& c : conns_) c.session.reset();
  shared_.clear();
  retired_sessions_.clear();
}

void Worker::close_all() noexcept {
  for (Connection& c : conns_) close_socket(c);
  for (Connection* l : lanes_) close_socket(*l);
  for (auto& s : shared_) {
    if (s) s->close();
  }
}

void Connection::on_timer(uint64_t generation, uint64_t) noexcept {
  worker->on_timer(*this, static_cast<uint32_t>(generation));
}

bool Worker::open_loop() {
  next_scan_ = now() + scan_every_;
  return loop_.open();
}

void Worker::run() {
  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);  // timers wake on time, not up to 50 us late
  if (open_loop()) loop();
  close_all();
  publish(last_tick_ + 1);
  finished_.store(true, std::memory_order_release);
}

void Worker::loop() {
  while (!abort_.load(std::memory_order_relaxed)) {
    int64_t wake = turn();
    if (wake < 0) break;
    new_turn();  // what the wait brings is a turn of its own: the wait is not its time
    loop_.poll(queued_.empty() && flush_queue_.empty() ? wake - now() : 0);
  }
}

void Worker::new_turn() noexcept {
  turn_started_ns_ = 0;  // the first iteration started at once stamps it (turn_spent)
  turn_chained_ = 0;
  turn_spent_ = false;
}

int64_t Worker::turn() {
  new_turn();
  flush_sessions();  // before retired sessions go: one may still be queued
  retired_sessions_.clear();
  int64_t now = this->now();
  bool asked = stop_.load(std::memory_order_relaxed) ||
               (config_.shared && config_.shared->stop_all.load(std::memory_order_relaxed));
  // Asked before the deadline (Ctrl-C, a threshold, a data table ran out): nothing more starts.
  // Asked at the deadline (the controller's clock got there first): as at the deadline.
  if (!stopping_ && asked && now < end_ns_) begin_stop();
  if (!stopping_) {
    // What fell due before the deadline starts even when the loop wakes after it.
    int64_t until = std::min(now, stop_point());
    if (plan_.model == load::Model::kClosed) {
      drive_closed(until);
    } else {
      drive_open(until);
    }
    loop_.fire_timers(until);
    if (now >= end_ns_ || asked) begin_stop();
  }
  run_queued();
  if (done()) return -1;
  int64_t tick = (now - start_ns_) / config_.publish_interval_ns;
  if (tick > last_tick_) publish(tick);
  if (warmup_end_ns_ != 0 && now >= warmup_end_ns_) {
    publish(tick);  // everything up to here is warmup
    warmup_end_ns_ = 0;
  }
  if (now >= next_scan_) {
    scan_deadlines(now);
    next_scan_ = now + scan_every_;
  }
  flush_sessions();
  return std::min(next_wake(now), next_scan_);
}

int64_t Worker::next_wake(int64_t now) const {
  int64_t wake = start_ns_ + (last_tick_ + 1) * config_.publish_interval_ns;
  wake = std::min(wake, end_ns_);
  if (warmup_end_ns_ != 0) wake = std::min(wake, warmup_end_ns_);
  if (loop_.next_timer_ns() >= 0) wake = std::min(wake, loop_.next_timer_ns());
  if (arrivals_.next_ns() >= 0 && !stopping_) wake = std::min(wake, arrivals_.next_ns());
  if (plan_.model == load::Model::kClosed && vu_target_.ramping() && !stopping_) {
    wake = std::min(wake, now + kRampCheckNs);
  }
  return std::min(wake, now + 100'000'000);
}

void Worker::begin_stop() {
  stopping_ = true;
  for (Connection& c : conns_) {
    if (c.journey && c.journey->pending > 0) {
      stop_journey(c);
      continue;
    }
    if (c.state == ConnState::kQueued && c.batch > 0) --in_request_;  // a pending resend
    // Iterations already started (connecting, writing, waiting for a reply) finish or time
    // out: an arrival due before the deadline is sent, never lost. Anything else ends here.
    if (!in_request(c.state)) deactivate(c);
  }
  queued_.clear();
  loop_.clear_timers();
  arrivals_.close();
}

bool Worker::done() const {
  if (stopping_) return in_request_ == 0;
  if (plan_.model == load::Model::kOpen) {
    return arrivals_.next_ns() < 0 && in_request_ == 0;
  }
  return running_ == 0 && (exhausted_ || (plan_.per_vu_iterations > 0 && free_.empty()));
}

void Worker::drive_closed(int64_t now) {
  if (exhausted_) return;
  auto target = static_cast<size_t>(vu_target_.at(now));
  while (running_ - retire_ < target) {
    if (retire_ > 0) {  // keep a VU that was about to retire
      --retire_;
      continue;
    }
    if (free_.empty()) break;
    Connection& c = *free_.back();
    free_.pop_back();
    ++running_;
    c.state = ConnState::kWaiting;  // active from here on
    int64_t first = now;
    if (plan_.pace_period_ns > 0) {  // spread paced VUs over one period
      auto i = static_cast<int64_t>(&c - conns_.data());
      first += plan_.pace_period_ns * i / static_cast<int64_t>(conns_.size());
    }
    if (first > now) {
      c.intended_ns = first;
      c.state = ConnState::kWaiting;
      set_timer(c, first);
    } else {
      begin_iteration(c, plan_.pace_period_ns > 0 ? first : 0);
    }
  }
  if (running_ > target) retire_ = running_ - target;
}

void Worker::drive_open(int64_t now) {
  while (arrivals_.next_ns() >= 0 && arrivals_.next_ns() <= now) {
    Connection* c = nullptr;
    if (!free_.empty()) {
      c = free_.back();
      free_.pop_back();
    } else if (running_ < conns_.size()) {
      c = &conns_[running_++];  // a new VU, up to the cap
      c->state = ConnState::kFree;
    }
    if (c == nullptr) {
      // Every VU is busy: what is due now is dropped, counted at once (never delayed).
      shard_->dropped_iterations += arrivals_.skip_until(now);
      return;
    }
    int64_t intended = arrivals_.next_ns();
    arrivals_.take();
    begin_iteration(*c, intended);
    if (exhausted_) arrivals_.close();
  }
}

void Worker::set_timer(Connection& c, int64_t due_ns) noexcept {
  loop_.add_timer(due_ns, &c, ++c.timer_generation);
}

void Worker::timer_fired(Connection& c, uint32_t generation) noexcept {
  if (generation != c.timer_generation) return;  // cancelled
  if (c.state == ConnState::kStepPause) {
    c.state = ConnState::kStepIdle;
    complete_step(c, true);
    return;
  }
  if (c.state != ConnState::kWaiting) return;
  if (plan_.model == load::Model::kOpen) {
    c.state = ConnState::kFree;  // think time over: ready for the next arrival
    free_.push_back(&c);
  } else if (retire_ > 0) {
    --retire_;
    deactivate(c);
  } else {
    begin_iteration(c, c.intended_ns);
  }
}

void Worker::run_queued() {
  starting_.swap(queued_);  // failures queue again for the next turn, not this one
  for (size_t i = 0; i < starting_.size(); ++i) {
    if (turn_spent()) {  // the rest go first on the next turn, before those queued since
      queued_.insert(queued_.begin(), starting_.begin() + static_cast<ptrdiff_t>(i),
                     starting_.end());
      break;
    }
    Connection* c = starting_[i];
    if (c->state != ConnState::kQueued) continue;
    if (c->batch > 0) {
      start_request(*c);  // a resend after a stale keep-alive close
    } else {
      begin_iteration(*c, c->intended_ns);
    }
  }
  starting_.clear();
}

uint16_t Worker::claim() noexcept {
  auto n = static_cast<uint16_t>(budget_.claim(static_cast<uint64_t>(config_.pipeline)));
  if (n == 0) exhausted_ = true;
  return n;
}

void Worker::begin_iteration(Connection& c, int64_t intended_ns) noexcept {
  if (stopping_) {
    deactivate(c);
    return;
  }
  if (plan_.per_vu_iterations > 0 && c.iterations >= plan_.per_vu_iterations) {
    c.finished = true;
    deactivate(c);
    return;
  }
  c.batch = claim();
  if (c.batch == 0) {
    deactivate(c);
    return;
  }
  c.intended_ns = intended_ns;
  ++in_request_;
  start_journey(c);  // counted there: a data table may still refuse it
}

void Worker::end_iteration(Connection& c, int64_t now, bool socket_ok) noexcept {
  --in_request_;
  ++c.iterations;
  if (stopping_) {
    deactivate(c);
    return;
  }
  int64_t wake = now;
  if (!plan_.think.none()) wake += plan_.think.sample(rng_);
  if (plan_.model == load::Model::kOpen) {
    if (wake > now) {
      c.state = ConnState::kWaiting;
      set_timer(c, wake);
    } else {
      c.state = ConnState::kFree;
      free_.push_back(&c);
    }
    return;
  }
  if (retire_ > 0) {  // ramping down: this VU's iteration is over, it leaves now
    --retire_;
    deactivate(c);
    return;
  }
  int64_t next_intended = 0;
  if (plan_.pace_period_ns > 0) {
    // wrk2's pacing: a fixed schedule per VU. When late, the next starts at once (one at a
    // time per VU, so catching up is bounded by the VU count) and its latency counts from
    // when it was due.
    next_intended = c.intended_ns + plan_.pace_period_ns;
    wake = std::max(wake, next_intended);
  }
  c.intended_ns = next_intended;
  if (wake > now) {
    c.state = ConnState::kWaiting;
    set_timer(c, wake);
  } else if (socket_ok && !turn_spent()) {
    begin_iteration(c, next_intended);
  } else {
    c.state = ConnState::kQueued;  // after a failure: not within the failing call
    c.batch = 0;                   // a new iteration when run, not a resend of this one
    queued_.push_back(&c);
  }
}

bool Worker::turn_spent() noexcept {
  if (turn_spent_) return true;
  if (turn_started_ns_ == 0) turn_started_ns_ = now();
  if ((++turn_chained_ & 15) == 0) turn_spent_ = now() - turn_started_ns_ >= kTurnBudgetNs;
  return turn_spent_;
}

void Worker::deactivate(Connection& c) noexcept {
  close_socket(c);
  if (c.journey) {
    for (auto& l : c.journey->lanes) {
      close_socket(*l);
      ++l->timer_generation;
      l->state = ConnState::kStepIdle;
    }
  }
  ++c.timer_generation;
  if (c.state != ConnState::kInactive) {
    if (plan_.model == load::Model::kClosed) {
      --running_;
      if (!c.finished && !exhausted_) free_.push_back(&c);  // may be activated again
    }
    c.state = ConnState::kInactive;
  }
  c.batch = 0;
  c.in_flight = 0;
}

void Worker::publish(int64_t tick) {
  uint64_t in_flight = 0;
  for (const Connection& c : conns_) in_flight += c.in_flight;
  for (const Connection* l : lanes_) in_flight += l->in_flight;
  in_flight_published_.store(in_flight, std::memory_order_relaxed);
  // Closed: VUs taking part; open: VUs busy with an iteration (it grows when the server stalls).
  shard_->vus = plan_.model == load::Model::kClosed ? running_ : in_request_;
  Sample sample{last_tick_, warmup_end_ns_ != 0, std::move(shard_)};
  last_tick_ = tick;
  {
    std::lock_guard<std::mutex> lock(mailbox_mutex_);
    mailbox_.push_back(std::move(sample));
    if (!spares_.empty()) {
      shard_ = std::move(spares_.back());
      spares_.pop_back();
    }
  }
  if (!shard_) shard_ = std::make_unique<metrics::Shard>();
}

void Worker::recycle(std::unique_ptr<metrics::Shard> shard) {
  shard->reset();
  std::lock_guard<std::mutex> lock(mailbox_mutex_);
  spares_.push_back(std::move(shard));
}

std::vector<Sample> Worker::take_samples() {
  std::lock_guard<std::mutex> lock(mailbox_mutex_);
  return std::exchange(mailbox_, {});
}

}  // namespace spiker::engine
