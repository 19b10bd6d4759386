// The HTTP/1.1 client on one transport (TCP or TLS): the exchange's requests (several when
// pipelined) written as given, the responses parsed as they come, one Outcome each. A kept
// connection the server closed before answering anything gets the requests again on a new
// connection, once, as browsers do. Registered for http:// and https:// (HTTP/1.1 origins).
#include <sys/epoll.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <string>

#include "metrics/shard.h"
#include "plan/extract.h"
#include "proto/http_message.h"
#include "proto/protocol.h"
#include "proto/transport_session.h"
#include "protocols/http1/response_parser.h"

namespace spiker::http1 {
namespace {

using metrics::ErrorKind;

constexpr size_t kMaxCapture = 8u << 20;   // bodies kept for checks: 8 MiB at most
constexpr size_t kTailPerTurn = 4u << 20;  // of a shared body, written in one loop turn

class Session final : public proto::TransportSession {
 public:
  using TransportSession::TransportSession;

 protected:
  void start() noexcept override {
    if (exchange_.message != nullptr && out_.empty()) {  // rendered requests: written here
      if (!text_) text_ = std::make_unique<std::string>();
      text_->clear();
      for (uint16_t i = 0; i < exchange_.count; ++i)
        proto::append_http1(exchange_.message[i], *text_);
      out_ = *text_;
    }
    // A shared body (a mapped --body-file) goes after the head, from where it lives.
    tail_ = exchange_.message != nullptr && exchange_.count == 1 ? exchange_.message->shared_body
                                                                 : std::string_view();
    tail_off_ = 0;
    ++seq_;
    in_flight_ = exchange_.count;
    parser_.start(exchange_.head);
    if (exchange_.capture) {
      if (!capture_) capture_ = std::make_unique<Capture>();
      capture_->raw.clear();
    }
    writing_ = true;
    read_pending_ = false;
    write();
  }

  void on_io(uint32_t events) noexcept override {
    if (transport_.is_open()) {
      reads_left_ = kReadsPerTurn;
      events_open(events);  // the common case, without the base's dispatch
      return;
    }
    TransportSession::on_io(events);
  }

  uint16_t unanswered() const noexcept override {
    return writing_ || in_flight_ == 0 ? exchange_.count : in_flight_;
  }

  void on_events(uint32_t events) noexcept override { events_open(events); }

  void events_open(uint32_t events) noexcept {
    constexpr uint32_t kIn = EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP;
    if (!busy()) {
      // Between exchanges the server closed the connection (or sent what nobody asked for):
      // the next exchange connects anew.
      if ((events & kIn) != 0) close();
      return;
    }
    if ((events & (EPOLLRDHUP | EPOLLERR | EPOLLHUP)) != 0) peer_closed_ = true;
    if (writing_) {
      if ((events & kIn) != 0) read_pending_ = true;
      if ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) != 0) write();
      return;
    }
    if ((events & kIn) != 0) read();
  }

 private:
  // Called on the next turn when write() left a shared body part-written (and for deferred
  // reading, as every session).
  void flush() noexcept override {
    if (!writing_ || !transport_.is_open()) {
      TransportSession::flush();
      return;
    }
    flush_pending = false;
    reads_left_ = kReadsPerTurn;
    write();
  }

  void write() noexcept {
    if (!write_from(out_, out_off_)) return;
    // A large shared body goes out at most kTailPerTurn at a time: a peer that takes it as fast
    // as we write must not hold the loop (the rest goes on the next turn).
    size_t until = std::min(tail_.size(), tail_off_ + kTailPerTurn);
    if (!write_from(tail_.substr(0, until), tail_off_)) return;
    if (tail_off_ < tail_.size()) {
      if (!flush_pending) {
        flush_pending = true;
        host_.defer_flush(*this);
      }
      return;
    }
    writing_ = false;  // bytes are counted with the response (account)
    if (read_pending_) read();
  }
  // Writes `bytes` from `off` on: true once all are written (false: EPOLLOUT resumes, or the
  // exchange ended).
  bool write_from(std::string_view bytes, size_t& off) noexcept {
    while (off < bytes.size()) {
      size_t n = 0;
      Transport::Io r = transport_.write(bytes.data() + off, bytes.size() - off, &n);
      if (r == Transport::Io::kAgain) return false;  // EPOLLOUT (edge-triggered) resumes
      if (r != Transport::Io::kOk) {
        int err = transport_.error();
        if (err == EPIPE || err == ECONNRESET || err == Transport::kTlsError) {
          eof();  // the server closed: classified by what came back
        } else {
          fail(proto::classify_errno(err));
        }
        return false;
      }
      off += n;
    }
    return true;
  }

