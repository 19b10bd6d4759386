// The WebSocket client as a proto::Session: one connection, the HTTP/1.1 upgrade, then frames
// each way. A plain run's exchange sends one message (echo: and waits for the next message as
// its reply; fire and forget: done once written) over a connection upgraded on first use with
// the request's head. Journeys: kConnect upgrades with the step's rendered head, kSend writes a
// message, kReceive takes the next message (one that came before the step counts), kClose says
// goodbye. Pings are answered; a close frame, EOF or an invalid frame ends the connection.
#include <fmt/format.h>
#include <sys/epoll.h>

#include <charconv>
#include <cstring>

#include "core/error.h"
#include "core/strings.h"
#include "metrics/shard.h"
#include "proto/http_message.h"
#include "proto/protocol.h"
#include "proto/transport_session.h"
#include "protocols/websocket/codec.h"
#include "protocols/websocket/stats.h"

namespace spiker::websocket {
namespace {

using metrics::ErrorKind;
using proto::Verb;

// What a peer can make us hold, in bytes (README: "Limits"):
constexpr size_t kMaxHead = 16 * 1024;       // an upgrade response with no end in sight
constexpr size_t kMaxMessage = 4u << 20;     // one message (fragments joined): larger is an error
constexpr size_t kMaxInboxBytes = 4u << 20;  // messages kept for a later ws.receive: the oldest go
constexpr size_t kMaxInbox = 64;             // ... and at most this many
constexpr size_t kMaxUnsent = 256 * 1024;    // queued for a peer that does not read: no more pongs

// A plain run's compiled request: the upgrade's head (request line and headers, no blank
// line) and how messages go.
struct Request : plan::ProtocolRequest {
  std::string head;
  bool binary = false;
};

class Session final : public proto::TransportSession {
 public:
  using TransportSession::TransportSession;

  bool connected() const noexcept override {
    return phase_ == Phase::kOpen && transport_.is_open();
  }

  // A close frame, best effort, so the server sees a clean end rather than a reset.
  void close() noexcept override {
    if (connected()) {
      wbuf_.erase(0, woff_);
      woff_ = 0;
      append_close(wbuf_, kCloseNormal, "", mask());
      write_out();
    }
    phase_ = Phase::kIdle;
    reset_buffers();
    TransportSession::close();
  }

 protected:
  void start() noexcept override {
    request_ = static_cast<const Request*>(exchange_.request);
    keep_inbox_ = keep_inbox_ || request_ == nullptr;  // steps: ws.receive takes them later
    if (exchange_.verb == Verb::kConnect) {
      if (phase_ == Phase::kOpen) {  // open already: the same WebSocket
        done({});
        return;
      }
      head_.clear();  // the step's request: its head is the upgrade's
      if (exchange_.message != nullptr) proto::append_http1_head(*exchange_.message, head_);
      upgrade(head_);
    } else if (phase_ == Phase::kOpen) {
      next();
    } else if (request_ != nullptr) {
      upgrade(request_->head);  // a plain run's first message: upgrade first
    } else {
      fail(ErrorKind::kReset);  // a step on a WebSocket that is not open
    }
  }

