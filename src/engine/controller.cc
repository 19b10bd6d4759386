#include "engine/controller.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <map>
#include <memory>
#include <thread>

#include "core/clock.h"
#include "engine/worker.h"
#include "metrics/histogram_codec.h"

namespace spiker::engine {
namespace {

using metrics::LiveState;
using metrics::TimelinePoint;

std::atomic<int> g_stop_signals{0};

void on_stop_signal(int) { g_stop_signals.fetch_add(1, std::memory_order_relaxed); }

int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Per-second buckets and the live window, fed with worker samples.
class Aggregator {
 public:
  // Timeline rows start with the second the warmup ends in.
  Aggregator(int64_t publish_interval_ns, int64_t warmup_ns)
      : interval_ns_(publish_interval_ns), next_second_(warmup_ns / 1'000'000'000) {}

  void add(const Sample& s, metrics::Shard& totals) {
    auto& w = recent_[s.tick];
    if (!w) w = take();
    w->merge(*s.shard);
    w->vus += s.shard->vus;  // a gauge: summed over workers within a tick
    latest_vus_ = w->vus;
    if (s.warmup) return;  // shown live, never reported
    totals.merge(*s.shard);
    // A sample later than the grace period lands in the earliest open second, never lost.
    int64_t second = std::max(next_second_, s.tick * interval_ns_ / 1'000'000'000);
    auto& bucket = seconds_[second];
    if (!bucket) bucket = take();
    bucket->merge(*s.shard);
    bucket->vus = std::max(bucket->vus, w->vus);
  }

  uint64_t latest_vus() const { return latest_vus_; }

  // Moves seconds that ended before `before_s` into the timeline (gaps become zero rows).
  void finalize(int64_t before_s, std::vector<TimelinePoint>& timeline) {
    while (next_second_ < before_s) {
      TimelinePoint p;
      p.elapsed_secs = next_second_;
      auto it = seconds_.find(next_second_);
      if (it != seconds_.end()) {
        p = metrics::timeline_point(*it->second, next_second_);
        give_back(std::move(it->second));
        seconds_.erase(it);
      }
      timeline.push_back(p);
      ++next_second_;
    }
  }

  int64_t pending_last_second() const { return seconds_.empty() ? -1 : seconds_.rbegin()->first; }

  // The last second's worth of ticks, merged; returns its length in seconds.
  double window(metrics::Shard& out) {
    out.reset();
    if (recent_.empty()) return 0;
    int64_t ticks = std::max<int64_t>(1, 1'000'000'000 / interval_ns_);
    int64_t last = recent_.rbegin()->first;
    while (!recent_.empty() && recent_.begin()->first <= last - ticks) {
      give_back(std::move(recent_.begin()->second));
      recent_.erase(recent_.begin());
    }
    for (auto& [tick, shard] : recent_) out.merge(*shard);
    return static_cast<double>(ticks * interval_ns_) / 1e9;
  }

 private:
  // Shards are 600 KB: reuse them rather than map and zero new ones every tick.
  std::unique_ptr<metrics::Shard> take() {
    if (free_.empty()) return std::make_unique<metrics::Shard>();
    std::unique_ptr<metrics::Shard> s = std::move(free_.back());
    free_.pop_back();
    return s;
  }
  void give_back(std::unique_ptr<metrics::Shard> s) {
    s->reset();
    free_.push_back(std::move(s));
  }

  int64_t interval_ns_;
  std::vector<std::unique_ptr<metrics::Shard>> free_;
  int64_t next_second_;
  uint64_t latest_vus_ = 0;
  std::map<int64_t, std::unique_ptr<metrics::Shard>> seconds_;
  std::map<int64_t, std::unique_ptr<metrics::Shard>> recent_;
};

}  // namespace

void install_stop_signals() {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGHUP, &sa, nullptr);  // a closed terminal: stop as for Ctrl-C, results written
  signal(SIGPIPE, SIG_IGN);
}

namespace {

// One run: the workers of every load group, their threads, and the controller's tick loop.
class Run {
 public:
  Run(const RunConfig& config, const std::function<void(const LiveState&)>& on_tick)
      : config_(config),
        on_tick_(on_tick),
        groups_(config.groups.empty() ? std::vector<LoadGroup>{{config.worker, config.plan}}
                                      : config.groups),
        plan_(groups_.front().plan),
        agg_(config.worker.publish_interval_ns, plan_.warmup_ns) {}

