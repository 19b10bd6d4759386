// Sessions on the worker's loop. A VU or a journey lane holds one proto::Session (or uses its
// slot's shared one); the worker submits exchanges and every Outcome comes back through
// complete(), the one place where their latency, status, errors, per-step metrics, checks and
// extraction are recorded and the step ends. A plain run is a journey of one-step scenarios.
#include "core/clock.h"
#include "engine/worker.h"
#include "proto/protocol.h"

namespace spiker::engine {

std::string_view Worker::payload(Connection& c, const plan::ProtocolRequest& r) noexcept {
  if (r.verb == static_cast<uint8_t>(proto::Verb::kReceive)) return {};
  const plan::Step& st = step_of(c);
  plan::RenderContext ctx;
  const std::string* rows[plan::kMaxSteps];
  const plan::Template* body = &st.body;
  if (st.plain != nullptr) {  // -b, rendered per send when it has ${...}
    if (!st.plain->dynamic) return st.plain->message;
    body = &st.plain->dynamic->body;
    plain_context(c, ctx);
    ctx.request_id = next_request_id();
  } else {
    if (body->is_static()) return r.payload;
    journey_context(c, ctx, rows);
  }
  body_buf_.clear();
  body->render(body_buf_, ctx);
  return body_buf_;
}

void Worker::submit(Connection& c, proto::Exchange& x, int64_t timeout_ns) noexcept {
  x.timeout_ns = timeout_ns;
  x.owner = &c;
  c.state = ConnState::kReading;  // in a request until its Outcomes
  c.in_flight = x.count;
  c.batch = 0;
  proto::Session& s = session_for(c);
  bool outer = submitting_;  // a submit from inside another's (a redirect, a next step)
  submitting_ = true;  // an Outcome from inside submit must not start the next iteration there
  s.submit(x);
  submitting_ = outer;
}

proto::Session& Worker::session_for(Connection& c) noexcept {
  const OriginConfig& o = origin_of(c);
  if (!o.protocol->shared) {
    c.shared = nullptr;  // a lane that spoke HTTP/2 before (another host)
    ensure_session(c);
    return *c.session;
  }
  const Connection& vu = c.vu != nullptr ? *c.vu : c;
  size_t slot = static_cast<size_t>(&vu - conns_.data()) / static_cast<size_t>(config_.max_streams);
  size_t index = slot * config_.origins.size() + c.origin;
  if (index >= shared_.size()) shared_.resize(index + 1);
  if (!shared_[index]) {
    shared_[index] = o.protocol->make_session(*this, session_options_[c.origin]);
    shared_[index]->origin = c.origin;
  }
  c.shared = shared_[index].get();
  return *c.shared;
}

void Worker::submit(Connection& c, const plan::ProtocolRequest& r, int64_t timeout_ns) noexcept {
  proto::Exchange x;
  x.request = &r;
  x.verb = static_cast<proto::Verb>(r.verb);
  x.payload = payload(c, r);
  // A static payload is the plan's, there for the whole run: sessions need no copy of their
  // own (a large --body-file is not copied per connection). A rendered one is body_buf_'s.
  x.stable_payload = x.payload.data() != body_buf_.data();
  x.capture = step_of(c).capture_headers;  // a step's checks or extractors read the reply
  submit(c, x, timeout_ns);
}

// The VU's (or lane's) session for its origin: made on first use, made again when a lane moves
// to another host (a redirect, a step on another origin).
void Worker::make_session(Connection& c) noexcept {
  if (c.session) {
    // Its callback may be on the stack (a redirect to another host): freed on the next turn.
    c.session->close();
    retire(std::move(c.session));
  }
  const OriginConfig& o = origin_of(c);
  c.session = o.protocol->make_session(*this, session_options_[c.origin]);
  c.session->owner = &c;
  c.session->origin = c.origin;
}

void Worker::session_start(Connection& c) noexcept {
  const plan::Step& st = step_of(c);
  if (st.plain != nullptr) {
    plain_exchange(c, *st.plain);
    return;
  }
  // An HTTP step (registered protocols' steps come by session_step).
  render_step(c);
  proto::Exchange x;
  x.stable_payload = true;  // the message stays until the step ends
  x.message = &c.scratch->message;
  x.head = st.method == "HEAD" && c.scratch->redirect_target.empty();
  x.capture = st.capture_headers;
  submit(c, x, st.timeout_ns > 0 ? st.timeout_ns : config_.timeout_ns);
}

// A plain run's request: this iteration's batch (pipelined), static ones serialized once.
void Worker::plain_exchange(Connection& c, const plan::Request& v) noexcept {
  if (v.proto && c.batch > 1) {  // a pipelining protocol: the batch's payloads, separated
    batch_buf_.clear();
    char separator = proto::Registry::at(v.proto->protocol).pipeline_separator;
    for (uint16_t i = 0; i < c.batch; ++i) {
      batch_buf_.append(payload(c, *v.proto));
      batch_buf_ += separator;
    }
    proto::Exchange x;
    x.request = v.proto.get();
    x.verb = static_cast<proto::Verb>(v.proto->verb);
    x.payload = batch_buf_;
    x.count = c.batch;
    submit(c, x, config_.timeout_ns);
    return;
  }
  if (v.proto) {
    submit(c, *v.proto, config_.timeout_ns);
    return;
  }
  proto::Exchange x;
  x.stable_payload = true;  // what it points at stays until the iteration ends
  if (v.dynamic) {          // HTTP: rendered per send, each protocol writes its form
    render(c);
    x.message = c.rendered->data();
  } else {  // serialized once (pipelined: repeated) for HTTP/1.1; the message for the others
    x.payload = std::string_view(wires_[c.variant]).substr(0, v.wire.size() * c.batch);
    x.message = &v.http;
    x.constant = true;
  }
  x.count = c.batch;
  x.head = v.head;
  submit(c, x, config_.timeout_ns);
}

void Worker::session_step(Connection& vu, uint8_t index) noexcept {
  VuJourney& j = *vu.journey;
  const plan::Step& st = journey_->scenarios[j.scenario].steps[index];
  // The VU's idle lane speaking this protocol to this host, else a new one: a connection per
  // protocol and host, kept across iterations like HTTP keep-alive.
  Connection* lane = st.plain != nullptr ? &vu : nullptr;  // a plain run: the VU's connection
  for (auto& l : j.lanes) {
    if (lane != nullptr) break;
    if (l->protocol == st.proto->protocol && l->origin == st.origin &&
        l->state == ConnState::kStepIdle) {
      lane = l.get();
      break;
    }
  }
  if (lane == nullptr) {
    auto made = std::make_unique<Connection>();
    made->worker = this;
    made->vu = &vu;
    made->origin = static_cast<uint8_t>(st.origin);
    made->protocol = st.proto->protocol;
    lanes_.push_back(made.get());
    j.lanes.push_back(std::move(made));
    lane = j.lanes.back().get();
  }
  if (!origin_of(*lane).protocol->shared) {
    ensure_session(*lane);  // shared protocols' sessions are the slot's (session_for)
  }
  lane->step = index;
  lane->variant = static_cast<uint8_t>(st.id);
  j.state[index] = VuJourney::kRunning;
  ++j.pending;
  if (st.plain != nullptr) {  // a plain run: its batch (a pipelining protocol's), rendered
    plain_exchange(*lane, *st.plain);
    return;
  }
  submit(*lane, *st.proto, st.timeout_ns > 0 ? st.timeout_ns : config_.timeout_ns);
}

void Worker::complete(proto::Session& s, const proto::Outcome& o) noexcept {
  on_step_outcome(*static_cast<Connection*>(o.owner != nullptr ? o.owner : s.owner), o);
}

// A plain run's Outcome (one of a pipelined batch): its metrics; the last ends the step.
void Worker::plain_outcome(Connection& c, const plan::Step& st, const proto::Outcome& o) noexcept {
  metrics::Shard& s = *shard_;
  uint16_t slot = st.id;
  ++s.scenario_requests[slot];
  if (c.in_flight > 0) --c.in_flight;
  bool ok = o.ok;
  if (!o.timed) {  // a fire-and-forget send: counted, nothing to time
    ++s.requests;
    ++s.responses;
  } else if (o.ok) {
    int64_t latency_us = (o.done_ns - o.sent_ns) / 1000;
    ++s.requests;
    ++s.responses;
    s.latency_us.record(latency_us);
    if (c.intended_ns != 0 && plan_.correct_latency) {
      s.corrected_us.record((o.done_ns - c.intended_ns) / 1000);
      s.queue_us.record((o.sent_ns - c.intended_ns) / 1000);
    }
    if (o.status != 0) s.record_status(o.status);
    if (o.status >= 400 || o.refused) {
      ++s.failed;
      ++s.step_failed[slot];
      ok = false;
    }
    if (journey_->scenarios.size() > 1) s.step_latency(slot).record(latency_us);
  } else {
    s.record_error(o.error);
    ++s.step_failed[slot];
  }
  if (c.in_flight > 0) return;  // more pipelined responses to come
  c.state = ConnState::kStepIdle;
  step_done_ns_ = o.done_ns;
  step_finished(c, ok);
  step_done_ns_ = 0;
  if (!config_.keep_alive) release_idle_session(c);
}

// A journey step's Outcome: metrics by step, then (HTTP) cookies and redirects, checks,
// extraction, and the end of the step.
void Worker::on_step_outcome(Connection& c, const proto::Outcome& o) noexcept {
  const plan::Step* st = &step_of(c);
  if (st->plain != nullptr) {
    plain_outcome(c, *st, o);
    return;
  }
  if (o.ok && !st->match.empty()) {
    plan::CapturedResponse r = o.parts != nullptr ? *o.parts : plan::CapturedResponse{};
    if (!st->match.front().passes(r, *extract_scratch_)) {
      // Not the reply this receive waits for: skipped; the wait goes on until the deadline.
      proto::Exchange x;
      x.request = st->proto.get();
      x.verb = proto::Verb::kReceive;
      proto::Session* session = session_of(c);
      x.owner = &c;                            // a shared session's exchanges name theirs
      x.deadline_ns = session->deadline_ns();  // the same wait goes on
      session->submit(x);
      return;
    }
  }
  metrics::Shard& s = *shard_;
  uint16_t slot = st->id;
  int64_t latency_us = (o.done_ns - o.sent_ns) / 1000;
  ++s.scenario_requests[slot];
  c.in_flight = 0;
  if (!o.ok) {
    s.record_error(o.error);
    ++s.step_failed[slot];
  } else {
    ++s.requests;
    ++s.responses;
    s.latency_us.record(latency_us);
    Connection& vu = *c.vu;
    if (vu.intended_ns != 0 && plan_.correct_latency && st->deps.empty() && c.redirects == 0) {
      s.corrected_us.record((o.done_ns - vu.intended_ns) / 1000);
      s.queue_us.record((o.sent_ns - vu.intended_ns) / 1000);
    }
    if (o.status != 0) s.record_status(o.status);
    if (o.status >= 400 || o.refused) {
      ++s.failed;
      ++s.step_failed[slot];
    }
    s.step_latency(slot).record(latency_us);
  }
  c.state = ConnState::kStepIdle;
  if (!o.ok) {
    step_finished(c, false);
    release_idle_session(c);
    return;
  }
  plan::CapturedResponse& r = captured_;
  if (o.parts != nullptr) {
    r = *o.parts;
  } else {
    r.headers.clear();
    r.body = {};
    r.rows = -1;
  }
  r.status = o.status;
  r.latency_us = latency_us;
  // HTTP: cookies stored and redirects followed before the step is judged.
  if (st->action == plan::Action::kHttp && o.parts_ok && after_http_response(c, r)) return;
  // A refused reply fails the step as a 5xx would, unless the step's checks expect it.
  bool ok = judge_step(*st, r, o.parts_ok, o.refused ? 500 : o.status, *c.vu->journey);
  step_finished(c, ok);
  release_idle_session(c);
}

// A session with no connection and nothing to do is freed (on the next turn: its callback is
// on the stack): a thinking VU without a socket holds none.
void Worker::release_idle_session(Connection& c) noexcept {
  if (!c.session || c.session->connected() || in_request(c.state)) return;
  retire(std::move(c.session));
}

// A session no VU uses any more: freed on the next turn (its callback may be on the stack),
// and never flushed once gone.
void Worker::retire(std::unique_ptr<proto::Session> s) noexcept {
  if (s->flush_pending) std::erase(flush_queue_, s.get());
  retired_sessions_.push_back(std::move(s));
}

}  // namespace spiker::engine