  void on_events(uint32_t events) noexcept override {
    if ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) != 0 && woff_ < wbuf_.size()) {
      if (!write_out()) return;
      if (sending_ && woff_ >= message_end_) sent();
      if (!transport_.is_open()) return;
    }
    if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP)) != 0) {
      read((events & (EPOLLRDHUP | EPOLLERR | EPOLLHUP)) != 0);
    }
  }

  void timed_out() noexcept override {
    if (exchange_.verb == Verb::kReceive && phase_ == Phase::kOpen) {
      awaiting_ = false;
      give_up(ErrorKind::kTimeout);  // the step fails; the WebSocket stays open
      return;
    }
    if (phase_ == Phase::kOpen) {
      count(host_.shard(), kClosedByUs);  // a reply that did not come: the connection goes
      phase_ = Phase::kIdle;
    }
    reset_buffers();
    fail(ErrorKind::kTimeout);
  }

  void on_failure(ErrorKind) noexcept override {
    metrics::Shard& s = host_.shard();
    switch (phase_) {
      case Phase::kIdle:  // TCP or TLS, before the upgrade (not a timeout we counted)
        if (busy() && !transport_.is_open()) count(s, kConnectFailed);
        break;
      case Phase::kUpgrading:
        count(s, kHandshakeFailed);
        break;
      case Phase::kOpen:
        count(s, kDisconnects);  // the server closed it, or broke the protocol
        break;
    }
    phase_ = Phase::kIdle;
    reset_buffers();
  }

 private:
  enum class Phase : uint8_t { kIdle, kUpgrading, kOpen };

  const uint8_t* mask() noexcept {
    uint64_t r = host_.random();
    std::memcpy(mask_, &r, 4);
    return mask_;
  }

  void reset_buffers() noexcept {
    wbuf_.clear();
    woff_ = message_end_ = 0;
    sending_ = awaiting_ = false;
    head_.clear();
    inbox_.clear();
    inbox_bytes_ = 0;
    reader_ = Reader(false, kMaxMessage);
  }

  void upgrade(std::string_view head) noexcept {
    key_ = new_key(host_.random(), host_.random());
    wbuf_.assign(head.data(), head.size());
    head_.clear();  // from here: the response
    wbuf_ += "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ";
    wbuf_ += key_;
    wbuf_ += "\r\nSec-WebSocket-Version: 13\r\n\r\n";
    woff_ = 0;
    phase_ = Phase::kUpgrading;
    upgrade_ns_ = host_.now();
    write_out();  // then the 101
  }

  // The exchange on an open WebSocket: a message out, or a wait for one.
  void next() noexcept {
    if (exchange_.verb == Verb::kReceive) {
      started_ns_ = host_.now();
      if (!inbox_.empty()) {  // one that came before the step
        reply_ = std::move(inbox_.front());
        inbox_.erase(inbox_.begin());
        inbox_bytes_ -= reply_.size();
        done(reply_);
        return;
      }
      awaiting_ = true;
      return;
    }
    bool binary = exchange_.binary || (request_ != nullptr && request_->binary);
    if (woff_ == wbuf_.size()) {
      wbuf_.clear();
      woff_ = 0;
    }
    append_frame(wbuf_, binary ? Opcode::kBinary : Opcode::kText, exchange_.payload, true, mask());
    message_end_ = wbuf_.size();
    metrics::Shard& s = host_.shard();
    count(s, kSent);
    count(s, kBytesSent, exchange_.payload.size());
    // The message's service time: from its write (the upgrade before it is set-up).
    started_ns_ = host_.now();
    if (exchange_.timeout_ns > 0) exchange_.deadline_ns = started_ns_ + exchange_.timeout_ns;
    sending_ = true;
    if (!write_out()) return;
    if (woff_ >= message_end_) sent();
  }

  void sent() noexcept {
    sending_ = false;
    if (exchange_.verb == Verb::kSend) {
      done({});
      return;
    }
    inbox_.clear();  // echo: the reply is what comes after the message
    inbox_bytes_ = 0;
    awaiting_ = true;
  }

  void done(std::string_view message) noexcept {
    awaiting_ = false;
    proto::Outcome o;
    o.sent_ns = exchange_.verb == Verb::kConnect ? submitted_ns_ : started_ns_;
    o.done_ns = host_.now();
    // A plain run's fire-and-forget send waits for nothing; a step's latency is its own.
    o.timed = !(exchange_.verb == Verb::kSend && request_ != nullptr);
    o.status = exchange_.verb == Verb::kConnect ? 101 : 0;
    plan::CapturedResponse parts;
    parts.status = 101;
    parts.body = message;
    o.parts = &parts;
    complete_one(o, true);
  }

  // Writes what is queued; false when the connection failed.
  bool write_out() noexcept {
    while (woff_ < wbuf_.size()) {
      size_t n = 0;
      Transport::Io r = transport_.write(wbuf_.data() + woff_, wbuf_.size() - woff_, &n);
      if (r == Transport::Io::kAgain) break;
      if (r != Transport::Io::kOk) {
        account();
        fail(ErrorKind::kReset);
        return false;
      }
      woff_ += n;
    }
    account();
    return true;
  }

  // `closing`: the peer closed or failed, so read to the end; otherwise a short plain read
  // drained the socket (edge-triggered) and saves a read that would say EAGAIN.
  void read(bool closing) noexcept {
    for (;;) {
      const char* buf = nullptr;
      size_t got = 0, cap = 0;
      Transport::Io r = read_chunk(&buf, &got, &cap);
      if (r == Transport::Io::kAgain) return;
      if (r != Transport::Io::kOk) {
        fail(ErrorKind::kReset);
        return;
      }
      if (phase_ == Phase::kUpgrading) {
        head_.append(buf, got);
        if (!take_head()) return;
      } else if (phase_ == Phase::kOpen) {
        reader_.append(buf, got);
      }
      if (!frames()) return;
      if (!closing && kind_ != Transport::Kind::kTls && got < cap) return;
    }
  }

  // The upgrade's response; false when it is not complete or the connection failed.
  bool take_head() noexcept {
    size_t end = head_.find("\r\n\r\n");
    if (end == std::string::npos) {
      if (head_.size() > kMaxHead) fail(ErrorKind::kHttp);
      return false;
    }
    std::string_view head(head_.data(), end + 2);
    int status = 0;
    if (head.starts_with("HTTP/1.1 ") && head.size() > 12) {
      std::from_chars(head.data() + 9, head.data() + 12, status);
    }
    bool upgrade = false, connection = false, accept = false;
    std::string want = accept_key(key_);
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
      fail(ErrorKind::kHttp);  // counted as a failed upgrade
      return false;
    }
    metrics::Shard& s = host_.shard();
    s.block_histogram(stats().histogram(kHandshakeUs)).record((host_.now() - upgrade_ns_) / 1000);
    count(s, kEstablished);
    phase_ = Phase::kOpen;
    reader_.append(head_.data() + end + 4, head_.size() - end - 4);  // frames right behind
    head_.clear();
    head_.shrink_to_fit();
    if (exchange_.verb == Verb::kConnect) {
      done({});
    } else {
      next();  // this iteration's message
    }
    return transport_.is_open();
  }

  // Frames received; false when the connection is gone.
  bool frames() noexcept {
    while (phase_ == Phase::kOpen && transport_.is_open()) {
      Event e = reader_.next();
      if (e.kind == Event::kNone) return true;
      metrics::Shard& s = host_.shard();
      switch (e.kind) {
        case Event::kMessage:
          count(s, kReceived);
          count(s, kBytesReceived, e.payload.size());
          message(e.payload);
          break;
        case Event::kPing:
          // A peer that pings and never reads would have pongs pile up: past the bound they
          // are not queued (a pong answers the latest ping; missing ones harm nobody).
          if (wbuf_.size() - woff_ > kMaxUnsent) break;
          append_frame(wbuf_, Opcode::kPong, e.payload, true, mask());
          if (!write_out()) return false;
          break;
        case Event::kClose:
          append_close(wbuf_, e.close_code == 1005 ? 0 : e.close_code, "", mask());
          write_out();
          if (transport_.is_open()) fail(ErrorKind::kReset);
          return false;
        case Event::kError:
          count(s, kProtocolErrors);
          append_close(wbuf_, kCloseProtocolError, "", mask());
          write_out();
          if (transport_.is_open()) fail(ErrorKind::kProtocol);
          return false;
        default:
          break;
      }
    }
    return false;
  }

  void message(std::string_view m) noexcept {
    if (busy() && awaiting_) {
      done(m);
      return;
    }
    if (!keep_inbox_) return;  // a plain run: counted, nobody waits for it
    while (!inbox_.empty() &&
           (inbox_.size() >= kMaxInbox || inbox_bytes_ + m.size() > kMaxInboxBytes)) {
      inbox_bytes_ -= inbox_.front().size();
      inbox_.erase(inbox_.begin());
    }
    inbox_bytes_ += m.size();
    inbox_.emplace_back(m);
  }

  Phase phase_ = Phase::kIdle;
  bool sending_ = false;     // a message is being written
  bool awaiting_ = false;    // the next message ends the exchange
  bool keep_inbox_ = false;  // journeys: messages no receive waits for are kept
  const Request* request_ = nullptr;
  uint8_t mask_[4] = {};
  std::string wbuf_;  // frames (or the upgrade) to write
  size_t woff_ = 0;
  size_t message_end_ = 0;  // where the current message's frame ends in wbuf_
  std::string head_;        // the upgrade response so far
  std::string key_;         // Sec-WebSocket-Key sent
  int64_t upgrade_ns_ = 0;
  Reader reader_{false, kMaxMessage};
  std::vector<std::string> inbox_;
  size_t inbox_bytes_ = 0;
  std::string reply_;
};

