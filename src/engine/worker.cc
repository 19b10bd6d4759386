#include "engine/worker.h"

#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>

#include "core/clock.h"
#include "core/tls.h"

namespace spiker::engine {
namespace {

using http1::ParseStatus;
using metrics::ErrorKind;

constexpr size_t kReadBufferSize = 64 * 1024;
constexpr int kMaxEvents = 256;

ErrorKind classify_errno(int err) noexcept {
  switch (err) {
    case ECONNREFUSED:
      return ErrorKind::kRefused;
    case ECONNRESET:
    case EPIPE:
    case ECONNABORTED:
      return ErrorKind::kReset;
    case ETIMEDOUT:
    case EHOSTUNREACH:
    case ENETUNREACH:
    case EADDRNOTAVAIL:
      return ErrorKind::kConnect;
    default:
      return ErrorKind::kOther;
  }
}

}  // namespace

Worker::Worker(const WorkerConfig& config, int connections, uint64_t max_requests, int64_t start_ns)
    : config_(config),
      request_len_(config.request.size()),
      max_requests_(max_requests),
      start_ns_(start_ns),
      conns_(static_cast<size_t>(connections)),
      read_buf_(kReadBufferSize),
      shard_(std::make_unique<metrics::Shard>()) {
  config_.pipeline = std::clamp(config_.pipeline, 1, 1024);
  for (int i = 0; i < config_.pipeline; ++i) wire_ += config_.request;
  restart_.reserve(conns_.size());
  restarting_.reserve(conns_.size());
}

Worker::~Worker() {
  for (Connection& c : conns_) close(c);
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
}

void Worker::run() {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ >= 0) {
    for (Connection& c : conns_) start_cycle(c);
    loop();
  }
  for (Connection& c : conns_) close(c);
  publish(last_tick_ + 1);
  finished_.store(true, std::memory_order_release);
}

bool Worker::busy() const noexcept { return active_ > 0 || !restart_.empty(); }

void Worker::loop() {
  epoll_event events[kMaxEvents];
  int64_t scan_every = std::clamp<int64_t>(
      std::min(config_.timeout_ns, config_.connect_timeout_ns) / 20, 1'000'000, 50'000'000);
  int64_t next_scan = mono_now_ns() + scan_every;
  while (!abort_.load(std::memory_order_relaxed)) {
    if (!stopping_ && stop_.load(std::memory_order_relaxed)) {
      stopping_ = true;
      for (Connection& c : conns_) {
        // Requests not yet written are dropped; written ones are waited for.
        if (c.in_flight == 0) close(c);
      }
      restart_.clear();
    }
    // Connections that fail again right away queue for the next turn, after stop and deadline
    // checks.
    restarting_.swap(restart_);
    for (Connection* c : restarting_) {
      c->queued = false;
      start_cycle(*c);
    }
    restarting_.clear();
    if (!busy()) break;

    int64_t now = mono_now_ns();
    int64_t tick = (now - start_ns_) / config_.publish_interval_ns;
    if (tick > last_tick_) publish(tick);
    int64_t next_publish = start_ns_ + (last_tick_ + 1) * config_.publish_interval_ns;
    int64_t wake = std::min(next_scan, next_publish);
    int timeout_ms =
        restart_.empty()
            ? static_cast<int>(std::max<int64_t>(0, (wake - now + 999'999) / 1'000'000))
            : 0;
    int n = epoll_wait(epoll_fd_, events, kMaxEvents, std::min(timeout_ms, 100));
    for (int i = 0; i < n; ++i) {
      on_event(*static_cast<Connection*>(events[i].data.ptr), events[i].events);
    }
    now = mono_now_ns();
    if (now >= next_scan) {
      scan_deadlines(now);
      next_scan = now + scan_every;
    }
  }
}

uint16_t Worker::claim() noexcept {
  if (stopping_) return 0;
  uint64_t want = static_cast<uint64_t>(config_.pipeline);
  if (max_requests_ != 0) want = std::min(want, max_requests_ - claimed_);
  claimed_ += want;
  return static_cast<uint16_t>(want);
}

void Worker::queue_restart(Connection& c) noexcept {
  if (!c.queued) {
    c.queued = true;
    restart_.push_back(&c);
  }
}

void Worker::start_cycle(Connection& c) noexcept {
  if (c.batch == 0) c.batch = claim();
  if (c.batch == 0) {
    close(c);
    return;
  }
  if (c.fd < 0) {
    connect(c);
  } else {
    start_write(c);
  }
}

void Worker::connect(Connection& c) noexcept {
  const SocketAddress& addr = config_.addresses[next_address_++ % config_.addresses.size()];
  c.phase_start_ns = mono_now_ns();
  int fd = start_connect(addr);
  if (fd < 0) {
    int err = -fd;
    fail(c, err == EMFILE || err == ENFILE ? ErrorKind::kOther : classify_errno(err));
    return;
  }
  c.fd = fd;
  ++active_;
  c.state = ConnState::kConnecting;
  c.reused = false;
  c.peer_closed = false;
  c.deadline_ns = c.phase_start_ns + config_.connect_timeout_ns;
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLET | EPOLLRDHUP;
  ev.data.ptr = &c;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) fail(c, ErrorKind::kOther);
  ++shard_->connections_opened;
}

void Worker::on_event(Connection& c, uint32_t events) noexcept {
  switch (c.state) {
    case ConnState::kConnecting:
      on_connected(c);
      return;
    case ConnState::kHandshaking:
      handshake(c);
      return;
    case ConnState::kWriting:
      if (events & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP)) c.read_pending = true;
      if (events & (EPOLLRDHUP | EPOLLERR | EPOLLHUP)) c.peer_closed = true;
      if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) write_some(c);
      return;
    case ConnState::kReading:
      if (events & (EPOLLRDHUP | EPOLLERR | EPOLLHUP)) c.peer_closed = true;
      if (events & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP)) read_some(c);
      return;
    case ConnState::kIdle:
      if (c.fd >= 0 && (events & (EPOLLRDHUP | EPOLLERR | EPOLLHUP))) close(c);
      return;
  }
}

