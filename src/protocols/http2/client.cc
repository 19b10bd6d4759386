// The HTTP/2 client as a shared proto::Session: one connection (h2c with prior knowledge, or h2
// chosen by ALPN) carrying the exchanges of several owners (the VUs of one --max-streams slot)
// as streams, up to the server's concurrent-stream limit. Exchanges wait in the session while
// it connects or is full. Requests come as plan::HttpMessage, never as HTTP/1.1 text; responses
// go back as Outcome parts (status, headers, body) for the exchanges that capture them.
// A GOAWAY drains the connection and a new one takes the waiting exchanges; streams the server
// never processed (GOAWAY past them, REFUSED_STREAM) are sent again, once.
#include <sys/epoll.h>

#include <algorithm>
#include <charconv>
#include <memory>
#include <vector>

#include "core/socket.h"
#include "core/transport.h"
#include "metrics/shard.h"
#include "proto/protocol.h"
#include "protocols/http2/session.h"
#include "protocols/http2/stats.h"

namespace spiker::http2 {
namespace {

using metrics::ErrorKind;

constexpr size_t kOutChunk = 64 * 1024;   // frames gathered per write
constexpr size_t kMaxCapture = 8u << 20;  // bodies kept for checks: 8 MiB at most
constexpr int kReadsPerTurn = 16;         // reads in one go; the rest on the next loop turn
constexpr int kMaxRefusals = 2;  // connections in a row drained by GOAWAY, nothing answered

class Client final : public proto::Session, private Listener {
 public:
  Client(proto::SessionHost& host, const proto::SessionOptions& options)
      : host_(host), options_(options) {}
  ~Client() override { close(); }

  size_t capacity() const noexcept override { return options_.streams; }
  bool connected() const noexcept override { return transport_.is_open(); }

  void submit(const proto::Exchange& x) noexcept override {
    Stream* s = acquire();
    s->x = x;
    s->owner = x.owner;
    s->submitted_ns = host_.now();
    waiting_.push_back(s);
    if (transport_.phase() == Transport::Phase::kClosed) {
      connect();
      return;
    }
    if (open_session()) {
      pump();
      want_flush();
    }
  }

  void flush() noexcept override {
    flush_pending = false;
    if (read_deferred_ && open_session()) {  // a flood left for this turn: read on
      read_deferred_ = false;
      read();
      return;
    }
    write_out();
  }

  void on_io(uint32_t events) noexcept override {
    if (!transport_.is_open()) {
      progress();
      return;
    }
    if ((events & EPOLLOUT) != 0 && want_out_) write_out();
    if (transport_.is_open() && (events & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP)) != 0) {
      read();
    }
  }

  void check_deadline(int64_t now) noexcept override {
    if (connect_deadline_ns_ != 0 && now >= connect_deadline_ns_ && !transport_.is_open()) {
      link_failed(ErrorKind::kConnect);
      return;
    }
    // An exchange that could not even be sent within its timeout (a server that keeps
    // refusing, a connection that never frees a stream) times out too.
    for (size_t i = 0; i < waiting_.size();) {
      Stream* s = waiting_[i];
      if (s->x.timeout_ns == 0 || now < s->submitted_ns + s->x.timeout_ns) {
        ++i;
        continue;
      }
      waiting_.erase(waiting_.begin() + static_cast<ptrdiff_t>(i));
      report_failure(s, ErrorKind::kTimeout);
      i = 0;  // a report may submit or fail others
    }
    for (size_t i = 0; i < active_.size();) {
      Stream* s = active_[i];
      if (s->id <= 0 || s->deadline_ns == 0 || now < s->deadline_ns) {
        ++i;
        continue;
      }
      session_->cancel(s->id);  // the stream is abandoned; the connection stays
      drop_stream(s);
      want_flush();
      report_failure(s, ErrorKind::kTimeout);  // active_ may change: start over
      i = 0;
    }
  }

  void cancel(void* owner) noexcept override {
    for (size_t i = 0; i < active_.size();) {
      Stream* s = active_[i];
      if (s->owner != owner) {
        ++i;
        continue;
      }
      if (s->id > 0 && session_) {
        session_->cancel(s->id);
        want_flush();
      }
      drop_stream(s);
      release(s);
    }
    std::erase_if(waiting_, [&](Stream* s) {
      if (s->owner != owner) return false;
      release(s);
      return true;
    });
  }

  void close() noexcept override {
    close_link();
    for (Stream* s : active_) release(s);
    for (Stream* s : waiting_) release(s);
    active_.clear();
    waiting_.clear();
  }

