// WebSocket on the worker's loop. A VU holds one connection: the first iteration connects and
// upgrades it; every iteration sends one message. Echo mode waits for the reply and records the
// round trip as the iteration's latency; fire-and-forget counts what comes back whenever it
// comes. The message interval is the think time between iterations.
#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include "core/clock.h"
#include "core/strings.h"
#include "core/tls.h"
#include "engine/worker.h"

namespace spiker::engine {
using metrics::ErrorKind;

void Worker::ws_start(Connection& c) noexcept {
  if (!c.ws) c.ws = std::make_unique<WsState>();
  if (c.fd < 0) {
    c.ws->reset();
    connect(c);  // then TLS, then start_write() sends the upgrade
    return;
  }
  ws_send(c);
}

void Worker::ws_upgrade(Connection& c) noexcept {
  WsState& w = *c.ws;
  w.key = websocket::new_key(rng_(), rng_());
  if (journeys()) {  // the ws.connect step's request: its headers, cookies, variables
    render_step(c);
    w.out.assign(*c.rendered, 0, c.rendered->size() - 2);  // without the blank line
  } else {
    w.out = config_.requests[c.variant].ws_head;
  }
  w.out += "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ";
  w.out += w.key;
  w.out += "\r\nSec-WebSocket-Version: 13\r\n\r\n";
  w.out_off = 0;
  w.upgrade_sent = true;
  c.state = ConnState::kWriting;
  c.phase_start_ns = now();
  c.deadline_ns = c.phase_start_ns + config_.timeout_ns;
  if (ws_flush(c)) c.state = ConnState::kReading;  // the 101 comes next
}

void Worker::ws_send(Connection& c) noexcept {
  WsState& w = *c.ws;
  std::string_view message;
  if (journeys()) {  // a ws.send step: its body, rendered
    const plan::Step& st = journey_->scenarios[c.vu->journey->scenario].steps[c.step];
    const std::string* rows[plan::kMaxSteps];
    plan::RenderContext ctx;
    journey_context(c, ctx, rows);
    body_buf_.clear();
    st.body.render(body_buf_, ctx);
    message = body_buf_;
  } else if (const RequestVariant& v = config_.requests[c.variant]; !v.dynamic) {
    message = v.message;
  } else {
    plan::RenderContext ctx;
    plain_context(c, ctx);
    ctx.request_id = next_request_id();
    body_buf_.clear();
    config_.requests[c.variant].dynamic->body.render(body_buf_, ctx);
    message = body_buf_;
  }
  uint64_t r = rng_();
  uint8_t mask[4];
  std::memcpy(mask, &r, 4);
  if (w.out_off == w.out.size()) {
    w.out.clear();
    w.out_off = 0;
  }
  bool binary = journeys() ? journey_->scenarios[c.vu->journey->scenario].steps[c.step].binary
                           : config_.ws_binary;
  websocket::append_frame(w.out, binary ? websocket::Opcode::kBinary : websocket::Opcode::kText,
                          message, true, mask);
  websocket::count(*shard_, websocket::kSent);
  websocket::count(*shard_, websocket::kBytesSent, message.size());
  c.state = ConnState::kWriting;
  c.in_flight = 1;
  c.batch = 0;
  c.phase_start_ns = now();
  c.deadline_ns = c.phase_start_ns + config_.timeout_ns;
  if (!ws_flush(c)) return;  // EPOLLOUT finishes it (or it failed)
  if (journeys()) {
    ws_step_done(c, "");
    return;
  }
  if (!config_.ws_fire_and_forget) {
    w.awaiting = true;
    c.state = ConnState::kReading;
    return;
  }
  // Fire and forget: the iteration is the send. The next one starts on the next loop turn,
  // not from here (no recursion when there is no interval).
  metrics::Shard& s = *shard_;
  ++s.requests;
  ++s.responses;
  ++s.scenario_requests[c.variant];
  c.in_flight = 0;
  if (!config_.keep_alive) {  // --disable-keepalive: a connection per message
    ws_goodbye(c);
    close_socket(c);
  }
  end_iteration(c, now(), false);
}

bool Worker::ws_flush(Connection& c) noexcept {
  WsState& w = *c.ws;
  while (w.out_off < w.out.size()) {
    const char* p = w.out.data() + w.out_off;
    size_t left = w.out.size() - w.out_off;
    size_t n = 0;
    Io r = io_write(c.fd, c.ssl, c.tls_read, c.tls_written, p, left, &n);
    if (r == Io::kAgain) return false;  // EPOLLOUT resumes
    if (r != Io::kOk) {
      ws_lost(c, ErrorKind::kReset);
      return false;
    }
    w.out_off += n;
  }
  return true;
}

void Worker::ws_on_event(Connection& c, uint32_t events) noexcept {
  WsState& w = *c.ws;
  if ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) != 0 && w.out_off < w.out.size()) {
    bool was_writing = c.state == ConnState::kWriting;
    if (!ws_flush(c)) return;
    if (was_writing) {  // the upgrade or a message finished writing
      if (!w.open) {
        c.state = ConnState::kReading;
      } else if (journeys()) {
        ws_step_done(c, "");  // a ws.send
      } else if (!config_.ws_fire_and_forget) {
        w.awaiting = true;
        c.state = ConnState::kReading;
      } else {
        ++shard_->requests;
        ++shard_->responses;
        ++shard_->scenario_requests[c.variant];
        c.in_flight = 0;
        if (!config_.keep_alive) {  // --disable-keepalive: a connection per message
          ws_goodbye(c);
          close_socket(c);
        }
        end_iteration(c, now(), false);
      }
    }
  }
  if (c.fd >= 0 && (events & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP)) != 0) ws_read(c);
}