void Worker::on_connected(Connection& c) noexcept {
  int err = socket_error(c.fd);
  if (err != 0) {
    fail(c, classify_errno(err));
    return;
  }
  int64_t now = mono_now_ns();
  shard_->connect_us.record((now - c.phase_start_ns) / 1000);
  if (config_.tls == nullptr) {
    start_write(c);
    return;
  }
  c.ssl = config_.tls->new_session(c.fd, config_.host);
  if (c.ssl == nullptr) {
    fail(c, ErrorKind::kOther);
    return;
  }
  c.tls_read = c.tls_written = 0;
  c.state = ConnState::kHandshaking;
  c.phase_start_ns = now;
  handshake(c);
}

void Worker::handshake(Connection& c) noexcept {
  TlsIo r = tls_handshake(c.ssl);
  account_tls(c);
  if (r == TlsIo::kWantRead || r == TlsIo::kWantWrite) return;
  if (r != TlsIo::kDone) {
    fail(c, ErrorKind::kTls);
    return;
  }
  shard_->tls_handshake_us.record((mono_now_ns() - c.phase_start_ns) / 1000);
  start_write(c);
}

void Worker::start_write(Connection& c) noexcept {
  c.state = ConnState::kWriting;
  c.written = 0;
  c.read_pending = false;
  c.phase_start_ns = mono_now_ns();
  c.deadline_ns = c.phase_start_ns + config_.timeout_ns;
  c.in_flight = c.batch;
  c.parser.start(config_.head);
  write_some(c);
}

void Worker::account_tls(Connection& c) noexcept {
  uint64_t r, w;
  tls_wire_bytes(c.ssl, &r, &w);
  shard_->bytes_received += r - c.tls_read;
  shard_->bytes_sent += w - c.tls_written;
  c.tls_read = r;
  c.tls_written = w;
}

void Worker::write_some(Connection& c) noexcept {
  size_t total = request_len_ * c.batch;
  while (c.written < total) {
    const char* p = wire_.data() + c.written;
    size_t left = total - c.written;
    if (c.ssl != nullptr) {
      size_t n = 0;
      TlsIo r = tls_write(c.ssl, p, left, &n);
      account_tls(c);
      if (r == TlsIo::kWantRead || r == TlsIo::kWantWrite) return;
      if (r != TlsIo::kDone) {
        on_eof(c);
        return;
      }
      c.written += static_cast<uint32_t>(n);
    } else {
      ssize_t n = ::write(c.fd, p, left);
      if (n < 0) {
        if (errno == EAGAIN) return;  // EPOLLOUT (edge-triggered) resumes us
        if (errno == EINTR) continue;
        if (errno == EPIPE || errno == ECONNRESET) {
          on_eof(c);
        } else {
          fail(c, classify_errno(errno));
        }
        return;
      }
      c.written += static_cast<uint32_t>(n);
      shard_->bytes_sent += static_cast<uint64_t>(n);
    }
  }
  c.state = ConnState::kReading;
  c.batch = 0;
  if (c.read_pending) read_some(c);
}

