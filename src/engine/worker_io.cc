// The worker's I/O half: one iteration's request on a VU's connection, non-blocking, driven by
// the worker's edge-triggered epoll loop.
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "core/clock.h"
#include "core/tls.h"
#include "engine/worker.h"

namespace spiker::engine {
namespace {

using metrics::ErrorKind;

using proto::classify_errno;

}  // namespace

void Worker::start_request(Connection& c) noexcept {
  if (origin_of(c).protocol != nullptr) {
    session_start(c);
  } else {
    h2_start(c);
  }
}

void Worker::plain_context(const Connection& c, plan::RenderContext& ctx) noexcept {
  ctx.vu_id = static_cast<uint64_t>(&c - conns_.data()) * static_cast<uint64_t>(count_) +
              static_cast<uint64_t>(index_) + 1;
  ctx.iteration = c.iterations;
  ctx.rng = &rng_;
}

void Worker::render(Connection& c) {
  const DynamicRequest& d = *config_.requests[c.variant].dynamic;
  if (!c.rendered) c.rendered = std::make_unique<std::string>();
  std::string& out = *c.rendered;
  out.clear();
  plan::RenderContext ctx;
  plain_context(c, ctx);
  for (uint16_t i = 0; i < c.batch; ++i) {
    ctx.request_id = next_request_id();
    d.head.render(out, ctx);
    body_buf_.clear();
    d.body.render(body_buf_, ctx);
    if (d.content_length) {
      out += "Content-Length: ";
      out += std::to_string(body_buf_.size());
      out += "\r\n";
    }
    out += "\r\n";
    out += body_buf_;
  }
}

void Worker::count_tls(ssl_st* ssl, uint64_t& read, uint64_t& written) noexcept {
  uint64_t r, w;
  tls_wire_bytes(ssl, &r, &w);
  shard_->bytes_received += r - read;
  shard_->bytes_sent += w - written;
  read = r;
  written = w;
}

Worker::Io Worker::io_read(int fd, ssl_st* ssl, uint64_t& tls_in, uint64_t& tls_out, char* buf,
                           size_t cap, size_t* got) noexcept {
  if (ssl != nullptr) {
    TlsIo r = tls_read(ssl, buf, cap, got);
    count_tls(ssl, tls_in, tls_out);
    if (r == TlsIo::kWantRead || r == TlsIo::kWantWrite) return Io::kAgain;
    if (r == TlsIo::kEof) return Io::kEof;
    return r == TlsIo::kDone ? Io::kOk : Io::kError;
  }
  for (;;) {
    ssize_t n = ::read(fd, buf, cap);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno == EAGAIN ? Io::kAgain : Io::kError;
    if (n == 0) return Io::kEof;
    *got = static_cast<size_t>(n);
    shard_->bytes_received += *got;
    return Io::kOk;
  }
}

Worker::Io Worker::io_write(int fd, ssl_st* ssl, uint64_t& tls_in, uint64_t& tls_out, const char* p,
                            size_t len, size_t* wrote) noexcept {
  if (ssl != nullptr) {
    TlsIo r = tls_write(ssl, p, len, wrote);
    count_tls(ssl, tls_in, tls_out);
    if (r == TlsIo::kWantRead || r == TlsIo::kWantWrite) return Io::kAgain;
    return r == TlsIo::kDone ? Io::kOk : Io::kError;
  }
  for (;;) {
    ssize_t n = ::write(fd, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno == EAGAIN ? Io::kAgain : Io::kError;
    *wrote = static_cast<size_t>(n);
    shard_->bytes_sent += *wrote;
    return Io::kOk;
  }
}

// An HTTP/2 stream's response (HTTP/1.1 and registered protocols complete through on_outcome).
void Worker::on_response(Connection& c, int64_t now_ns, int status, bool keep_alive) noexcept {
  if (journeys()) {
    on_step_response(c, now_ns, status, keep_alive);
    return;
  }
  metrics::Shard& s = *shard_;
  s.latency_us.record((now_ns - c.phase_start_ns) / 1000);
  if (c.intended_ns != 0 && plan_.correct_latency) {
    s.corrected_us.record((now_ns - c.intended_ns) / 1000);
    s.queue_us.record((c.phase_start_ns - c.intended_ns) / 1000);
  }
  ++s.requests;
  ++s.responses;
  ++s.scenario_requests[c.variant];
  s.record_status(status);
  if (status >= 400) {
    ++s.failed;
    ++s.step_failed[c.variant];
  }
  if (weight_upto_.size() > 1) s.step_latency(c.variant).record((now_ns - c.phase_start_ns) / 1000);
  --c.in_flight;
  c.retried = false;
  if (!keep_alive) close_socket(c);
  end_iteration(c, now_ns, c.link != nullptr);
}

void Worker::fail(Connection& c, ErrorKind kind) noexcept {
  uint16_t n = std::max(c.in_flight, c.batch);  // requests this failure ends
  for (uint16_t i = 0; i < n; ++i) shard_->record_error(kind);
  shard_->scenario_requests[c.variant] += n;
  shard_->step_failed[c.variant] += n;
  c.in_flight = 0;
  c.batch = 0;
  c.retried = false;
  close_socket(c);
  if (!in_request(c.state)) return;
  if (journeys()) {
    c.state = ConnState::kStepIdle;
    step_finished(c, false);
  } else {
    end_iteration(c, now(), false);
  }
}

void Worker::close_socket(Connection& c) noexcept {
  if (c.session) c.session->close();
  if (c.link != nullptr) h2_detach(c);
  c.deadline_ns = 0;
}

void Worker::scan_deadlines(int64_t now_ns) noexcept {
  auto check = [&](Connection& c) {
    if (c.session || c.deadline_ns == 0 || now_ns < c.deadline_ns || !in_request(c.state)) return;
    bool connecting = c.state == ConnState::kConnecting || c.state == ConnState::kHandshaking;
    fail(c, connecting ? ErrorKind::kConnect : ErrorKind::kTimeout);
  };
  for (Connection& c : conns_) {
    if (c.session) c.session->check_deadline(now_ns);
    check(c);
  }
  for (size_t i = 0; i < lanes_.size(); ++i) {  // a failure may add lanes
    if (lanes_[i]->session) lanes_[i]->session->check_deadline(now_ns);
    check(*lanes_[i]);
  }
  for (auto& l : links_) {
    if (l && l->deadline_ns != 0 && now_ns >= l->deadline_ns) {
      h2_link_failed(*l, ErrorKind::kConnect);
    }
  }
}

}  // namespace spiker::engine