void Worker::ws_read(Connection& c) noexcept {
  char* buf = read_buf_.data();
  size_t cap = read_buf_.size();
  for (;;) {
    size_t got = 0;
    Io r = io_read(c.fd, c.ssl, c.tls_read, c.tls_written, buf, cap, &got);
    if (r == Io::kAgain) return;
    if (r != Io::kOk) return ws_lost(c, ErrorKind::kReset);
    WsState& w = *c.ws;
    if (!w.open) {
      w.head.append(buf, got);
      if (!ws_take_head(c)) return;
    } else {
      w.reader.append(buf, got);
    }
    if (!ws_frames(c)) return;
    if (c.ssl == nullptr && got < cap) return;
  }
}

// Frames received: a reply ends the iteration (echo); pings are answered; a close or an invalid
// frame ends the connection. False when the connection is gone.
bool Worker::ws_frames(Connection& c) noexcept {
  for (;;) {
    if (c.fd < 0 || !c.ws->open) return false;
    websocket::Event e = c.ws->reader.next();
    if (e.kind == websocket::Event::kNone) break;
    metrics::Shard& s = *shard_;
    switch (e.kind) {
      case websocket::Event::kMessage: {
        websocket::count(s, websocket::kReceived);
        websocket::count(s, websocket::kBytesReceived, e.payload.size());
        if (journeys()) {
          ws_journey_message(c, e.payload);
        } else if (c.ws->awaiting && c.state == ConnState::kReading) {
          c.ws->awaiting = false;
          int64_t now = this->now();
          s.latency_us.record((now - c.phase_start_ns) / 1000);
          if (c.intended_ns != 0 && plan_.correct_latency) {
            s.corrected_us.record((now - c.intended_ns) / 1000);
            s.queue_us.record((c.phase_start_ns - c.intended_ns) / 1000);
          }
          ++s.requests;
          ++s.responses;
          ++s.scenario_requests[c.variant];
          c.in_flight = 0;
          c.deadline_ns = 0;
          if (!config_.keep_alive) {  // --disable-keepalive: a connection per message
            ws_goodbye(c);
            close_socket(c);
          }
          end_iteration(c, now, c.fd >= 0);
        }
        break;
      }
      case websocket::Event::kPing: {
        uint64_t r = rng_();
        uint8_t mask[4];
        std::memcpy(mask, &r, 4);
        websocket::append_frame(c.ws->out, websocket::Opcode::kPong, e.payload, true, mask);
        if (c.state != ConnState::kWriting) ws_flush(c);
        break;
      }
      case websocket::Event::kPong:
        break;
      case websocket::Event::kClose: {
        uint64_t r = rng_();
        uint8_t mask[4];
        std::memcpy(mask, &r, 4);
        websocket::append_close(c.ws->out, e.close_code == 1005 ? 0 : e.close_code, "", mask);
        ws_flush(c);
        if (c.fd >= 0) ws_lost(c, ErrorKind::kReset);
        return false;
      }
      case websocket::Event::kError: {
        websocket::count(s, websocket::kProtocolErrors);
        uint64_t r = rng_();
        uint8_t mask[4];
        std::memcpy(mask, &r, 4);
        websocket::append_close(c.ws->out, websocket::kCloseProtocolError, "", mask);
        ws_flush(c);
        if (c.fd >= 0) ws_lost(c, ErrorKind::kHttp);
        return false;
      }
      default:
        break;
    }
  }
  return true;
}