void Worker::read_some(Connection& c) noexcept {
  char* buf = read_buf_.data();
  size_t cap = read_buf_.size();
  for (;;) {
    size_t got = 0;
    if (c.ssl != nullptr) {
      TlsIo r = tls_read(c.ssl, buf, cap, &got);
      account_tls(c);
      if (r == TlsIo::kWantRead || r == TlsIo::kWantWrite) return;
      if (r == TlsIo::kEof) return on_eof(c);
      if (r == TlsIo::kError) {
        if (c.parser.started()) return fail(c, ErrorKind::kTls);
        return on_eof(c);
      }
    } else {
      ssize_t n = ::read(c.fd, buf, cap);
      if (n < 0) {
        if (errno == EAGAIN) return;
        if (errno == EINTR) continue;
        return on_eof(c);  // reset: the same as a close, classified by what was received
      }
      if (n == 0) return on_eof(c);
      got = static_cast<size_t>(n);
      shard_->bytes_received += got;
    }
    if (!on_bytes(c, buf, got)) return;
    // A short plain read drained the socket: the next edge tells us about new data. A close
    // that came with this edge brings no other: read on to the end of the stream.
    if (c.ssl == nullptr && got < cap && !c.peer_closed) return;
    if (c.state != ConnState::kReading) return;
  }
}

bool Worker::on_bytes(Connection& c, const char* data, size_t len) noexcept {
  size_t off = 0;
  while (off < len) {
    if (c.in_flight == 0) {  // bytes nobody asked for
      fail(c, ErrorKind::kHttp);
      return false;
    }
    size_t used = 0;
    ParseStatus s = c.parser.feed(data + off, len - off, &used);
    off += used;
    if (s == ParseStatus::kNeedMore) return true;
    if (s == ParseStatus::kError) {
      fail(c, c.parser.error_kind());
      return false;
    }
    on_response(c, mono_now_ns());
    // The next request may already be written (kReading again) or pending, or the socket gone.
    if (c.state != ConnState::kReading) return c.fd >= 0 && off == len;
  }
  return true;
}

void Worker::on_response(Connection& c, int64_t now_ns) noexcept {
  metrics::Shard& s = *shard_;
  s.latency_us.record((now_ns - c.phase_start_ns) / 1000);
  ++s.requests;
  ++s.responses;
  int status = c.parser.status();
  s.record_status(status);
  if (status >= 400) ++s.failed;
  --c.in_flight;
  c.reused = true;
  c.retried = false;
  if (!c.parser.keep_alive()) {
    // The server ends the connection here; requests still pipelined on it are lost.
    while (c.in_flight > 0) {
      --c.in_flight;
      s.record_error(ErrorKind::kReset);
    }
    close(c);
    queue_restart(c);
    return;
  }
  if (c.in_flight > 0) {
    c.parser.start(config_.head);
    return;
  }
  if (stopping_) {
    close(c);
    return;
  }
  start_cycle(c);
}

void Worker::on_eof(Connection& c) noexcept {
  if (c.in_flight > 0 && c.parser.finish_eof() == ParseStatus::kComplete) {
    on_response(c, mono_now_ns());  // a close-delimited body ended
    return;
  }
  bool nothing_received = !c.parser.started();
  if (c.in_flight > 0 && nothing_received && c.reused && !c.retried && !stopping_) {
    // The server closed an idle keep-alive connection as we reused it: it never saw these
    // requests. Send them again on a new connection, once, as browsers do.
    c.batch = c.in_flight;
    c.in_flight = 0;
    c.retried = true;
    close(c);
    queue_restart(c);
    return;
  }
  ErrorKind kind = c.in_flight > 0 ? c.parser.error_kind() : ErrorKind::kReset;
  if (c.in_flight > 0 && nothing_received) kind = ErrorKind::kReset;
  fail(c, kind);
}

void Worker::fail(Connection& c, ErrorKind kind) noexcept {
  uint16_t n = std::max(c.in_flight, c.batch);  // requests this failure ends
  for (uint16_t i = 0; i < n; ++i) shard_->record_error(kind);
  c.in_flight = 0;
  c.batch = 0;
  c.retried = false;
  close(c);
  if (!stopping_) queue_restart(c);
}

void Worker::close(Connection& c) noexcept {
  if (c.ssl != nullptr) {
    tls_free(c.ssl);
    c.ssl = nullptr;
  }
  if (c.fd >= 0) {
    ::close(c.fd);
    c.fd = -1;
    --active_;
  }
  c.state = ConnState::kIdle;
  c.deadline_ns = 0;
  c.in_flight = 0;
}

void Worker::scan_deadlines(int64_t now_ns) noexcept {
  for (Connection& c : conns_) {
    if (c.deadline_ns == 0 || now_ns < c.deadline_ns) continue;
    bool connecting = c.state == ConnState::kConnecting || c.state == ConnState::kHandshaking;
    fail(c, connecting ? ErrorKind::kConnect : ErrorKind::kTimeout);
  }
}

void Worker::publish(int64_t tick) {
  uint64_t in_flight = 0;
  for (const Connection& c : conns_) in_flight += c.in_flight;
  in_flight_published_.store(in_flight, std::memory_order_relaxed);
  Sample sample{last_tick_, std::move(shard_)};
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