 private:
  // An exchange: waiting (id 0) or a stream on the connection (id > 0).
  struct Stream {
    proto::Exchange x;
    void* owner = nullptr;
    int32_t id = 0;
    int status = 0;
    bool retried = false;
    bool head_done = false;  // captured head complete (body or trailers follow)
    int64_t sent_ns = 0;
    int64_t deadline_ns = 0;
    int64_t submitted_ns = 0;
    std::vector<std::pair<std::string, std::string>> headers;  // captured
    std::string body;
  };

  Stream* acquire() {
    Stream* s = nullptr;
    if (!free_.empty()) {
      s = free_.back().release();
      free_.pop_back();
    } else {
      s = new Stream();
    }
    s->id = 0;
    s->status = 0;
    s->retried = false;
    s->head_done = false;
    s->sent_ns = s->deadline_ns = 0;
    s->headers.clear();
    s->body.clear();
    return s;
  }
  void release(Stream* s) {
    if (s->body.capacity() > (64u << 10)) std::string().swap(s->body);
    free_.emplace_back(s);
  }
  void drop_stream(Stream* s) {
    auto it = std::find(active_.begin(), active_.end(), s);
    if (it != active_.end()) {
      *it = active_.back();
      active_.pop_back();
    }
    if (s->id > 0) --open_;
    s->id = 0;
  }

  bool open_session() const { return transport_.is_open() && session_ != nullptr; }

  void want_flush() {
    if (flush_pending) return;
    flush_pending = true;
    host_.defer_flush(*this);
  }

  void connect() noexcept {
    const SocketAddress& addr = host_.next_address(options_.endpoint);
    connect_start_ns_ = host_.now();
    goaway_ = false;
    Transport::Kind kind =
        options_.endpoint.tls != nullptr ? Transport::Kind::kTls : Transport::Kind::kTcp;
    int err = transport_.open(addr, kind, host_.epoll_fd(), this);
    if (err != 0) {
      link_failed(err == EMFILE || err == ENFILE ? ErrorKind::kOther : proto::classify_errno(err));
      return;
    }
    ++host_.shard().connections_opened;
    connect_deadline_ns_ = connect_start_ns_ + options_.connect_timeout_ns;
  }