  RunResult go() {
    g_stop_signals.store(0);
    start_ns_ = mono_now_ns();
    result_.started_unix_ms = unix_ms();
    start_workers();
    for (;;) {
      bool all_done = wait_tick();
      int64_t now = mono_now_ns();
      handle_signals(now);
      drain();
      if (!stop_sent_ && result_.aborted_by < 0) check_abort_thresholds(now);
      update_live(now);
      if (all_done) break;
      if (on_tick_) on_tick_(live_);
    }
    return finish();
  }

 private:
  void start_workers() {
    bool all_timed = true;
    uint64_t max_requests = 0;
    for (const LoadGroup& g : groups_) {
      const load::LoadPlan& p = g.plan;
      // No more threads than this instance has VUs (or iterations) to give them.
      uint64_t vus =
          p.stripe.count_below(p.model == load::Model::kClosed ? p.vus->max_vus() : p.max_vus);
      if (p.shared_iterations > 0) vus = std::min(vus, p.stripe.count_below(p.shared_iterations));
      live_.vus_max += vus;
      result_.vus_max = live_.vus_max;
      uint64_t group = vu_group(g.worker);  // HTTP/2: a thread per connection at most
      uint64_t units = (vus + group - 1) / group;
      int threads = static_cast<int>(std::clamp<uint64_t>(units, 1, std::max(1, config_.threads)));
      result_.threads = std::max(result_.threads, threads);
      for (int i = 0; i < threads; ++i) {
        workers_.push_back(std::make_unique<Worker>(g.worker, p, i, threads, start_ns_));
      }
      all_timed = all_timed && p.duration_ns > 0;
      duration_ns_ = std::max(duration_ns_, p.duration_ns);
      max_requests += p.stripe.count_below(p.shared_iterations);
    }
    if (!all_timed) duration_ns_ = 0;  // each worker still ends at its own plan's end
    for (auto& w : workers_) pool_.emplace_back([&w] { w->run(); });
    live_.duration_s = static_cast<double>(duration_ns_) / 1e9;
    live_.max_requests = groups_.size() == 1 ? max_requests : 0;
    live_.totals = &result_.totals;
    live_.window = &window_;
    live_.timeline = &result_.timeline;
  }

  // Sleeps to the next tick; true when every worker has finished.
  bool wait_tick() {
    int64_t now = mono_now_ns();
    int64_t next = start_ns_ + ((now - start_ns_) / config_.tick_ns + 1) * config_.tick_ns;
    bool all_done = false;
    for (int64_t t = mono_now_ns(); t < next && !all_done; t = mono_now_ns()) {
      std::this_thread::sleep_for(
          std::chrono::nanoseconds(std::min<int64_t>(next - t, 25'000'000)));
      all_done =
          std::all_of(workers_.begin(), workers_.end(), [](auto& w) { return w->finished(); });
    }
    return all_done;
  }

