// The worker in virtual time: a ManualClock, a fake protocol whose sessions answer when the
// test says, and Worker::turn() called at chosen instants. No sockets, no sleeping.
#include "engine/worker.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "load/drivers.h"
#include "proto/protocol.h"

namespace spiker::engine {
namespace {

constexpr int64_t kUs = 1'000;
constexpr int64_t kMs = 1'000'000;
constexpr int64_t kSec = 1'000'000'000;

// The fake server: an exchange submitted at t is answered at answer_at(t).
struct FakeServer {
  int64_t latency = kMs;
  int64_t stall_from = -1, stall_to = -1;  // what arrives in [from, to) is answered at to + latency
  uint64_t submitted = 0, answered = 0, cancelled = 0;
  int64_t last_submit = -1;
  size_t in_flight = 0, max_in_flight = 0;
  int64_t answer_at(int64_t t) const {
    if (t >= stall_from && t < stall_to) return stall_to + latency;
    return t + latency;
  }
};
FakeServer* g_server = nullptr;

class FakeSession final : public proto::Session {
 public:
  explicit FakeSession(proto::SessionHost& host) : host_(host) { sessions().push_back(this); }
  ~FakeSession() override { std::erase(sessions(), this); }
  static std::vector<FakeSession*>& sessions() {
    static std::vector<FakeSession*> all;
    return all;
  }
  void submit(const proto::Exchange&) noexcept override {
    sent_ = host_.now();
    due_ = g_server->answer_at(sent_);
    ++g_server->submitted;
    g_server->last_submit = sent_;
    g_server->max_in_flight = std::max(g_server->max_in_flight, ++g_server->in_flight);
  }
  void check_deadline(int64_t) noexcept override {}
  void close() noexcept override {
    if (due_ < 0) return;
    due_ = -1;
    --g_server->in_flight;
    ++g_server->cancelled;
  }
  bool connected() const noexcept override { return true; }
  void on_io(uint32_t) noexcept override {}
  // Answers the exchange when due at `t`.
  void answer(int64_t t) {
    if (due_ < 0 || due_ > t) return;
    due_ = -1;
    --g_server->in_flight;
    ++g_server->answered;
    proto::Outcome o;
    o.sent_ns = sent_;
    o.done_ns = t;
    static plan::CapturedResponse parts;
    parts.body = "ok";
    o.parts = &parts;
    host_.complete(*this, o);
  }