  void progress() noexcept {
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

  void account() noexcept {
    uint64_t in = 0, out = 0;
    transport_.take_bytes(&in, &out);
    metrics::Shard& s = host_.shard();
    s.bytes_received += in;
    s.bytes_sent += out;
  }

  // Opens streams for waiting exchanges while the connection takes them.
  void pump() noexcept {
    size_t n = 0;
    while (n < waiting_.size() && open_session() && !goaway_ &&
           open_ < session_->peer_max_streams()) {
      if (!send(waiting_[n])) break;
      ++n;
    }
    if (n > 0) waiting_.erase(waiting_.begin(), waiting_.begin() + static_cast<ptrdiff_t>(n));
  }

  // Submits `s` as a stream; false when the connection can take no more (ids used up).
  bool send(Stream* s) noexcept {
    const Request* req = &scratch_;
    bool borrow = false;
    const plan::HttpMessage& m = *s->x.message;
    if (s->x.constant) {
      req = &cached(m);  // a static request: its HTTP/2 form made once
      borrow = true;
    } else {
      from_message(m, options_.endpoint.scheme, &scratch_);
    }
    int32_t id = session_->submit(*req, s, borrow);
    if (id < 0) {  // stream ids used up: a fresh connection takes over
      goaway_ = true;
      return false;
    }
    s->id = id;
    s->status = 0;
    s->head_done = false;
    s->headers.clear();
    s->body.clear();
    ++open_;
    active_.push_back(s);
    // --disable-keepalive: one request per connection, as for every connection protocol; the
    // connection closes when this stream ends and the next request connects anew.
    if (!options_.keep_alive) goaway_ = true;
    s->sent_ns = host_.now();
    s->deadline_ns = s->x.timeout_ns > 0 ? s->sent_ns + s->x.timeout_ns : 0;
    want_flush();
    return true;
  }

  const Request& cached(const plan::HttpMessage& m) {
    for (auto& [key, r] : cache_) {
      if (key == &m) return r;
    }
    cache_.emplace_back(&m, Request{});
    from_message(m, options_.endpoint.scheme, &cache_.back().second);
    return cache_.back().second;
  }

  void read() noexcept {
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

  void after_io() noexcept {
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

  void write_out() noexcept {
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
  void connection_error() noexcept {
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

  void close_link() noexcept {
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
  void link_failed(ErrorKind kind) noexcept {
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

  void report_failure(Stream* s, ErrorKind kind) noexcept {
    proto::Outcome o;
    o.ok = false;
    o.error = kind;
    o.done_ns = host_.now();
    o.sent_ns = s->sent_ns != 0 ? s->sent_ns : o.done_ns;
    o.owner = s->owner;
    host_.complete(*this, o);
    release(s);
  }

  // Listener: nghttp2's events for this connection's streams.
  bool wants_headers(void* stream) override { return static_cast<Stream*>(stream)->x.capture; }

  void on_h2_header(void* stream, std::string_view name, std::string_view value) override {
    Stream& s = *static_cast<Stream*>(stream);
    if (name == ":status") {
      std::from_chars(value.data(), value.data() + value.size(), s.status);
      s.headers.clear();  // an interim response's head is not the response's
      s.head_done = false;
      return;
    }
    if (!s.x.capture || s.head_done) return;  // trailers are not headers
    s.headers.emplace_back(name, value);
  }

  void on_h2_data(void* stream, const char* data, size_t len) override {
    Stream& s = *static_cast<Stream*>(stream);
    if (!s.x.capture) return;
    s.head_done = true;
    size_t room = kMaxCapture - std::min(s.body.size(), kMaxCapture);
    s.body.append(data, std::min(len, room));
  }

  void on_h2_close(void* stream, uint32_t error_code, bool refused) override {
    Stream* s = static_cast<Stream*>(stream);
    drop_stream(s);
    if (refused && !s->retried) {
      // Never processed by the server (GOAWAY, REFUSED_STREAM): sent again, once.
      count(host_.shard(), kRetried);
      s->retried = true;
      waiting_.push_back(s);
      return;
    }
    if (error_code != 0) {
      count(host_.shard(), kRstStreams);
      report_failure(s, ErrorKind::kReset);
      return;
    }
    answered_on_link_ = true;
    proto::Outcome o;
    o.status = s->status;
    o.sent_ns = s->sent_ns;
    o.done_ns = host_.now();
    o.owner = s->owner;
    plan::CapturedResponse parts;
    if (s->x.capture) {
      parts.status = s->status;
      for (const auto& [name, value] : s->headers) parts.headers.emplace_back(name, value);
      parts.body = s->body;
      o.parts = &parts;
    }
    host_.complete(*this, o);
    release(s);
  }

  void on_h2_goaway(int32_t last_stream_id, uint32_t /*error_code*/) override {
    count(host_.shard(), kGoaways);
    goaway_ = true;
    // Streams past the server's last one were never processed (some not even sent yet): they
    // wait for the next connection.
    for (size_t i = 0; i < active_.size();) {
      Stream* s = active_[i];
      if (s->id <= last_stream_id) {
        ++i;
        continue;
      }
      session_->forget(s->id);
      drop_stream(s);
      if (s->retried) {  // refused once already: it fails rather than go round again
        count(host_.shard(), kRefused);
        report_failure(s, ErrorKind::kReset);
        i = 0;
        continue;
      }
      s->retried = true;
      count(host_.shard(), kRetried);
      waiting_.push_back(s);
    }
  }

  proto::SessionHost& host_;
  const proto::SessionOptions& options_;
  Transport transport_;
  std::unique_ptr<http2::Session> session_;  // while the connection is open
  std::vector<Stream*> active_;              // streams on the connection
  std::vector<Stream*> waiting_;             // exchanges waiting for it or for a free stream
  std::vector<std::unique_ptr<Stream>> free_;
  std::vector<std::pair<const plan::HttpMessage*, Request>> cache_;  // static requests
  Request scratch_;  // a rendered request in HTTP/2 form
  std::string out_;  // frames to write
  size_t out_off_ = 0;
  uint32_t open_ = 0;              // streams open
  bool goaway_ = false;            // no new streams; reconnect when drained
  bool want_out_ = false;          // a write met EAGAIN: EPOLLOUT resumes
  bool read_deferred_ = false;     // reading stopped for this turn: flush() goes on
  bool answered_on_link_ = false;  // a stream completed on this connection
  int refusals_in_a_row_ = 0;      // connections drained by GOAWAY with nothing answered
  int64_t connect_start_ns_ = 0;
  int64_t handshake_start_ns_ = 0;
  int64_t connect_deadline_ns_ = 0;
};

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
