// Journeys: a VU's iteration runs one scenario's steps. Steps whose dependencies are done run
// at once, each on a lane (a connection of the VU); a failed step skips its dependants.
// Responses a step reads (extraction, checks, cookies, redirects) are captured and parsed
// after they complete; the others are parsed in place and discarded, as in the plain loop.
#include <strings.h>
#include <sys/time.h>

#include <algorithm>
#include <cstring>
#include <ctime>

#include "core/clock.h"
#include "core/strings.h"
#include "engine/worker.h"

namespace spiker::engine {

uint64_t Worker::vu_number(const Connection& vu) const noexcept {
  return static_cast<uint64_t>(&vu - conns_.data()) * static_cast<uint64_t>(count_) +
         static_cast<uint64_t>(index_);
}

void Worker::start_journey(Connection& vu) noexcept {
  if (!vu.journey) {
    vu.journey = std::make_unique<VuJourney>();
    vu.journey->vars.resize(journey_->variables.size());
    vu.journey->rows.resize(journey_->data.size());
    vu.vu = &vu;
  }
  VuJourney& j = *vu.journey;
  j.scenario = 0;
  if (scenario_weight_upto_.size() > 1) {
    uint32_t r = static_cast<uint32_t>(rng_() % scenario_weight_upto_.back());
    j.scenario = static_cast<uint8_t>(
        std::upper_bound(scenario_weight_upto_.begin(), scenario_weight_upto_.end(), r) -
        scenario_weight_upto_.begin());
  }
  const plan::Scenario& sc = journey_->scenarios[j.scenario];
  if (!pick_rows(vu, j, sc)) {  // a unique data table ran out
    --in_request_;
    vu.finished = true;
    deactivate(vu);
    return;
  }
  std::fill_n(j.state.begin(), sc.steps.size(), VuJourney::kWaiting);
  j.waiting = static_cast<uint8_t>(sc.steps.size());
  j.pending = 0;
  j.failed = false;
  j.ended_in_submit = false;
  vu.state = ConnState::kStepIdle;
  ++shard_->iterations;
  advance(vu);
}

bool Worker::pick_rows(Connection& vu, VuJourney& j, const plan::Scenario& sc) noexcept {
  if ((sc.tables_used | sc.tables_once) == 0) return true;  // its steps read no data table
  uint64_t number = plan_.stripe.global_index(vu_number(vu));
  for (size_t t = 0; t < journey_->data.size(); ++t) {
    bool once = (sc.tables_once >> t & 1) != 0;
    if (!(sc.tables_used >> t & 1) && !once) continue;
    if (once && (j.rows_kept >> t & 1)) continue;  // the login's row stays the VU's
    const plan::DataTable& table = journey_->data[t];
    uint64_t rows = table.rows();
    uint64_t row = 0;
    switch (table.strategy) {
      case plan::Strategy::kSequential:
        row = (number + vu.iterations) % rows;
        break;
      case plan::Strategy::kPerVu:
        row = number % rows;
        break;
      case plan::Strategy::kRandom:
        row = rng_() % rows;
        break;
      case plan::Strategy::kCircular:
        row = plan_.stripe.global_index(config_.shared->cursors[t].fetch_add(1)) % rows;
        break;
      case plan::Strategy::kUnique: {
        row = plan_.stripe.global_index(config_.shared->cursors[t].fetch_add(1));
        if (row >= rows) {
          ++shard_->data_exhausted;
          if (table.stop_run_when_exhausted) config_.shared->stop_all.store(true);
          return false;
        }
        break;
      }
    }
    j.rows[t] = static_cast<uint32_t>(row);
    if (once) j.rows_kept |= uint64_t{1} << t;
  }
  return true;
}

bool Worker::condition_holds(const VuJourney& j, const plan::Step& st) const noexcept {
  switch (st.cond.kind) {
    case plan::Condition::Kind::kAlways:
      return true;
    case plan::Condition::Kind::kStepPassed:
      return j.state[st.cond.index] == VuJourney::kPassed;
    case plan::Condition::Kind::kStepFailed:
      return j.state[st.cond.index] == VuJourney::kFailed;
    case plan::Condition::Kind::kVarSet:
      return (j.vars_set >> st.cond.index & 1) != 0;
    case plan::Condition::Kind::kVarUnset:
      return (j.vars_set >> st.cond.index & 1) == 0;
  }
  return true;
}

void Worker::advance(Connection& vu) noexcept {
  VuJourney& j = *vu.journey;
  if (j.advancing) return;  // a step that ended synchronously: the loop below goes on
  j.advancing = true;
  const plan::Scenario& sc = journey_->scenarios[j.scenario];
  bool progress = true;
  while (progress && j.waiting > 0) {  // a pass that changed something may unblock others
    progress = false;
    for (size_t i = 0; i < sc.steps.size(); ++i) {
      if (j.state[i] != VuJourney::kWaiting) continue;
      const plan::Step& st = sc.steps[i];
      bool ready = true, blocked = false;
      for (uint16_t d : st.deps) {
        uint8_t s = j.state[d];
        if (s == VuJourney::kWaiting || s == VuJourney::kRunning) ready = false;
        // A failed dependency skips this step, unless the step runs exactly on failure.
        bool on_failure = st.cond.kind == plan::Condition::Kind::kStepFailed && st.cond.index == d;
        if ((s == VuJourney::kFailed && !on_failure) || s == VuJourney::kSkipped) blocked = true;
      }
      if (!ready) continue;
      progress = true;
      --j.waiting;
      if (stopping_) {
        j.state[i] = VuJourney::kNotRun;
      } else if (blocked) {
        j.state[i] = VuJourney::kSkipped;
        ++shard_->steps_skipped;
      } else if (st.once && (j.once_done >> st.once_key & 1)) {
        j.state[i] = VuJourney::kPassed;  // this VU logged in already
      } else if (!condition_holds(j, st)) {
        j.state[i] = VuJourney::kNotRun;  // `if` said no: not a failure
      } else if ((st.vars_used & ~j.vars_set) != 0) {
        // Never sent with an unresolved ${name}: the step that sets it did not run.
        j.state[i] = VuJourney::kSkipped;
        ++shard_->steps_skipped;
      } else {
        start_step(vu, static_cast<uint8_t>(i));
      }
    }
  }
  j.advancing = false;
  if (j.pending == 0) finish_journey(vu);
}

Connection& Worker::idle_lane(Connection& vu, uint16_t origin) {
  VuJourney& j = *vu.journey;
  // An idle lane connected to this host, else one with no socket, else a new lane (a VU keeps
  // a connection per host it talks to, as browsers do), up to a bound; past it, one is reused.
  auto rank = [&](const Connection& l) {
    // The WebSocket lane is the ws.*'s; registered protocols' lanes are their steps'.
    if (l.state != ConnState::kStepIdle || l.protocol != kHttpLane) return 0;
    bool connected = l.session && l.session->connected();
    int at = l.session ? l.session->origin : l.origin;
    if (connected && at == origin) return 3;
    return connected ? 1 : 2;
  };
  Connection* best = nullptr;
  int best_rank = 0;
  auto consider = [&](Connection& l) {
    int r = rank(l);
    if (r > best_rank) best = &l, best_rank = r;
  };
  consider(vu);
  for (auto& l : j.lanes) consider(*l);
  size_t bound = config_.origins.size() + 8;
  if (best != nullptr && (best_rank >= 2 || j.lanes.size() + 1 >= bound)) return *best;
  auto lane = std::make_unique<Connection>();
  lane->worker = this;
  lane->vu = &vu;
  lane->state = ConnState::kStepIdle;
  lanes_.push_back(lane.get());
  j.lanes.push_back(std::move(lane));
  return *j.lanes.back();
}

void Worker::start_step(Connection& vu, uint8_t index) noexcept {
  VuJourney& j = *vu.journey;
  const plan::Step& st = journey_->scenarios[j.scenario].steps[index];
  if (st.action == plan::Action::kProtocol) {
    session_step(vu, index);
    return;
  }
  if (st.action != plan::Action::kHttp) {  // WebSocket steps share the VU's WebSocket lane
    ws_step(vu, index);
    return;
  }
  if (st.plain != nullptr) {  // a plain run's request: on the VU's own connection, its batch
    vu.step = index;
    vu.variant = static_cast<uint8_t>(st.id);
    j.state[index] = VuJourney::kRunning;
    ++j.pending;
    start_request(vu);
    return;
  }
  Connection& lane = idle_lane(vu, st.origin);
  lane.origin = static_cast<uint8_t>(st.origin);
  lane.step = index;
  lane.variant = static_cast<uint8_t>(st.id);
  lane.batch = 1;
  lane.redirects = 0;
  if (!lane.scratch) lane.scratch = std::make_unique<LaneScratch>();
  lane.scratch->redirect_target.clear();
  j.state[index] = VuJourney::kRunning;
  ++j.pending;
  start_request(lane);
}

void Worker::journey_context(const Connection& lane, plan::RenderContext& ctx,
                             const std::string** rows) noexcept {
  VuJourney& j = *lane.vu->journey;
  for (size_t t = 0; t < journey_->data.size() && t < plan::kMaxSteps; ++t) {
    rows[t] = &journey_->data[t].cells[j.rows[t] * journey_->data[t].columns.size()];
  }
  ctx.vu_id = vu_number(*lane.vu) + 1;
  ctx.iteration = lane.vu->iterations;
  ctx.rng = &rng_;
  ctx.vars = j.vars.data();
  ctx.table_rows = rows;
  ctx.request_id = next_request_id();
}

bool Worker::judge_step(const plan::Step& st, const plan::CapturedResponse& r, bool parsed,
                        int status, VuJourney& j) noexcept {
  metrics::Shard& s = *shard_;
  // A step passes on status < 400, or on its own checks when it has some; [[checks]] entries
  // are counted only.
  bool decided_by_checks = false;
  bool request_failed = false;
  bool ok = true;
  for (const plan::Check& c : st.checks) {
    bool pass = parsed && c.passes(r, *extract_scratch_);
    ++(pass ? s.checks_passed : s.checks_failed);
    ++s.check_total[c.id];
    if (pass) ++s.check_passed[c.id];
    if (!pass && c.fails_request && status < 400 && !request_failed) {
      request_failed = true;  // counted once, as a failed request of this step
      ++s.failed;
      ++s.step_failed[st.id];
    }
    if (c.decides) {
      decided_by_checks = true;
      ok = ok && pass;
    }
  }
  if (!decided_by_checks) ok = status < 400;
  if (ok) {
    std::string value;
    for (const plan::Extractor& x : st.extracts) {
      if (parsed && x.extract(r, *extract_scratch_, &value)) {
        j.vars[x.var] = value;
        j.vars_set |= uint64_t{1} << x.var;
      } else {
        ++s.extract_failures;
        ok = false;
      }
    }
  }
  return ok;
}

void Worker::step_finished(Connection& lane, bool ok) noexcept {
  Connection& vu = *lane.vu;
  VuJourney& j = *vu.journey;
  const plan::Step& st = journey_->scenarios[j.scenario].steps[lane.step];
  lane.batch = 0;
  // A lane between steps keeps only its socket: the request and response text go, so a
  // thinking VU holds its variables, cookies and little else (well under 1 KiB).
  lane.scratch.reset();
  if (ok && !st.think.none() && !stopping_) {
    lane.state = ConnState::kStepPause;
    set_timer(lane, now() + st.think.sample(rng_));
    return;
  }
  complete_step(lane, ok);
}

void Worker::complete_step(Connection& lane, bool ok) noexcept {
  Connection& vu = *lane.vu;
  VuJourney& j = *vu.journey;
  const plan::Step& st = journey_->scenarios[j.scenario].steps[lane.step];
  j.state[lane.step] = ok ? VuJourney::kPassed : VuJourney::kFailed;
  if (submitting_) j.ended_in_submit = true;
  if (ok && st.once) j.once_done |= uint64_t{1} << st.once_key;
  if (!ok) {
    ++shard_->step_failures[st.id];
    j.failed = true;
  }
  --j.pending;
  advance(vu);
}

void Worker::finish_journey(Connection& vu) noexcept {
  VuJourney& j = *vu.journey;
  if (j.failed) ++shard_->iterations_failed;
  if (j.ws != nullptr && j.ws->session) j.ws->session->close();  // lives for one iteration

  if (stopping_) {
    --in_request_;
    deactivate(vu);
    return;
  }
  // The VU's own connection may be closed while another lane keeps one open: next time the
  // lanes are tried in order, so nothing is lost. A step that ended inside its submit (a send
  // that completed at once) does not start the next iteration from there.
  int64_t at = step_done_ns_ != 0 ? step_done_ns_ : now();
  step_done_ns_ = 0;
  bool in_submit = j.ended_in_submit || submitting_;
  j.ended_in_submit = false;
  end_iteration(vu, at, !j.failed && !in_submit);
}

void Worker::stop_journey(Connection& vu) noexcept {
  VuJourney& j = *vu.journey;
  auto cancel = [&](Connection& l) {
    bool waiting = l.state == ConnState::kQueued || l.state == ConnState::kStepPause ||
                   (in_request(l.state) && l.in_flight == 0);
    if (!waiting) return;  // a request on the wire: its response (or timeout) ends it
    if (l.state != ConnState::kStepPause) close_socket(l);
    ++l.timer_generation;
    l.state = ConnState::kStepIdle;
    l.batch = 0;
    j.state[l.step] = VuJourney::kNotRun;
    --j.pending;
  };
  cancel(vu);
  for (auto& l : j.lanes) cancel(*l);
  if (j.pending == 0) {
    --in_request_;
    deactivate(vu);
  }
}

}  // namespace spiker::engine
