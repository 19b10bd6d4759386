#include "proto/transport_session.h"

#include <sys/epoll.h>

#include <algorithm>

#include "core/socket.h"
#include "metrics/shard.h"

namespace spiker::proto {

void TransportSession::submit(const Exchange& x) noexcept {
  exchange_ = x;
  busy_ = true;
  retried_ = false;
  started_ns_ = 0;
  submitted_ns_ = 0;
  out_ = {};
  out_off_ = 0;
  if (x.verb != Verb::kReceive) {
    if (x.stable_payload) {
      out_ = x.payload;
    } else {
      if (!out_copy_) out_copy_ = std::make_unique<std::string>();
      out_copy_->assign(x.payload.data(), x.payload.size());
      out_ = *out_copy_;
    }
  }
  if (x.verb == Verb::kClose) {  // the protocol's goodbye (close()), then done
    close();
    started_ns_ = submitted_ns_ = host_.now();
    finish({});
    return;
  }
  if (!transport_.is_open()) {
    if (transport_.phase() == Transport::Phase::kClosed) connect();
    return;  // opened() starts it
  }
  begin();
}

void TransportSession::begin() noexcept {
  started_ns_ = host_.now();
  if (submitted_ns_ == 0) submitted_ns_ = started_ns_;
  if (exchange_.deadline_ns == 0 && exchange_.timeout_ns > 0) {
    exchange_.deadline_ns = started_ns_ + exchange_.timeout_ns;
  }
  start();
}

void TransportSession::connect() noexcept {
  const SocketAddress& addr = host_.next_address(options_.endpoint);
  connect_start_ns_ = host_.now();
  if (busy_ && submitted_ns_ == 0) submitted_ns_ = connect_start_ns_;
  int err = transport_.open(addr, kind_, host_.epoll_fd(), this, options_.endpoint.tunnel);
  if (err != 0) {
    fail(err == EMFILE || err == ENFILE ? metrics::ErrorKind::kOther : classify_errno(err));
    return;
  }
  ++host_.shard().connections_opened;
  reused_ = false;
  connect_deadline_ns_ = connect_start_ns_ + options_.connect_timeout_ns;
  if (transport_.is_open()) opened();  // UDP: nothing to wait for
}

void TransportSession::opened() noexcept {
  connect_deadline_ns_ = 0;
  int64_t now = host_.now();
  if (kind_ == Transport::Kind::kTcp) {
    host_.shard().connect_us.record((now - connect_start_ns_) / 1000);
  }
  if (kind_ == Transport::Kind::kTls) {
    host_.shard().tls_handshake_us.record((now - handshake_start_ns_) / 1000);
    if (transport_.resumed()) ++host_.shard().tls_resumed;
  }
  account();
  if (!busy_) return;
  begin();
}

void TransportSession::flush() noexcept {
  flush_pending = false;
  reads_left_ = kReadsPerTurn;
  if (transport_.is_open()) on_events(EPOLLIN);
}

void TransportSession::on_io(uint32_t events) noexcept {
  reads_left_ = kReadsPerTurn;
  Transport::Phase before = transport_.phase();
  if (before == Transport::Phase::kConnecting || before == Transport::Phase::kTunneling ||
      before == Transport::Phase::kHandshaking) {
    int64_t at = host_.now();
    if (connect_deadline_ns_ != 0 && at >= connect_deadline_ns_) {
      // Its time is up, even when the loop sees the connection before the deadline scan does:
      // --connect-timeout holds however busy the worker is.
      connect_deadline_ns_ = 0;
      fail(metrics::ErrorKind::kConnect);
      return;
    }
    Transport::Io r =
        transport_.progress(options_.endpoint.tls, options_.endpoint.host, options_.tls_cache);
    account();
    if (before == Transport::Phase::kConnecting && kind_ == Transport::Kind::kTls &&
        transport_.phase() != Transport::Phase::kConnecting) {
      host_.shard().connect_us.record((at - connect_start_ns_) / 1000);  // TCP's part
      handshake_start_ns_ = at;
    }
    if (r == Transport::Io::kAgain) return;
    if (r != Transport::Io::kOk) {
      fail(classify_errno(transport_.error()));
      return;
    }
    opened();
    return;
  }
  if (transport_.is_open()) on_events(events);
}

bool TransportSession::write_payload() noexcept {
  while (out_off_ < out_.size()) {
    size_t n = 0;
    Transport::Io r = transport_.write(out_.data() + out_off_, out_.size() - out_off_, &n);
    if (r == Transport::Io::kAgain) break;
    if (r != Transport::Io::kOk) {
      account();
      fail(classify_errno(transport_.error()));
      return false;
    }
    out_off_ += n;
  }
  account();
  return out_off_ == out_.size();
}

void TransportSession::end() noexcept {
  busy_ = false;
  if (!options_.keep_alive) close();
}

bool TransportSession::resend_on_stale() noexcept {
  if (!busy_ || !reused_ || retried_) return false;
  retried_ = true;
  account();
  transport_.close();
  out_off_ = 0;
  exchange_.deadline_ns = 0;  // from the new start
  connect();
  return true;
}

void TransportSession::finish(std::string_view body, int status) noexcept {
  reused_ = true;
  Outcome o;
  o.ok = true;
  o.status = status;
  o.sent_ns = started_ns_;
  o.done_ns = host_.now();
  plan::CapturedResponse parts;
  parts.status = status;
  parts.body = body;
  o.parts = &parts;
  end();
  host_.complete(*this, o);
}

void TransportSession::give_up(metrics::ErrorKind kind) noexcept {
  Outcome o;
  o.ok = false;
  o.error = kind;
  o.done_ns = host_.now();
  o.sent_ns = started_ns_ != 0 ? started_ns_ : o.done_ns;
  busy_ = false;
  host_.complete(*this, o);
}

void TransportSession::fail(metrics::ErrorKind kind) noexcept {
  on_failure(kind);
  account();
  transport_.close();
  if (!busy_) return;  // between exchanges: the next one reconnects
  uint16_t n = std::max<uint16_t>(unanswered(), 1);
  int64_t now = host_.now();
  for (uint16_t i = 0; i < n; ++i) {
    Outcome o;
    o.ok = false;
    o.error = kind;
    o.sent_ns = started_ns_ != 0 ? started_ns_ : now;
    o.done_ns = now;
    if (i + 1 == n) busy_ = false;
    host_.complete(*this, o);
  }
}

void TransportSession::timed_out() noexcept { fail(metrics::ErrorKind::kTimeout); }

void TransportSession::check_deadline(int64_t now) noexcept {
  if (connect_deadline_ns_ != 0 && now >= connect_deadline_ns_ && !transport_.is_open() &&
      transport_.phase() != Transport::Phase::kClosed) {
    connect_deadline_ns_ = 0;
    fail(metrics::ErrorKind::kConnect);
    return;
  }
  if (busy_ && exchange_.deadline_ns != 0 && now >= exchange_.deadline_ns) timed_out();
}

void TransportSession::close() noexcept {
  account();
  transport_.close();
  connect_deadline_ns_ = 0;
}

}  // namespace spiker::proto
