// HTTP/2 on the worker's loop: each VU's request is a stream on a link (one connection) shared
// by the VUs of its slot, up to --max-streams of them and the server's concurrent-stream limit.
// A link connects when its first VU needs it; VUs wait on it while it connects or is full.
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>

#include "core/clock.h"
#include "core/tls.h"
#include "engine/worker.h"

namespace spiker::engine {
namespace {

using metrics::ErrorKind;

constexpr size_t kOutChunk = 64 * 1024;  // frames gathered per write

}  // namespace

H2Link& Worker::link_for(const Connection& c) {
  const Connection& vu = c.vu != nullptr ? *c.vu : c;
  size_t slot = static_cast<size_t>(&vu - conns_.data()) / static_cast<size_t>(config_.max_streams);
  size_t index = slot * config_.origins.size() + c.origin;
  if (index >= links_.size()) links_.resize(index + 1);
  if (!links_[index]) {
    links_[index] = std::make_unique<H2Link>();
    links_[index]->worker = this;
    links_[index]->origin = c.origin;
  }
  return *links_[index];
}

void Worker::h2_start(Connection& c) noexcept {
  H2Link& l = link_for(c);
  c.link = &l;
  c.state = ConnState::kConnecting;  // until its stream is opened
  c.deadline_ns = 0;                 // the link's connect deadline applies
  if (l.state == H2Link::State::kOpen && !l.goaway && l.waiting.empty() &&
      l.active < l.session->peer_max_streams()) {
    h2_send(l, c);
    return;
  }
  l.waiting.push_back(&c);
  if (l.state == H2Link::State::kIdle) h2_connect(l);
}

void Worker::h2_send(H2Link& l, Connection& c) noexcept {
  const http2::Request* req = &h2_scratch_;
  bool borrow = false;
  int64_t timeout = config_.timeout_ns;
  const std::string& scheme = config_.origins[l.origin].scheme;
  if (journeys()) {
    render_step(c);
    const plan::Step& st = journey_->scenarios[c.vu->journey->scenario].steps[c.step];
    if (st.timeout_ns > 0) timeout = st.timeout_ns;
    c.scratch->head_done = false;
    if (!http2::from_http1(*c.rendered, scheme, &h2_scratch_)) return fail(c, ErrorKind::kOther);
  } else if (config_.requests[c.variant].dynamic) {
    render(c);
    if (!http2::from_http1(*c.rendered, scheme, &h2_scratch_)) return fail(c, ErrorKind::kOther);
  } else {
    req = &h2_requests_[c.variant];
    borrow = true;
  }
  int32_t id = l.session->submit(*req, &c, borrow);
  if (id < 0) {  // stream ids used up: a fresh connection takes over
    l.goaway = true;
    l.waiting.push_back(&c);
    return;
  }
  c.stream = id;
  c.status = 0;
  ++l.active;
  // --disable-keepalive: one request per connection, as for every connection protocol; the
  // link closes when this stream ends and the next request connects anew.
  if (!config_.keep_alive) l.goaway = true;
  c.state = ConnState::kReading;
  c.in_flight = 1;
  c.batch = 0;
  c.phase_start_ns = now();
  c.deadline_ns = c.phase_start_ns + timeout;
  if (!l.dirty) {
    l.dirty = true;
    dirty_links_.push_back(&l);
  }
}

void Worker::h2_connect(H2Link& l) noexcept {
  const OriginConfig& o = config_.origins[l.origin];
  const SocketAddress& addr = o.addresses[next_address_++ % o.addresses.size()];
  l.phase_start_ns = now();
  l.state = H2Link::State::kConnecting;
  l.goaway = false;
  int fd = start_connect(addr);
  if (fd < 0) {
    int err = -fd;
    l.fd = -1;
    // The same mapping as every other connection (proto::classify_errno).
    h2_link_failed(l,
                   err == EMFILE || err == ENFILE ? ErrorKind::kOther : proto::classify_errno(err));
    return;
  }
  l.fd = fd;
  l.deadline_ns = l.phase_start_ns + config_.connect_timeout_ns;
  ++shard_->connections_opened;
  if (loop_.add(fd, EPOLLIN | EPOLLOUT | EPOLLET | EPOLLRDHUP, &l) != 0) {
    h2_link_failed(l, ErrorKind::kOther);
  }
}

void Worker::on_link_event(H2Link& l, uint32_t events) noexcept {
  switch (l.state) {
    case H2Link::State::kConnecting: {
      int err = socket_error(l.fd);
      if (err != 0) {
        h2_link_failed(l, proto::classify_errno(err));
        return;
      }
      int64_t now = this->now();
      shard_->connect_us.record((now - l.phase_start_ns) / 1000);
      const OriginConfig& o = config_.origins[l.origin];
      if (o.tls == nullptr) {
        h2_open(l);
        return;
      }
      l.ssl = o.tls->new_session(l.fd, o.host, &tls_sessions_);
      if (l.ssl == nullptr) {
        h2_link_failed(l, ErrorKind::kOther);
        return;
      }
      l.tls_read = l.tls_written = 0;
      l.state = H2Link::State::kHandshaking;
      l.phase_start_ns = now;
      h2_handshake(l);
      return;
    }
    case H2Link::State::kHandshaking:
      h2_handshake(l);
      return;
    case H2Link::State::kOpen:
      if ((events & EPOLLOUT) != 0 && l.want_out) h2_flush(l);
      if (l.state == H2Link::State::kOpen &&
          (events & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP)) != 0) {
        h2_read(l);
      }
      return;
    case H2Link::State::kIdle:
      return;
  }
}

