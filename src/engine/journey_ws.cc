// Journeys: the ws.* steps on the VU's WebSocket lane, through the WebSocket protocol's session
// like any registered protocol's steps. ws.connect opens it (the step's rendered request is the
// upgrade's head), ws.send and ws.receive use it, ws.close says goodbye; the WebSocket lives
// for one iteration. A step's latency counts from its start: connect + TLS + upgrade, the write,
// or the wait for a matching message.
#include "engine/worker.h"
#include "proto/protocol.h"

namespace spiker::engine {

Connection& Worker::ws_lane(Connection& vu) {
  VuJourney& j = *vu.journey;
  if (j.ws == nullptr) {
    auto lane = std::make_unique<Connection>();
    lane->worker = this;
    lane->vu = &vu;
    lane->state = ConnState::kStepIdle;
    lane->protocol = 0;  // not an HTTP lane (the WebSocket protocol's, from its ws.connect)
    lanes_.push_back(lane.get());
    j.ws = lane.get();
    j.lanes.push_back(std::move(lane));
  }
  return *j.ws;
}

void Worker::ws_step(Connection& vu, uint8_t index) noexcept {
  VuJourney& j = *vu.journey;
  const plan::Step& st = journey_->scenarios[j.scenario].steps[index];
  Connection& lane = ws_lane(vu);
  lane.step = index;
  lane.variant = static_cast<uint8_t>(st.id);
  j.state[index] = VuJourney::kRunning;
  ++j.pending;
  int64_t timeout_ns = st.timeout_ns > 0 ? st.timeout_ns : config_.timeout_ns;
  proto::Exchange x;
  if (st.action == plan::Action::kWsConnect) {
    if (lane.session) lane.session->close();  // a second ws.connect: a new WebSocket
    lane.origin = static_cast<uint8_t>(st.origin);
    lane.protocol = origin_of(lane).protocol->index;
    ensure_session(lane);
    if (!lane.scratch) lane.scratch = std::make_unique<LaneScratch>();
    render_step(lane);  // its headers, cookies and variables
    x.verb = proto::Verb::kConnect;
    x.message = &lane.scratch->message;  // stays until the step ends
    x.stable_payload = true;
    submit(lane, x, timeout_ns);
    return;
  }
  if (st.action == plan::Action::kWsClose) {
    if (!lane.session) {  // nothing open: nothing to close
      proto::Outcome o;
      o.sent_ns = o.done_ns = now();
      on_step_outcome(lane, o);
      return;
    }
    x.verb = proto::Verb::kClose;
    submit(lane, x, timeout_ns);
    return;
  }
  if (!lane.session || !lane.session->connected()) {
    // No WebSocket: its ws.connect failed, or the server closed it.
    ++shard_->scenario_requests[st.id];
    ++shard_->step_failed[st.id];
    shard_->record_error(metrics::ErrorKind::kReset);
    lane.state = ConnState::kStepIdle;
    step_finished(lane, false);
    return;
  }
  if (st.action == plan::Action::kWsSend) {
    const std::string* rows[plan::kMaxSteps];
    plan::RenderContext ctx;
    journey_context(lane, ctx, rows);
    body_buf_.clear();
    st.body.render(body_buf_, ctx);
    x.verb = proto::Verb::kSend;
    x.payload = body_buf_;
    x.binary = st.binary;
  } else {
    x.verb = proto::Verb::kReceive;  // a message that came before the step counts
  }
  submit(lane, x, timeout_ns);
}

}  // namespace spiker::engine