// A plain run's request: options "head" (the upgrade's head), "binary" and "fire-and-forget"
// come from the command line's HTTP flags and --ws-*; the payload is the message.
std::shared_ptr<plan::ProtocolRequest> compile(const proto::RequestInput& in) {
  auto r = std::make_shared<Request>();
  r->verb = static_cast<uint8_t>(Verb::kExchange);
  r->action_name = "ws";
  r->payload = in.payload;
  for (const proto::Option& o : in.options) {
    if (o.key == "head") {
      r->head = o.value;
    } else if (o.key == "binary") {
      r->binary = o.value == "true";
    } else if (o.key == "fire-and-forget") {
      if (o.value == "true") r->verb = static_cast<uint8_t>(Verb::kSend);
    } else {
      throw SetupError(fmt::format("{}: {} does not apply to a WebSocket", o.where, o.key));
    }
  }
  return r;
}

std::string describe(const plan::ProtocolRequest& base) {
  const auto& r = static_cast<const Request&>(base);
  return fmt::format("{} {} message{}",
                     r.verb == static_cast<uint8_t>(Verb::kSend) ? "send" : "echo",
                     r.binary ? "a binary" : "a text",
                     r.verb == static_cast<uint8_t>(Verb::kSend) ? " (fire and forget)"
                                                                 : ", wait for the next message");
}

std::unique_ptr<proto::Session> make_session(proto::SessionHost& host,
                                             const proto::SessionOptions& o) {
  return std::make_unique<Session>(
      host, o, o.endpoint.tls != nullptr ? Transport::Kind::kTls : Transport::Kind::kTcp);
}

}  // namespace

void register_protocol() {
  proto::Protocol p;
  p.name = "websocket";
  p.schemes = {"ws", "wss"};
  p.summary = "WebSocket (ws://, wss://): a message per iteration, echo or fire and forget";
  p.stats = &stats();
  p.compile = compile;
  p.make_session = make_session;
  p.describe = describe;
  proto::Registry::add(std::move(p));
}

}  // namespace spiker::websocket