void Worker::h2_handshake(H2Link& l) noexcept {
  TlsIo r = tls_handshake(l.ssl);
  count_tls(l.ssl, l.tls_read, l.tls_written);
  if (r == TlsIo::kWantRead || r == TlsIo::kWantWrite) return;
  if (r != TlsIo::kDone || tls_alpn(l.ssl) != "h2") {  // a server that will not speak h2
    h2_link_failed(l, ErrorKind::kTls);
    return;
  }
  shard_->tls_handshake_us.record((now() - l.phase_start_ns) / 1000);
  if (tls_resumed(l.ssl)) ++shard_->tls_resumed;
  h2_open(l);
}

void Worker::h2_open(H2Link& l) noexcept {
  l.state = H2Link::State::kOpen;
  l.deadline_ns = 0;
  l.session =
      std::make_unique<http2::Session>(static_cast<http2::Listener&>(*this), config_.h2_window);
  h2_read(l);  // the server's first frames may have come with the handshake; sends the waiting
}

void Worker::h2_pump(H2Link& l) noexcept {
  size_t n = 0;
  while (n < l.waiting.size() && l.state == H2Link::State::kOpen && !l.goaway &&
         l.active < l.session->peer_max_streams()) {
    Connection* c = l.waiting[n];
    l.waiting[n++] = nullptr;  // sent (or failed): no longer waiting
    h2_send(l, *c);
  }
  if (n > 0) {
    l.waiting.erase(std::remove(l.waiting.begin(), l.waiting.end(), nullptr), l.waiting.end());
  }
}

void Worker::h2_read(H2Link& l) noexcept {
  char* buf = read_buf_.data();
  size_t cap = read_buf_.size();
  h2_current_ = &l;
  for (;;) {
    size_t got = 0;
    Io r = io_read(l.fd, l.ssl, l.tls_read, l.tls_written, buf, cap, &got);
    if (r == Io::kAgain) break;
    if (r != Io::kOk) {  // closed or reset: what is in flight fails with the connection
      h2_current_ = nullptr;
      h2_link_failed(l, ErrorKind::kReset);
      return;
    }
    if (!l.session->receive(buf, got)) {  // a protocol error: the session is over
      h2_current_ = nullptr;
      h2_flush(l);  // our GOAWAY, when it can go
      h2_link_failed(l, ErrorKind::kHttp);
      return;
    }
    if (l.ssl == nullptr && got < cap) break;
  }
  h2_current_ = nullptr;
  h2_after_io(l);
}

void Worker::h2_after_io(H2Link& l) noexcept {
  if (l.goaway && l.active == 0) {
    // Drained after the server's GOAWAY: VUs still waiting get a new connection.
    h2_close_link(l);
    if (!l.waiting.empty()) h2_connect(l);
    return;
  }
  h2_pump(l);
  h2_flush(l);
}

void Worker::h2_flush(H2Link& l) noexcept {
  if (l.state != H2Link::State::kOpen) return;
  for (;;) {
    if (l.out_off == l.out.size()) {
      l.out.clear();
      l.out_off = 0;
      if (!l.session->take_output(l.out, kOutChunk)) {
        h2_link_failed(l, ErrorKind::kOther);
        return;
      }
      if (l.out.empty()) break;
    }
    const char* p = l.out.data() + l.out_off;
    size_t left = l.out.size() - l.out_off;
    size_t wrote = 0;
    Io r = io_write(l.fd, l.ssl, l.tls_read, l.tls_written, p, left, &wrote);
    if (r == Io::kAgain) {
      l.want_out = true;  // EPOLLOUT resumes
      return;
    }
    if (r != Io::kOk) {
      h2_link_failed(l, ErrorKind::kReset);
      return;
    }
    l.out_off += wrote;
  }
  l.want_out = false;
  if (l.goaway && l.active == 0 && l.session->finished()) h2_close_link(l);
}

void Worker::flush_links() noexcept {
  for (size_t i = 0; i < dirty_links_.size(); ++i) {  // a flush never adds links
    H2Link& l = *dirty_links_[i];
    l.dirty = false;
    h2_flush(l);
  }
  dirty_links_.clear();
}

void Worker::h2_close_link(H2Link& l) noexcept {
  if (l.ssl != nullptr) {
    tls_free(l.ssl);
    l.ssl = nullptr;
  }
  if (l.fd >= 0) {
    ::close(l.fd);
    l.fd = -1;
  }
  l.session.reset();
  l.state = H2Link::State::kIdle;
  l.active = 0;
  l.goaway = false;
  l.want_out = false;
  l.deadline_ns = 0;
  l.out.clear();
  l.out_off = 0;
}