bool Worker::ws_take_head(Connection& c) noexcept {
  WsState& w = *c.ws;
  size_t end = w.head.find("\r\n\r\n");
  if (end == std::string::npos) {
    if (w.head.size() > 16 * 1024) fail(c, ErrorKind::kHttp);  // no end in sight
    return false;
  }
  std::string_view head(w.head.data(), end + 2);
  int status = 0;
  if (head.starts_with("HTTP/1.1 ") && head.size() > 12) {
    std::from_chars(head.data() + 9, head.data() + 12, status);
  }
  bool upgrade = false, connection = false, accept = false;
  std::string want = websocket::accept_key(w.key);
  size_t at = head.find("\r\n") + 2;
  while (at < head.size()) {
    size_t eol = head.find("\r\n", at);
    std::string_view line = head.substr(at, eol - at);
    at = eol + 2;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view name = trim(line.substr(0, colon));
    std::string_view value = trim(line.substr(colon + 1));
    if (iequals(name, "upgrade")) upgrade = iequals(value, "websocket");
    if (iequals(name, "connection")) connection = has_token(value, "upgrade");
    if (iequals(name, "sec-websocket-accept")) accept = value == want;
  }
  if (status != 101 || !upgrade || !connection || !accept) {
    fail(c, ErrorKind::kHttp);  // counted as a failed upgrade
    return false;
  }
  int64_t now = this->now();
  shard_->block_histogram(websocket::stats().histogram(websocket::kHandshakeUs))
      .record((now - c.phase_start_ns) / 1000);
  websocket::count(*shard_, websocket::kEstablished);
  w.open = true;
  w.reader.append(w.head.data() + end + 4, w.head.size() - end - 4);  // frames right behind
  w.head.clear();
  w.head.shrink_to_fit();
  if (journeys()) {
    ws_step_done(c, "");  // ws.connect is done
  } else {
    ws_send(c);  // this iteration's message
  }
  return c.fd >= 0;
}

void Worker::ws_lost(Connection& c, ErrorKind kind) noexcept {
  // The server closed the connection (close frame, EOF, reset) or broke the protocol.
  if (c.ws->open) websocket::count(*shard_, websocket::kDisconnects);
  bool in_flight = in_request(c.state);
  close_socket(c);
  // A message waiting for its reply fails; during the upgrade, fail() counts a failed upgrade.
  if (in_flight) fail(c, kind);
}

void Worker::ws_goodbye(Connection& c) noexcept {
  if (!c.ws || !c.ws->open || c.fd < 0) return;
  // A close frame, best effort, so servers see a clean end rather than a reset.
  uint64_t r = rng_();
  uint8_t mask[4];
  std::memcpy(mask, &r, 4);
  c.ws->out.clear();
  c.ws->out_off = 0;
  websocket::append_close(c.ws->out, websocket::kCloseNormal, "", mask);
  ws_flush(c);
}