 private:
  proto::SessionHost& host_;
  int64_t sent_ = 0, due_ = -1;
};

const proto::Protocol& fake_protocol() {
  static const proto::Protocol& p = []() -> const proto::Protocol& {
    proto::Protocol f;
    f.name = "fake";
    f.schemes = {"fake"};
    f.make_session = [](proto::SessionHost& h, const proto::SessionOptions&) {
      return std::unique_ptr<proto::Session>(std::make_unique<FakeSession>(h));
    };
    return proto::Registry::add(std::move(f));
  }();
  return p;
}

// Runs one worker of `plan` from 0 in steps of `step`, answering due exchanges first, until it
// is done; `each(t, due_by_t, started, dropped)` is called after every turn.
struct Totals {
  uint64_t iterations = 0, dropped = 0, requests = 0, failed = 0;
  int64_t done_at = -1;
};

// `stop_at`: the controller's stop() comes then (at the deadline, it races the worker's own).
template <class Each>
Totals run(const load::LoadPlan& plan, FakeServer& server, int64_t step, Each each,
           int64_t stop_at = -1) {
  g_server = &server;
  WorkerConfig config;
  OriginConfig origin;
  origin.protocol = &fake_protocol();
  origin.scheme = "fake";
  config.origins.push_back(origin);
  RequestVariant v;
  auto req = std::make_shared<plan::ProtocolRequest>();
  v.proto = req;
  v.message = "x";
  config.requests = std::make_shared<const std::vector<RequestVariant>>(1, v);
  config.timeout_ns = 60 * kSec;
  ManualClock clock;
  Worker w(config, plan, 0, 1, 0, &clock);
  EXPECT_TRUE(w.open_loop());
  Totals r;
  auto add = [&](const metrics::Shard& s) {
    r.iterations += s.iterations;
    r.dropped += s.dropped_iterations;
    r.requests += s.requests;
    r.failed += s.failed;
  };
  for (int64_t t = 0; t < 30 * kSec; t += step) {
    clock.set(t);
    if (stop_at >= 0 && t >= stop_at) w.stop();
    for (size_t i = 0; i < FakeSession::sessions().size(); ++i)
      FakeSession::sessions()[i]->answer(t);
    int64_t wake = w.turn();
    for (Sample& s : w.take_samples()) {
      add(*s.shard);
      w.recycle(std::move(s.shard));
    }
    const metrics::Shard& now = w.current_shard();
    each(t, r.iterations + now.iterations, r.dropped + now.dropped_iterations);
    if (wake < 0) {
      add(now);
      r.done_at = t;
      break;
    }
  }
  return r;
}

// A loop that wakes every `step` (37 us: on time; 1.3 ms: late, past several arrivals and past
// the deadline).
void open_model_under_a_stall(int64_t step) {
  load::LoadPlan plan;
  plan.executor = "constant-arrival-rate";
  plan.model = load::Model::kOpen;
  plan.arrivals = load::ArrivalSchedule::constant(5000, kSec);
  plan.max_vus = 20;
  plan.duration_ns = kSec;
  FakeServer server;
  server.stall_from = 300 * kMs;
  server.stall_to = 600 * kMs;
  load::Stripe whole;
  load::ArrivalStream due(*plan.arrivals, whole, 0, 1, 0);
  Totals r = run(
      plan, server, step,
      [&](int64_t t, uint64_t started, uint64_t dropped) {
        // At every instant, what was due has started or been dropped: nothing in between.
        ASSERT_EQ(due.due_by(std::min(t, kSec - 1)), started + dropped) << "at " << t;
      },
      kSec);
  EXPECT_EQ(r.iterations + r.dropped, 5000u);  // including the last ones before the deadline
  EXPECT_GE(r.dropped, 1470u);                 // the stall held all 20 VUs for 300 ms
  EXPECT_LE(r.dropped, 1500u);
  EXPECT_EQ(r.requests, r.iterations);  // every started iteration was sent and answered
  EXPECT_EQ(server.submitted, r.iterations);
  EXPECT_EQ(server.cancelled, 0u);
  EXPECT_LE(server.max_in_flight, 20u);
  EXPECT_LT(server.last_submit, kSec + step);  // nothing due after the deadline starts
  EXPECT_GE(r.done_at, kSec);
  EXPECT_LE(r.done_at, kSec + 2 * kMs + step);  // stops at the deadline (plus the last answers)
}

TEST(WorkerVirtualTime, OpenModelUnderAStallCountsEveryArrival) {
  open_model_under_a_stall(37 * kUs);
}

TEST(WorkerVirtualTime, OpenModelWakingLateCountsEveryArrival) {
  open_model_under_a_stall(1300 * kUs);
}

TEST(WorkerVirtualTime, RampingVusRetireAfterTheirIteration) {
  load::LoadPlan plan;
  plan.executor = "ramping-vus";
  plan.vus = load::VuSchedule(load::StageCurve(0, {{kSec, 10}, {kSec, 0}}));
  plan.max_vus = 10;
  plan.duration_ns = 2 * kSec;
  FakeServer server;
  server.latency = 50 * kMs;
  int64_t last_t = 0;
  Totals r = run(plan, server, 100 * kUs, [&](int64_t t, uint64_t, uint64_t) {
    // Never more exchanges on their way than VUs the ramp allowed within one latency ago.
    uint64_t allowed = plan.vus->vus_at(std::max<int64_t>(0, t - 50 * kMs));
    allowed = std::max(allowed, plan.vus->vus_at(t));
    ASSERT_LE(server.in_flight, allowed + 1) << "at " << t;
    last_t = t;
  });
  EXPECT_EQ(server.cancelled, 0u);  // a VU ramped down finished its iteration first
  EXPECT_EQ(r.requests, server.submitted);
  EXPECT_EQ(r.failed, 0u);
  EXPECT_EQ(server.max_in_flight, 10u);
  EXPECT_LE(r.done_at, 2 * kSec + 50 * kMs + kMs);
  // ~10 VUs x 1 s average x 20 iterations/s each = ~100 iterations per second of ramp.
  EXPECT_GT(r.requests, 150u);
  EXPECT_LT(r.requests, 230u);
}

TEST(WorkerVirtualTime, SharedIterationsAreSentExactly) {
  load::LoadPlan plan;
  plan.executor = "shared-iterations";
  plan.vus = load::VuSchedule::constant(7, 0);
  plan.max_vus = 7;
  plan.shared_iterations = 1000;
  FakeServer server;
  Totals r = run(plan, server, 250 * kUs, [](int64_t, uint64_t, uint64_t) {});
  EXPECT_EQ(server.submitted, 1000u);
  EXPECT_EQ(r.requests, 1000u);
  EXPECT_EQ(r.iterations, 1000u);
  EXPECT_GE(r.done_at, 0);
}

TEST(WorkerVirtualTime, ClosedModelStopsAtTheDeadline) {
  load::LoadPlan plan;
  plan.vus = load::VuSchedule::constant(5, kSec);
  plan.max_vus = 5;
  plan.duration_ns = kSec;
  FakeServer server;
  server.latency = 3 * kMs;
  Totals r = run(plan, server, 100 * kUs, [](int64_t, uint64_t, uint64_t) {});
  EXPECT_LT(server.last_submit, kSec);
  EXPECT_EQ(server.cancelled, 0u);  // the last exchanges are waited for, not dropped
  EXPECT_EQ(r.requests, server.submitted);
  // 5 VUs, one exchange every 3 ms (+ up to a step of waiting) each, for 1 s.
  EXPECT_GT(r.requests, 5u * 1000 / 4);
  EXPECT_LE(r.requests, 5u * 1000 / 3 + 5);
  EXPECT_LE(r.done_at, kSec + 3 * kMs + 100 * kUs);
}

}  // namespace
}  // namespace spiker::engine
