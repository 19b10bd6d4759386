// The HTTP/2 client as a shared proto::Session: one connection (h2c with prior knowledge, or h2
// chosen by ALPN) carrying the exchanges of several owners (the VUs of one --max-streams slot)
// as streams, up to the server's concurrent-stream limit. Exchanges wait in the session while
// it connects or is full. Requests come as plan::HttpMessage, never as HTTP/1.1 text; responses
// go back as Outcome parts (status, headers, body) for the exchanges that capture them.
// A GOAWAY drains the connection and a new one takes the waiting exchanges; streams the server
// never processed (GOAWAY past them, REFUSED_STREAM) are sent again, once.
#include "protocols/http2/client.h"

#include <sys/epoll.h>

namespace spiker::http2 {
namespace client_detail {

void Client::flush() noexcept {
  flush_pending = false;
  if (read_deferred_ && open_session()) {  // a flood left for this turn: read on
    read_deferred_ = false;
    read();
    return;
  }
  write_out();
}

void Client::on_io(uint32_t events) noexcept {
  if (!transport_.is_open()) {
    progress();
    return;
  }
  if ((events & EPOLLOUT) != 0 && want_out_) write_out();
  if (transport_.is_open() && (events & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP)) != 0) {
    read();
  }
}

void Client::close() noexcept {
  close_link();
  for (Stream* s : active_) release(s);
  for (Stream* s : waiting_) release(s);
  active_.clear();
  waiting_.clear();
}

void Client::want_flush() {
  if (flush_pending) return;
  flush_pending = true;
  host_.defer_flush(*this);
}

void Client::connect() noexcept {
  const SocketAddress& addr = host_.next_address(options_.endpoint);
  connect_start_ns_ = host_.now();
  goaway_ = false;
  Transport::Kind kind =
      options_.endpoint.tls != nullptr ? Transport::Kind::kTls : Transport::Kind::kTcp;
  int err = transport_.open(addr, kind, host_.epoll_fd(), this, options_.endpoint.tunnel);
  if (err != 0) {
    link_failed(err == EMFILE || err == ENFILE ? ErrorKind::kOther : proto::classify_errno(err));
    return;
  }
  ++host_.shard().connections_opened;
  connect_deadline_ns_ = connect_start_ns_ + options_.connect_timeout_ns;
}

void Client::progress() noexcept {
  Transport::Phase before = transport_.phase();
  if (before == Transport::Phase::kClosed) return;
  int64_t now = host_.now();
  if (connect_deadline_ns_ != 0 && now >= connect_deadline_ns_) {  // --connect-timeout holds
    link_failed(ErrorKind::kConnect);
    return;
  }
  Transport::Io r =
      transport_.progress(options_.endpoint.tls, options_.endpoint.host, options_.tls_cache);
  account();
  metrics::Shard& shard = host_.shard();
  if (before == Transport::Phase::kConnecting &&
      transport_.phase() != Transport::Phase::kConnecting) {
    shard.connect_us.record((now - connect_start_ns_) / 1000);
    handshake_start_ns_ = now;
  }
  if (r == Transport::Io::kAgain) return;
  if (r != Transport::Io::kOk) {
    link_failed(proto::classify_errno(transport_.error()));
    return;
  }
  if (options_.endpoint.tls != nullptr) {
    if (transport_.alpn() != "h2") {  // a server that will not speak h2
      link_failed(ErrorKind::kTls);
      return;
    }
    shard.tls_handshake_us.record((host_.now() - handshake_start_ns_) / 1000);
    if (transport_.resumed()) ++shard.tls_resumed;
  }
  connect_deadline_ns_ = 0;
  session_ = std::make_unique<http2::Session>(static_cast<Listener&>(*this), options_.window);
  read();  // the server's first frames may have come with the handshake; sends the waiting
}

void Client::account() noexcept {
  uint64_t in = 0, out = 0;
  transport_.take_bytes(&in, &out);
  metrics::Shard& s = host_.shard();
  s.bytes_received += in;
  s.bytes_sent += out;
}

void Client::read() noexcept {
  for (int reads = 0;; ++reads) {
    if (reads == kReadsPerTurn) {  // a peer that floods must not hold the loop
      read_deferred_ = true;
      want_flush();
      break;
    }
    size_t cap = 0;
    char* buf = host_.read_buffer(&cap);
    size_t got = 0;
    Transport::Io r = transport_.read(buf, cap, &got);
    account();
    if (r == Transport::Io::kAgain) break;
    if (r != Transport::Io::kOk) {  // closed or reset: what is in flight fails with it
      link_failed(ErrorKind::kReset);
      return;
    }
    if (!session_->receive(buf, got)) {  // a protocol error: the session is over
      connection_error();
      return;
    }
    if (!transport_.is_open()) return;
    if (options_.endpoint.tls == nullptr && got < cap) break;
  }
  after_io();
}

void Client::after_io() noexcept {
  if (goaway_ && open_ == 0) {
    // Drained after a GOAWAY: exchanges still waiting get a new connection, unless
    // connections keep ending that way with nothing answered (a server that refuses every
    // stream): then they fail rather than loop through connections.
    bool answered = answered_on_link_;
    close_link();
    refusals_in_a_row_ = answered ? 0 : refusals_in_a_row_ + 1;
    if (refusals_in_a_row_ >= kMaxRefusals) {
      refusals_in_a_row_ = 0;
      std::vector<Stream*> refused;
      refused.swap(waiting_);
      count(host_.shard(), kRefused, refused.size());
      for (Stream* s : refused) report_failure(s, ErrorKind::kReset);
    }
    if (!waiting_.empty() && transport_.phase() == Transport::Phase::kClosed) connect();
    return;
  }
  pump();
  write_out();
}

void Client::write_out() noexcept {
  if (!open_session()) return;
  for (;;) {
    if (out_off_ == out_.size()) {
      out_.clear();
      out_off_ = 0;
      if (!session_->take_output(out_, kOutChunk)) {
        link_failed(ErrorKind::kOther);
        return;
      }
      if (out_.empty()) break;
    }
    size_t wrote = 0;
    Transport::Io r = transport_.write(out_.data() + out_off_, out_.size() - out_off_, &wrote);
    if (r == Transport::Io::kAgain) {
      account();
      want_out_ = true;  // EPOLLOUT resumes
      return;
    }
    if (r != Transport::Io::kOk) {
      account();
      link_failed(ErrorKind::kReset);
      return;
    }
    out_off_ += wrote;
  }
  account();
  want_out_ = false;
  if (!session_->finished()) return;
  if (goaway_ && open_ == 0) {
    close_link();
  } else if (!goaway_) {
    // nghttp2 ended the session on a protocol error (its GOAWAY is out) while the server
    // keeps TCP open: nothing more would come on it.
    connection_error();
  }
}

// The connection broke the protocol: counted; streams on it fail as `http`, and exchanges
// waiting get a new connection.
void Client::connection_error() noexcept {
  count(host_.shard(), kConnectionErrors);
  if (out_off_ < out_.size() || !session_->finished()) {  // our GOAWAY, when it can go
    size_t wrote = 0;
    if (out_off_ == out_.size()) {
      out_.clear();
      out_off_ = 0;
      session_->take_output(out_, kOutChunk);
    }
    transport_.write(out_.data() + out_off_, out_.size() - out_off_, &wrote);
  }
  link_failed(ErrorKind::kHttp);
}

void Client::close_link() noexcept {
  answered_on_link_ = false;
  account();
  transport_.close();
  session_.reset();
  open_ = 0;
  goaway_ = false;
  want_out_ = false;
  connect_deadline_ns_ = 0;
  out_.clear();
  out_off_ = 0;
  for (Stream* s : active_) s->id = 0;
}

// The connection failed. Streams in flight fail with it. Exchanges waiting for it fail too
// when it never opened; when it did (a close after GOAWAY, a reset), they were never sent:
// they get a new connection.
void Client::link_failed(ErrorKind kind) noexcept {
  bool was_open = session_ != nullptr;
  close_link();
  std::vector<Stream*> gone;
  gone.swap(active_);
  if (!was_open) {
    gone.insert(gone.end(), waiting_.begin(), waiting_.end());
    waiting_.clear();
  }
  for (Stream* s : gone) report_failure(s, kind);
  if (was_open && !waiting_.empty() && transport_.phase() == Transport::Phase::kClosed) {
    connect();
  }
}

}  // namespace client_detail

namespace {

using client_detail::Client;

std::unique_ptr<proto::Session> make_client(proto::SessionHost& host,
                                            const proto::SessionOptions& o) {
  return std::make_unique<Client>(host, o);
}

}  // namespace

void register_protocol() {
  proto::Protocol p;
  p.name = "http2";
  p.summary = "HTTP/2 (h2 by ALPN on https://, h2c with --http2 on http://)";
  p.stats = &stats();
  p.shared = true;
  p.make_session = make_client;
  proto::Registry::add(std::move(p));
}

}  // namespace spiker::http2