// Journeys: the ws.* steps on the VU's WebSocket lane. A step's latency counts from its start
// (lane.intended_ns): connect + TLS + upgrade, the write, or the wait for a matching message.
void Worker::ws_step(Connection& lane, const plan::Step& st) noexcept {
  int64_t now = this->now();
  lane.intended_ns = now;
  WsState& w = *lane.ws;
  bool open = lane.fd >= 0 && w.open;
  if (st.action == plan::Action::kWsConnect) {
    if (lane.fd >= 0) {
      ws_goodbye(lane);
      close_socket(lane);
    }
    lane.origin = static_cast<uint8_t>(st.origin);
    w.reset();
    connect(lane);  // then TLS, then start_write() sends the upgrade
    return;
  }
  if (st.action == plan::Action::kWsClose) {
    if (open) ws_goodbye(lane);
    close_socket(lane);
    ws_step_done(lane, "");
    return;
  }
  if (!open) {  // no WebSocket: its ws.connect failed, or the server closed it
    ++shard_->scenario_requests[st.id];
    ++shard_->step_failed[st.id];
    shard_->record_error(metrics::ErrorKind::kReset);
    lane.batch = 0;
    lane.state = ConnState::kStepIdle;
    step_finished(lane, false);
    return;
  }
  if (st.action == plan::Action::kWsSend) {
    ws_send(lane);
    return;
  }
  // ws.receive: a message that came before the step counts; ones that do not match are skipped.
  while (!w.inbox.empty()) {
    std::string message = std::move(w.inbox.front());
    w.inbox.erase(w.inbox.begin());
    if (ws_matches(st, message)) {
      ws_step_done(lane, message);
      return;
    }
  }
  w.awaiting = true;
  lane.state = ConnState::kReading;
  lane.in_flight = 1;
  lane.batch = 0;
  lane.phase_start_ns = now;
  lane.deadline_ns = now + (st.timeout_ns > 0 ? st.timeout_ns : config_.timeout_ns);
}

bool Worker::ws_matches(const plan::Step& st, std::string_view message) noexcept {
  if (st.match.empty()) return true;
  plan::CapturedResponse& r = captured_;
  r.headers.clear();
  r.status = 101;
  r.body = message;
  return st.match.front().passes(r, *extract_scratch_);
}

void Worker::ws_journey_message(Connection& lane, std::string_view message) noexcept {
  WsState& w = *lane.ws;
  if (w.awaiting && lane.state == ConnState::kReading) {
    const plan::Step& st = journey_->scenarios[lane.vu->journey->scenario].steps[lane.step];
    if (ws_matches(st, message)) ws_step_done(lane, message);
    return;  // not the one this ws.receive waits for: skipped
  }
  if (w.inbox.size() >= 64) w.inbox.erase(w.inbox.begin());  // bounded: the oldest goes
  w.inbox.emplace_back(message);
}

// A ws.receive that waited in vain: the step fails, the WebSocket stays open for the next.
void Worker::ws_receive_timed_out(Connection& lane) noexcept {
  shard_->record_error(ErrorKind::kTimeout);
  ++shard_->scenario_requests[lane.variant];
  ++shard_->step_failed[lane.variant];
  lane.ws->awaiting = false;
  lane.in_flight = 0;
  lane.batch = 0;
  lane.deadline_ns = 0;
  lane.state = ConnState::kStepIdle;
  step_finished(lane, false);
}

void Worker::ws_step_done(Connection& lane, std::string_view message) noexcept {
  VuJourney& j = *lane.vu->journey;
  const plan::Step& st = journey_->scenarios[j.scenario].steps[lane.step];
  metrics::Shard& s = *shard_;
  int64_t latency_us = (now() - lane.intended_ns) / 1000;
  s.latency_us.record(latency_us);
  ++s.requests;
  ++s.responses;
  ++s.scenario_requests[st.id];
  s.step_latency(st.id).record(latency_us);
  lane.in_flight = 0;
  lane.batch = 0;
  lane.deadline_ns = 0;
  lane.ws->awaiting = false;
  lane.state = ConnState::kStepIdle;
  plan::CapturedResponse& r = captured_;
  r.headers.clear();
  r.status = 101;  // the WebSocket's: checks read the message as the body
  r.body = message;
  r.latency_us = latency_us;
  bool ok = judge_step(st, r, true, 101, j);
  step_finished(lane, ok);
}

}  // namespace spiker::engine
