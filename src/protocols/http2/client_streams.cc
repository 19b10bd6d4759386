// The HTTP/2 client's exchanges as streams: waiting for the connection or a free stream, sent
// (static requests in HTTP/2 form once), timed out, refused and retried once, and nghttp2's
// events for them turned into Outcomes.
#include <algorithm>
#include <charconv>

#include "protocols/http2/client.h"

namespace spiker::http2::client_detail {

void Client::submit(const proto::Exchange& x) noexcept {
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

void Client::check_deadline(int64_t now) noexcept {
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

void Client::cancel(void* owner) noexcept {
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

Client::Stream* Client::acquire() {
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
  s->trailers.clear();
  s->body.clear();
  return s;
}

void Client::release(Stream* s) {
  if (s->body.capacity() > (64u << 10)) std::string().swap(s->body);
  free_.emplace_back(s);
}

void Client::drop_stream(Stream* s) {
  auto it = std::find(active_.begin(), active_.end(), s);
  if (it != active_.end()) {
    *it = active_.back();
    active_.pop_back();
  }
  if (s->id > 0) --open_;
  s->id = 0;
}

// Opens streams for waiting exchanges while the connection takes them.
void Client::pump() noexcept {
  size_t n = 0;
  while (n < waiting_.size() && open_session() && !goaway_ &&
         open_ < session_->peer_max_streams()) {
    if (!send(waiting_[n])) break;
    ++n;
  }
  if (n > 0) waiting_.erase(waiting_.begin(), waiting_.begin() + static_cast<ptrdiff_t>(n));
}

// Submits `s` as a stream; false when the connection can take no more (ids used up).
bool Client::send(Stream* s) noexcept {
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
  s->trailers.clear();
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

const Request& Client::cached(const plan::HttpMessage& m) {
  for (auto& [key, r] : cache_) {
    if (key == &m) return r;
  }
  cache_.emplace_back(&m, Request{});
  from_message(m, options_.endpoint.scheme, &cache_.back().second);
  return cache_.back().second;
}

void Client::report_failure(Stream* s, ErrorKind kind) noexcept {
  proto::Outcome o;
  o.ok = false;
  o.error = kind;
  o.done_ns = host_.now();
  o.sent_ns = s->sent_ns != 0 ? s->sent_ns : o.done_ns;
  o.owner = s->owner;
  host_.complete(*this, o);
  release(s);
}

void Client::on_h2_header(void* stream, std::string_view name, std::string_view value) {
  Stream& s = *static_cast<Stream*>(stream);
  if (name == ":status") {
    std::from_chars(value.data(), value.data() + value.size(), s.status);
    s.headers.clear();  // an interim response's head is not the response's
    s.head_done = false;
    return;
  }
  if (!s.x.capture) return;
  if (s.head_done) {  // trailers (gRPC's status) are not headers
    s.trailers.add(name, value);
    return;
  }
  s.headers.add(name, value);
}

void Client::on_h2_data(void* stream, const char* data, size_t len) {
  Stream& s = *static_cast<Stream*>(stream);
  if (!s.x.capture) return;
  s.head_done = true;
  host_.on_partial(s.owner, std::string_view(data, len));
  size_t room = kMaxCapture - std::min(s.body.size(), kMaxCapture);
  s.body.append(data, std::min(len, room));
}

void Client::on_h2_close(void* stream, uint32_t error_code, bool refused) {
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
  if (s->x.capture) {
    plan::CapturedResponse& parts = parts_;
    parts.status = s->status;
    s->headers.view(parts.headers);
    s->trailers.view(parts.trailers);
    parts.body = s->body;
    o.parts = &parts;
  }
  host_.complete(*this, o);
  release(s);
}

void Client::on_h2_goaway(int32_t last_stream_id, uint32_t /*error_code*/) {
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

}  // namespace spiker::http2::client_detail