void Worker::h2_link_failed(H2Link& l, ErrorKind kind) noexcept {
  bool was_open = l.state == H2Link::State::kOpen;
  h2_close_link(l);
  // Streams in flight fail with the connection. VUs waiting for it fail too when it never
  // opened; when it did (a close after GOAWAY, a reset), their requests were never sent:
  // they get a new connection.
  std::vector<Connection*> gone;
  if (!was_open) gone.swap(l.waiting);
  auto collect = [&](Connection& c) {
    if (c.link == &l && c.stream > 0) {
      c.stream = 0;
      gone.push_back(&c);
    }
  };
  for (Connection& c : conns_) collect(c);
  for (Connection* c : lanes_) collect(*c);
  for (Connection* c : gone) {
    c->link = nullptr;
    if (in_request(c->state)) fail(*c, kind);
  }
  if (was_open && !l.waiting.empty() && l.state == H2Link::State::kIdle) h2_connect(l);
}

void Worker::h2_detach(Connection& c) noexcept {
  H2Link& l = *c.link;
  c.link = nullptr;
  if (c.stream > 0) {  // a timeout or stop: the stream is abandoned
    if (l.session) {
      l.session->cancel(c.stream);
      if (!l.dirty) {
        l.dirty = true;
        dirty_links_.push_back(&l);
      }
    }
    c.stream = 0;
    --l.active;
    return;
  }
  auto it = std::find(l.waiting.begin(), l.waiting.end(), &c);
  if (it != l.waiting.end()) *it = nullptr, l.waiting.erase(it);
}

bool Worker::wants_headers(void* stream) {
  const Connection& c = *static_cast<const Connection*>(stream);
  return c.scratch && c.scratch->capturing;  // a journey step that reads its response
}

void Worker::on_h2_header(void* stream, std::string_view name, std::string_view value) {
  Connection& c = *static_cast<Connection*>(stream);
  if (name == ":status") {
    int status = 0;
    std::from_chars(value.data(), value.data() + value.size(), status);
    c.status = static_cast<uint16_t>(status);
  }
  if (!c.scratch || !c.scratch->capturing) return;
  LaneScratch& x = *c.scratch;
  if (name == ":status") {
    if (!x.capture.empty()) x.capture += "\r\n";  // after an interim response's head
    x.capture += "HTTP/1.1 ";
    x.capture += value;
    x.capture += " \r\n";
    x.head_done = false;
    return;
  }
  if (x.head_done) return;  // trailers
  x.capture += name;
  x.capture += ": ";
  x.capture += value;
  x.capture += "\r\n";
}

void Worker::on_h2_data(void* stream, const char* data, size_t len) {
  Connection& c = *static_cast<Connection*>(stream);
  if (!c.scratch || !c.scratch->capturing) return;
  LaneScratch& x = *c.scratch;
  if (!x.head_done) {
    x.capture += "\r\n";
    x.head_done = true;
  }
  size_t room = (8u << 20) - std::min<size_t>(x.capture.size(), 8u << 20);
  x.capture.append(data, std::min(len, room));
}

void Worker::on_h2_close(void* stream, uint32_t error_code, bool refused) {
  Connection& c = *static_cast<Connection*>(stream);
  H2Link& l = *c.link;
  c.stream = 0;
  --l.active;
  if (refused && !c.retried && !stopping_) {
    // Never processed by the server (GOAWAY, REFUSED_STREAM): sent again, once.
    http2::count(*shard_, http2::kRetried);
    c.retried = true;
    c.in_flight = 0;
    c.batch = 1;
    c.state = ConnState::kConnecting;
    c.deadline_ns = 0;
    l.waiting.push_back(&c);
    return;
  }
  if (error_code != 0) {
    http2::count(*shard_, http2::kRstStreams);
    fail(c, ErrorKind::kReset);
    return;
  }
  if (c.scratch && c.scratch->capturing && !c.scratch->head_done) {
    c.scratch->capture += "\r\n";
    c.scratch->head_done = true;
  }
  c.retried = false;
  on_response(c, now(), c.status, true);
}

void Worker::on_h2_goaway(int32_t last_stream_id, uint32_t /*error_code*/) {
  http2::count(*shard_, http2::kGoaways);
  H2Link* l = h2_current_;
  if (l == nullptr) return;
  l->goaway = true;
  // Streams past the server's last one were never processed (some not even sent yet): they
  // wait for the next connection.
  auto requeue = [&](Connection& c) {
    if (c.link != l || c.stream <= last_stream_id) return;
    l->session->forget(c.stream);
    c.stream = 0;
    --l->active;
    http2::count(*shard_, http2::kRetried);
    c.in_flight = 0;
    c.batch = 1;
    c.state = ConnState::kConnecting;
    c.deadline_ns = 0;
    l->waiting.push_back(&c);
  };
  for (Connection& c : conns_) requeue(c);
  for (Connection* c : lanes_) requeue(*c);
}

}  // namespace spiker::engine