  void read() noexcept {
    size_t cap = 0;
    char* buf = host_.read_buffer(&cap);
    bool tls = kind_ == Transport::Kind::kTls;
    for (;;) {
      if (--reads_left_ < 0) return defer_reading();  // a flood waits for the next turn
      size_t got = 0;
      Transport::Io r = transport_.read(buf, cap, &got);
      if (r == Transport::Io::kAgain) return;
      if (r == Transport::Io::kEof) return eof();
      if (r == Transport::Io::kError) {
        // A reset is a close, classified by what was received; a broken TLS record in a
        // response is TLS's.
        if (tls && parser_.started()) return fail(ErrorKind::kTls);
        return eof();
      }
      if (!on_bytes(buf, got)) return;
      // A short plain read drained the socket: the next edge tells of new data. A close that
      // came with this edge brings no other: read on to the end of the stream.
      if (!tls && got < cap && !peer_closed_) return;
      if (!busy() || writing_) return;
    }
  }

  // False when the exchange ended (or a new one began) and reading stops here.
  bool on_bytes(const char* data, size_t len) noexcept {
    size_t off = 0;
    while (off < len) {
      if (in_flight_ == 0) {  // bytes nobody asked for
        fail(ErrorKind::kHttp);
        return false;
      }
      size_t used = 0;
      ParseStatus s = parser_.feed(data + off, len - off, &used);
      if (exchange_.capture) {
        std::string& raw = capture_->raw;
        size_t room = kMaxCapture - std::min(raw.size(), kMaxCapture);
        raw.append(data + off, std::min(used, room));
      }
      off += used;
      if (s == ParseStatus::kNeedMore) return true;
      if (s == ParseStatus::kError) {
        fail(parser_.error_kind());
        return false;
      }
      uint32_t seq = seq_;
      response(parser_.status(), parser_.keep_alive());
      // The next exchange may have begun (writing), or the connection gone.
      if (seq != seq_ || !busy() || writing_) return transport_.is_open() && off == len;
    }
    return true;
  }

  void response(int status, bool keep_alive) noexcept {
    account();  // the wire bytes of this exchange so far
    proto::Outcome o;
    o.status = status;
    o.done_ns = host_.now();
    if (exchange_.capture) {
      plan::CapturedResponse& parts = capture_->parts;
      o.parts_ok = plan::parse_captured(capture_->raw, exchange_.head, &parts, &capture_->body);
      parts.status = status;
      o.parts = &parts;
    }
    --in_flight_;
    uint16_t lost = 0;
    if (!keep_alive) {
      lost = in_flight_;  // the server ends the connection: requests still pipelined are lost
      in_flight_ = 0;
      close();
    } else if (in_flight_ > 0) {
      parser_.start(exchange_.head);  // the next pipelined response
      if (capture_) capture_->raw.clear();
    }
    peer_closed_ = false;
    complete_one(o, in_flight_ == 0 && lost == 0);
    for (uint16_t i = 0; i < lost; ++i) {
      proto::Outcome e;
      e.ok = false;
      e.error = ErrorKind::kReset;
      e.done_ns = o.done_ns;
      complete_one(e, i + 1 == lost);
    }
    // An idle connection keeps no response text: a thinking VU stays small.
    if (!busy() && capture_) capture_.reset();
  }

  void eof() noexcept {
    bool nothing_received = !parser_.started();  // (finish_eof moves the parser on)
    if (in_flight_ > 0 && !writing_ && parser_.finish_eof() == ParseStatus::kComplete) {
      response(parser_.status(), false);  // a close-delimited body ended
      return;
    }
    if (in_flight_ == exchange_.count && nothing_received && resend_on_stale()) return;
    ErrorKind kind = in_flight_ > 0 ? parser_.error_kind() : ErrorKind::kReset;
    if (nothing_received) kind = ErrorKind::kReset;
    fail(kind);
  }

  ResponseParser parser_;
  uint32_t seq_ = 0;        // exchanges started: tells whether a completion began the next
  uint16_t in_flight_ = 0;  // responses still due
  bool writing_ = false;
  bool read_pending_ = false;  // a readable edge came while writing
  bool peer_closed_ = false;   // the peer's FIN (or an error) came with an edge already seen
  struct Capture {
    std::string raw;   // the response as received, when the exchange keeps it
    std::string body;  // its body, de-chunked
    plan::CapturedResponse parts;
  };
  std::unique_ptr<Capture> capture_;
  std::unique_ptr<std::string> text_;  // rendered requests as written (static ones are not)
  std::string_view tail_;              // a shared body, written after out_
  size_t tail_off_ = 0;
};

std::unique_ptr<proto::Session> make_session(proto::SessionHost& host,
                                             const proto::SessionOptions& o) {
  return std::make_unique<Session>(
      host, o, o.endpoint.tls != nullptr ? Transport::Kind::kTls : Transport::Kind::kTcp);
}

}  // namespace
}  // namespace spiker::http1

void spiker_register_http1() {
  using namespace spiker;
  proto::Protocol p;
  p.name = "http1";
  p.schemes = {"http", "https"};  // HTTP/1.1 origins (h2 and WebSocket ones have their paths)
  p.summary = "HTTP/1.1";
  p.label = "http/1.1";
  p.make_session = http1::make_session;
  proto::Registry::add(std::move(p));
}