  // The deadline and Ctrl-C: stop (in-flight requests finish). After a signal they get a
  // second at most, whatever the peer does; a second signal aborts at once.
  void handle_signals(int64_t now) {
    constexpr int64_t kSignalGraceNs = 1'000'000'000;
    int signals = g_stop_signals.load(std::memory_order_relaxed);
    bool time_up = duration_ns_ > 0 && now - start_ns_ >= duration_ns_;
    if (signals >= 1 && signal_ns_ == 0) signal_ns_ = now;
    if (!stop_sent_ && (time_up || signals >= 1)) {
      for (auto& w : workers_) w->stop();
      stop_sent_ = true;
      result_.interrupted = signals >= 1 && !time_up;
    }
    bool grace_over = signal_ns_ != 0 && now - signal_ns_ >= kSignalGraceNs;
    if (!abort_sent_ && (signals >= 2 || grace_over)) {
      for (auto& w : workers_) w->abort();
      abort_sent_ = true;
    }
  }

  void drain() {
    for (auto& w : workers_) {
      for (Sample& s : w->take_samples()) {
        agg_.add(s, result_.totals);
        w->recycle(std::move(s.shard));
      }
    }
  }

  // A threshold with abort_on_fail that fails stops the run (results are kept).
  void check_abort_thresholds(int64_t now) {
    double elapsed = static_cast<double>(now - start_ns_) / 1e9;
    double measured = std::max(0.0, elapsed - static_cast<double>(plan_.warmup_ns) / 1e9);
    for (size_t i = 0; i < config_.thresholds.size(); ++i) {
      const ScopedThreshold& th = config_.thresholds[i];
      if (!th.t.abort_on_fail || now - start_ns_ < th.t.delay_abort_ns) continue;
      if (result_.totals.requests == 0) continue;  // nothing to judge yet
      if (!th.t.holds(threshold_actual(th, result_.totals, measured))) {
        result_.aborted_by = static_cast<int>(i);
        for (auto& w : workers_) w->stop();
        stop_sent_ = true;
        return;
      }
    }
  }

  void update_live(int64_t now) {
    live_.elapsed_s = static_cast<double>(now - start_ns_) / 1e9;
    agg_.finalize(static_cast<int64_t>(live_.elapsed_s - 0.5), result_.timeline);
    live_.window_rps = 0;
    double span = agg_.window(window_);
    if (span > 0) live_.window_rps = static_cast<double>(window_.requests) / span;
    live_.stopping = stop_sent_;
    live_.interrupted = result_.interrupted;
    live_.warming_up = now - start_ns_ < plan_.warmup_ns;
    live_.vus = agg_.latest_vus();
    live_.in_flight = 0;
    for (auto& w : workers_) live_.in_flight += w->in_flight();
  }

  RunResult finish() {
    for (auto& th : pool_) th.join();
    int64_t end_ns = mono_now_ns();
    result_.ended_unix_ms = unix_ms();
    drain();
    result_.elapsed_s = static_cast<double>(end_ns - start_ns_) / 1e9;
    result_.measured_s =
        std::max(0.0, result_.elapsed_s - static_cast<double>(plan_.warmup_ns) / 1e9);
    agg_.finalize(std::max<int64_t>(agg_.pending_last_second() + 1,
                                    static_cast<int64_t>(result_.elapsed_s + 0.999)),
                  result_.timeline);
    live_.elapsed_s = result_.elapsed_s;
    live_.stopping = true;
    live_.finished = true;
    live_.interrupted = result_.interrupted;
    live_.in_flight = 0;
    if (on_tick_) on_tick_(live_);
    return std::move(result_);
  }

  const RunConfig& config_;
  const std::function<void(const LiveState&)>& on_tick_;
  std::vector<LoadGroup> groups_;
  const load::LoadPlan& plan_;
  Aggregator agg_;
  RunResult result_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::thread> pool_;
  metrics::Shard window_;
  LiveState live_;
  int64_t start_ns_ = 0;
  int64_t duration_ns_ = 0;  // the run's end when every group has one (0: none)
  bool stop_sent_ = false, abort_sent_ = false;
  int64_t signal_ns_ = 0;  // when the first stop signal was seen
};

}  // namespace

RunResult run_load(const RunConfig& config, const std::function<void(const LiveState&)>& on_tick) {
  return Run(config, on_tick).go();
}

}  // namespace spiker::engine
