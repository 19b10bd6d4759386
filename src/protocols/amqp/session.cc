// The AMQP 0-9-1 session: connection and channel set-up, the plain run's declarations and
// subscription, publishes with confirms, declarations, consumers with batched acks, deliveries
// to receives, the broker's refusals (see amqp.cc for the protocol as a whole).
#include <fmt/format.h>
#include <poll.h>
#include <sys/epoll.h>

#include <algorithm>
#include <deque>
#include <iterator>
#include <string>
#include <vector>

#include "core/clock.h"
#include "metrics/shard.h"
#include "proto/message_stamp.h"
#include "proto/transport_session.h"
#include "protocols/amqp/codec.h"
#include "protocols/amqp/request.h"

namespace spiker::amqp {
namespace {

using metrics::ErrorKind;

constexpr uint16_t kChannel = 1;
constexpr size_t kMaxQueued = 1024;  // messages kept for a later amqp.receive
// ... and their bytes: past either bound the oldest is dropped (counted as unread_dropped).
constexpr size_t kMaxQueuedBytes = 16u << 20;
// The largest message body taken from the broker; a larger one (its header says so before the
// body comes) closes the connection as a protocol failure.
constexpr uint64_t kMaxBody = 64u << 20;
constexpr size_t kKeepBuffer = 1u << 20;  // a body buffer grown past this is freed once used

struct Message {
  std::string exchange, routing_key, body;
  bool redelivered = false;
};

class Session final : public proto::TransportSession {
 public:
  using TransportSession::TransportSession;

  void close() noexcept override {
    if (transport_.is_open() && state_ == State::kReady) {
      std::string bye;
      put_method(bye, 0, Args(10, 50).u16(200).shortstr("bye").u16(0).u16(0));
      size_t n = 0;
      transport_.write(bye.data(), bye.size(), &n);
      // Publishes nobody confirmed may still be on their way through the broker, which drops
      // them if the connection just goes: wait (briefly) for its close-ok.
      if (unconfirmed_ > 0 && n == bye.size()) await_close_ok();
    }
    reset();
    TransportSession::close();
  }

  void check_deadline(int64_t now) noexcept override {
    TransportSession::check_deadline(now);
    if (heartbeat_ns_ > 0 && state_ == State::kReady && transport_.is_open() &&
        now - last_sent_ns_ >= heartbeat_ns_) {
      std::string beat;
      put_frame(beat, kFrameHeartbeat, 0, {});
      send(beat);
    }
  }

 protected:
  void on_failure(ErrorKind) noexcept override { reset(); }

  void start() noexcept override {
    request_ = static_cast<const Request*>(exchange_.request);
    split_payload();
    if (state_ == State::kClosed && request_->op == Op::kDisconnect) {
      close();
      finish({});
      return;
    }
    if (state_ == State::kClosed) {
      state_ = State::kStart;
      host_.shard().add(g_stats->counter(kConnects));
      send(kProtocolHeader);
      return;  // the exchange goes on once the connection is set up
    }
    if (state_ == State::kReady) begin_exchange();
  }

  void on_events(uint32_t events) noexcept override {
    if ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) != 0) flush_out();
    if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP)) != 0) {
      read_stream(in_, false, [this] { try_frames(); });
    }
  }

  void timed_out() noexcept override {
    if (busy() && wait_ == Wait::kMessage) {
      wait_ = Wait::kNone;
      give_up(ErrorKind::kTimeout);  // a receive that waited in vain: the connection stays
      return;
    }
    fail(ErrorKind::kTimeout);
  }

 private:
  enum class State : uint8_t { kClosed, kStart, kTune, kOpen, kChannel, kConfirm, kSetup, kReady };
  enum class Wait : uint8_t { kNone, kSelect, kConfirm, kReplies, kMessage };

  // Reads until connection.close-ok, the peer's close or 1 s; frames before it are dropped.
  void await_close_ok() noexcept {
    int64_t until = mono_now_ns() + 1'000'000'000;  // the loop's clock stands still in here
    std::string in;
    char buf[4096];
    for (;;) {
      int64_t left_ms = (until - mono_now_ns()) / 1'000'000;
      pollfd p{transport_.fd(), POLLIN, 0};
      if (left_ms <= 0 || ::poll(&p, 1, static_cast<int>(left_ms)) != 1) return;
      size_t got = 0;
      Transport::Io r = transport_.read(buf, sizeof buf, &got);
      if (r == Transport::Io::kAgain) continue;
      if (r != Transport::Io::kOk) return;
      in.append(buf, got);
      uint8_t type = 0;
      uint16_t channel = 0;
      std::string_view payload;
      size_t n = 0;
      while ((n = parse_frame(in, &type, &channel, &payload)) != 0 && n != SIZE_MAX) {
        if (type == kFrameMethod && payload.size() >= 4 &&
            payload.substr(0, 4) == std::string_view("\0\x0a\0\x33", 4)) {
          return;  // 10.51
        }
        in.erase(0, n);
      }
      if (n == SIZE_MAX) return;
    }
  }

  void reset() noexcept {
    state_ = State::kClosed;
    wait_ = Wait::kNone;
    in_.clear();
    pending_out_.clear();
    setup_replies_ = 0;
    replies_ = 0;
    delivery_tag_ = 0;
    content_ = false;
    written_then_done_ = false;
    subscribing_ = false;
    confirming_ = false;
    unconfirmed_ = 0;
    ack_tag_ = 0;
    ++resets_;
  }

  void split_payload() {
    std::string_view p = out_;
    std::string* fields[] = {&exchange_name_, &routing_key_, &queue_, &message_};
    for (size_t i = 0; i < std::size(fields); ++i) {
      size_t cut = i + 1 < std::size(fields) ? p.find(kSeparator) : std::string_view::npos;
      fields[i]->assign(p.substr(0, cut));
      p = cut == std::string_view::npos ? std::string_view() : p.substr(cut + 1);
    }
  }

  static void put_method(std::string& out, uint16_t channel, const Args& a) {
    put_frame(out, kFrameMethod, channel, a.bytes());
  }

  void send(std::string_view bytes) noexcept {
    pending_out_.append(bytes);
    flush_out();
  }

  void flush_out() noexcept {
    while (!pending_out_.empty() && transport_.is_open()) {
      size_t n = 0;
      Transport::Io r = transport_.write(pending_out_.data(), pending_out_.size(), &n);
      if (r == Transport::Io::kAgain) break;
      if (r != Transport::Io::kOk) {
        account();
        fail(proto::classify_errno(transport_.error()));
        return;
      }
      pending_out_.erase(0, n);
      last_sent_ns_ = host_.now();
    }
    account();
    if (pending_out_.empty() && written_then_done_ && busy()) {  // a publish without confirm
      written_then_done_ = false;
      proto::Outcome o;
      o.timed = false;
      o.done_ns = host_.now();
      complete_one(o, true);
    }
  }

  // --- set-up: connection, channel, confirm mode, then the plain run's declarations ---

  void setup_done_step() noexcept {
    const Request& r = *request_;
    if (state_ == State::kConfirm) {
      state_ = State::kSetup;
      if (r.plain) {
        std::string out;
        if (!r.exchange_type.empty()) {
          put_method(out, kChannel, declare_exchange(r, exchange_name_));
          ++setup_replies_;
        }
        if (r.declare_queue) {
          put_method(out, kChannel, declare_queue(r, queue_, r.durable, false, false));
          ++setup_replies_;
        }
        if (!r.subscribe.empty()) {  // an exclusive, server-named queue for this connection
          put_method(out, kChannel, declare_queue(r, "", false, true, true));
          ++setup_replies_;
          subscribing_ = true;
        }
        if (!out.empty()) {
          send(out);
          return;
        }
      }
    }
    if (state_ == State::kSetup && setup_replies_ == 0) {
      state_ = State::kReady;
      if (busy()) begin_exchange();
    }
  }

  static Args declare_exchange(const Request& r, std::string_view name) {
    Args a(40, 10);
    a.u16(0).shortstr(name).shortstr(r.exchange_type).bits(false, r.durable, r.auto_delete);
    a.empty_table();
    return a;
  }

  static Args declare_queue(const Request&, std::string_view name, bool durable, bool exclusive,
                            bool auto_delete) {
    Args a(50, 10);
    a.u16(0).shortstr(name).bits(false, durable, exclusive, auto_delete).empty_table();
    return a;
  }

  // The queue is consumed with acks: prefetch, then basic.consume.
  void consume(std::string& out, std::string_view queue) {
    put_method(out, kChannel, Args(60, 10).u32(0).u16(request_->prefetch).bits(false));
    put_method(out, kChannel,
               Args(60, 20).u16(0).shortstr(queue).shortstr("").bits(false, false).empty_table());
    host_.shard().add(g_stats->counter(kConsumers));
  }

  // --- the exchange's own work, once the connection is ready ---

  void begin_exchange() noexcept {
    const Request& r = *request_;
    started_ns_ = host_.now();  // latency from the exchange's first frame, not the set-up
    switch (r.op) {
      case Op::kConnect:
        finish({});
        return;
      case Op::kDisconnect:
        close();
        finish({});
        return;
      case Op::kReceive:
        wait_ = Wait::kMessage;
        deliver_queued();
        return;
      case Op::kDeclare: {
        std::string out;
        replies_ = 0;
        declared_queue_.clear();
        declared_messages_ = declared_consumers_ = 0;
        if (!r.exchange_type.empty()) {
          put_method(out, kChannel, declare_exchange(r, exchange_name_));
          ++replies_;
        }
        bool queue = !queue_.empty() || r.exclusive;
        if (queue) {
          put_method(out, kChannel,
                     declare_queue(r, queue_, r.durable, r.exclusive, r.auto_delete));
          ++replies_;
        }
        if (queue && !exchange_name_.empty() && !queue_.empty()) {
          put_method(out, kChannel,
                     Args(50, 20)
                         .u16(0)
                         .shortstr(queue_)
                         .shortstr(exchange_name_)
                         .shortstr(routing_key_)
                         .bits(false)
                         .empty_table());
          ++replies_;
        }
        wait_ = Wait::kReplies;
        send(out);
        return;
      }
      case Op::kConsume: {
        std::string out;
        consume(out, queue_);
        replies_ = 2;  // qos-ok, consume-ok
        wait_ = Wait::kReplies;
        send(out);
        return;
      }
      case Op::kPublish:
        publish(r);
        return;
    }
  }

  void publish(const Request& r) noexcept {
    if (r.confirm && !confirming_) {
      // Confirm mode from the first confirmed publish on: a connection that only publishes
      // without confirms gets nothing back (and closes cleanly, with nothing unread).
      std::string out;
      put_method(out, kChannel, Args(85, 10).bits(false));
      wait_ = Wait::kSelect;
      send(out);
      return;
    }
    std::string& body = body_;
    body.clear();
    if (r.stamp) {
      if (publisher_ == 0) publisher_ = static_cast<uint32_t>(host_.random() | 1);
      proto::put_stamp(body, publisher_, seq_++);
    }
    body.append(message_);
    std::string_view key = routing_key_.empty() ? std::string_view(queue_) : routing_key_;
    wire_.clear();
    put_method(wire_, kChannel,
               Args(60, 40).u16(0).shortstr(exchange_name_).shortstr(key).bits(false, false));
    put_content(wire_, kChannel, body, r.persistent, frame_max_);
    if (confirming_) ++delivery_tag_;  // in confirm mode every publish gets the next tag
    host_.shard().add(g_stats->counter(kPublished));
    if (r.confirm) {
      wait_ = Wait::kConfirm;
      awaited_tag_ = delivery_tag_;
    } else {
      wait_ = Wait::kNone;
      written_then_done_ = true;
      ++unconfirmed_;
    }
    send(wire_);
  }

  // --- frames from the broker ---

  void try_frames() noexcept {
    size_t off = 0;  // frames handled; erased once at the end
    uint64_t resets = resets_;
    while (off < in_.size() && transport_.is_open()) {
      uint8_t type = 0;
      uint16_t channel = 0;
      std::string_view payload;
      size_t n = parse_frame(std::string_view(in_).substr(off), &type, &channel, &payload);
      if (n == 0) break;
      if (n == SIZE_MAX) {
        broken();  // not AMQP: the connection cannot be trusted
        return;
      }
      frame_.assign(in_, off, n);  // handlers may end the exchange and read on
      off += n;
      parse_frame(frame_, &type, &channel, &payload);
      if (type == kFrameMethod) {
        method(payload);
      } else if (type == kFrameHeader && content_) {
        Reader rd(payload);
        rd.u16();
        rd.u16();
        content_size_ = rd.u64();
        content_body_.clear();
        if (!rd.ok() || content_size_ > kMaxBody) {  // short, or larger than we take
          broken();
          return;
        }
        if (content_size_ == 0) delivered();
      } else if (type == kFrameBody && content_) {
        if (content_body_.size() + payload.size() > content_size_) {  // more than it said
          broken();
          return;
        }
        content_body_.append(payload);
        if (content_body_.size() >= content_size_) delivered();
      }
      if (resets_ != resets) return;  // the connection ended: in_ is gone
    }
    in_.erase(0, off);
    ack_delivered();
  }

  void broken() noexcept {
    in_.clear();
    content_ = false;
    content_body_.clear();
    content_body_.shrink_to_fit();
    host_.shard().add(g_stats->counter(kProtocolErrors));
    fail(ErrorKind::kProtocol);
  }

  // One basic.ack (multiple) for every delivery read in this batch.
  void ack_delivered() noexcept {
    if (ack_tag_ == 0 || !transport_.is_open()) return;
    std::string ack;
    put_method(ack, kChannel, Args(60, 80).u64(ack_tag_).bits(true));
    ack_tag_ = 0;
    send(ack);
  }

  void method(std::string_view payload) noexcept {
    Reader rd(payload);
    uint16_t cls = rd.u16(), id = 0;
    id = rd.u16();
    uint32_t key = static_cast<uint32_t>(cls) << 16 | id;
    metrics::Shard& s = host_.shard();
    switch (key) {
      case (10u << 16) | 10: {  // connection.start: answer with PLAIN credentials
        const Request& r = *request_;
        std::string response;
        response += '\0';
        response += r.user;
        response += '\0';
        response += r.password;
        Args a(10, 11);
        a.longstr(client_properties()).shortstr("PLAIN").longstr(response).shortstr("en_US");
        std::string out;
        put_method(out, 0, a);
        state_ = State::kTune;
        send(out);
        return;
      }
      case (10u << 16) | 30: {  // connection.tune
        rd.u16();               // channel-max
        uint32_t frame_max = rd.u32();
        frame_max_ = frame_max == 0 ? kMaxFrame : std::min(frame_max, kMaxFrame);
        uint16_t beat = request_->heartbeat;
        heartbeat_ns_ = static_cast<int64_t>(beat) * 1'000'000'000 / 2;
        std::string out;
        put_method(out, 0, Args(10, 31).u16(kChannel).u32(frame_max_).u16(beat));
        put_method(out, 0, Args(10, 40).shortstr(request_->vhost).shortstr("").bits(false));
        state_ = State::kOpen;
        send(out);
        return;
      }
      case (10u << 16) | 41: {  // connection.open-ok: channel 1
        std::string out;
        put_method(out, kChannel, Args(20, 10).shortstr(""));
        state_ = State::kChannel;
        send(out);
        return;
      }
      case (20u << 16) | 11:  // channel.open-ok
        state_ = State::kConfirm;
        setup_done_step();
        return;
      case (85u << 16) | 11:  // confirm.select-ok: the publish that asked for it goes out
        confirming_ = true;
        if (busy() && wait_ == Wait::kSelect) publish(*request_);
        return;
      case (10u << 16) | 50:    // connection.close
      case (20u << 16) | 40: {  // channel.close: the broker refused something
        uint16_t code = rd.u16();
        std::string text(rd.shortstr());
        std::string out;
        put_method(out, cls == 10 ? 0 : kChannel, Args(cls, cls == 10 ? 51 : 41));
        send(out);
        s.add(g_stats->counter(kChannelErrors));
        reset();
        TransportSession::close();  // the next exchange sets up a new connection
        refuse(fmt::format("{}", code), text);
        return;
      }
      case (40u << 16) | 11:  // exchange.declare-ok
      case (50u << 16) | 21:  // queue.bind-ok
      case (60u << 16) | 11:  // basic.qos-ok
      case (60u << 16) | 21:  // basic.consume-ok
        if (cls != 60) s.add(g_stats->counter(kDeclared));
        reply();
        return;
      case (50u << 16) | 11: {  // queue.declare-ok
        s.add(g_stats->counter(kDeclared));
        std::string name(rd.shortstr());
        uint32_t messages = rd.u32();
        uint32_t consumers = rd.u32();
        if (state_ == State::kSetup && subscribing_ && name.starts_with("amq.gen")) {
          // The subscription's own queue: bind it, consume it.
          subscribing_ = false;
          std::string out;
          put_method(out, kChannel,
                     Args(50, 20)
                         .u16(0)
                         .shortstr(name)
                         .shortstr(exchange_name_)
                         .shortstr(request_->subscribe)
                         .bits(false)
                         .empty_table());
          consume(out, name);
          setup_replies_ += 3;  // bind-ok, qos-ok, consume-ok
          send(out);
        } else if (state_ != State::kSetup) {
          declared_queue_ = name;
          declared_messages_ = messages;
          declared_consumers_ = consumers;
        }
        reply();
        return;
      }
      case (60u << 16) | 80:     // basic.ack (a confirm)
      case (60u << 16) | 120: {  // basic.nack
        uint64_t tag = rd.u64();
        bool multiple = (rd.u8() & 1) != 0;
        bool nack = id == 120;
        s.add(g_stats->counter(nack ? kNacked : kConfirmed));
        if (busy() && wait_ == Wait::kConfirm &&
            (tag == awaited_tag_ || (multiple && tag >= awaited_tag_))) {
          wait_ = Wait::kNone;
          if (nack) {
            refuse("nack", "the broker did not take the message (basic.nack)");
          } else {
            finish({});
          }
        }
        return;
      }
      case (60u << 16) | 60: {  // basic.deliver: a header and body follow
        rd.shortstr();          // consumer tag
        content_tag_ = rd.u64();
        content_redelivered_ = (rd.u8() & 1) != 0;
        content_exchange_.assign(rd.shortstr());
        content_key_.assign(rd.shortstr());
        content_ = rd.ok();
        return;
      }
      default:
        return;  // connection.open-ok's peers, channel.flow, basic.return, ...
    }
  }

  // connection.start-ok's client properties (a field table): our name, and the capability that
  // makes the broker say why it refuses a login (connection.close 403) instead of hanging up.
  static std::string client_properties() {
    auto field = [](std::string& t, std::string_view name, char type, std::string_view value) {
      t.push_back(static_cast<char>(name.size()));
      t.append(name);
      t.push_back(type);
      t.append(value);
    };
    auto longstr = [](std::string_view v) {
      Args a(0, 0);
      a.longstr(v);
      return a.bytes().substr(4);  // without the class and method ids
    };
    std::string caps;
    for (const char* c :
         {"authentication_failure_close", "publisher_confirms", "consumer_cancel_notify"}) {
      field(caps, c, 't', std::string_view("\x01", 1));
    }
    std::string props;
    field(props, "product", 'S', longstr("loadspiker"));
    field(props, "capabilities", 'F', longstr(caps));
    return props;
  }

  // A reply to a declaration or consume: set-up goes on, or the exchange ends.
  void reply() noexcept {
    if (state_ == State::kSetup) {
      if (setup_replies_ > 0) --setup_replies_;
      setup_done_step();
      return;
    }
    if (!busy() || wait_ != Wait::kReplies) return;
    if (replies_ > 0 && --replies_ > 0) return;
    wait_ = Wait::kNone;
    if (request_->op != Op::kDeclare) {
      finish({});
      return;
    }
    proto::Outcome o;
    o.done_ns = host_.now();
    plan::CapturedResponse parts;
    parts.body = declared_queue_;
    parts.rows = declared_messages_;
    std::string consumers = fmt::format("{}", declared_consumers_);
    parts.headers.emplace_back("queue", declared_queue_);
    parts.headers.emplace_back("consumers", consumers);
    o.parts = &parts;
    complete_one(o, true);
  }

  // A delivered message is complete: acknowledged, measured, handed to a receive or queued.
  void delivered() noexcept {
    content_ = false;
    if (content_body_.capacity() > kKeepBuffer) {  // a big body: freed once handed on
      std::string body = std::move(content_body_);
      content_body_ = std::string();
      deliver_body(body);
      return;
    }
    deliver_body(content_body_);
  }

  void deliver_body(const std::string& content) noexcept {
    metrics::Shard& s = host_.shard();
    ack_tag_ = content_tag_;  // acknowledged with the batch it came in
    s.add(g_stats->counter(kReceived));
    if (content_redelivered_) s.add(g_stats->counter(kRedelivered));
    std::string_view body = content;
    stamps_.take(&body, s,
                 {g_stats->counter(kReceivedTimed), g_stats->counter(kLost),
                  g_stats->counter(kOutOfOrder), g_stats->histogram(kEndToEnd)});
    if (busy() && wait_ == Wait::kMessage) {
      ack_delivered();  // before the step ends (the run may end with it)
      deliver(content_exchange_, content_key_, body, content_redelivered_);
      return;
    }
    if (request_ != nullptr && !request_->subscribe.empty()) return;  // measured, not read
    while (!queue_messages_.empty() && (queue_messages_.size() >= kMaxQueued ||
                                        queued_bytes_ + body.size() > kMaxQueuedBytes)) {
      queued_bytes_ -= queue_messages_.front().body.size();
      queue_messages_.pop_front();
      s.add(g_stats->counter(kUnread));
    }
    if (body.size() > kMaxQueuedBytes) {  // never kept
      s.add(g_stats->counter(kUnread));
      return;
    }
    queued_bytes_ += body.size();
    queue_messages_.push_back(
        {content_exchange_, content_key_, std::string(body), content_redelivered_});
  }

  void deliver_queued() noexcept {
    if (queue_messages_.empty()) return;
    Message m = std::move(queue_messages_.front());
    queue_messages_.pop_front();
    queued_bytes_ -= m.body.size();
    ack_delivered();  // what was read is acknowledged before a step ends with it
    deliver(m.exchange, m.routing_key, m.body, m.redelivered);
  }

  void deliver(std::string_view exchange, std::string_view key, std::string_view body,
               bool redelivered) noexcept {
    wait_ = Wait::kNone;
    proto::Outcome o;
    o.done_ns = host_.now();
    plan::CapturedResponse parts;
    parts.body = body;
    parts.headers.emplace_back("exchange", exchange);
    parts.headers.emplace_back("routing_key", key);
    parts.headers.emplace_back("redelivered", redelivered ? "true" : "false");
    o.parts = &parts;
    complete_one(o, true);
  }

  void refuse(std::string_view code, std::string_view message) noexcept {
    if (!busy()) return;
    wait_ = Wait::kNone;
    TransportSession::refuse(code, message);
  }

  const Request* request_ = nullptr;
  State state_ = State::kClosed;
  Wait wait_ = Wait::kNone;
  uint32_t frame_max_ = 131072;
  int64_t heartbeat_ns_ = 0, last_sent_ns_ = 0;
  int setup_replies_ = 0, replies_ = 0;
  bool subscribing_ = false, written_then_done_ = false;
  bool confirming_ = false;   // the channel is in confirm mode
  uint64_t unconfirmed_ = 0;  // publishes sent without a confirm: a close waits for close-ok
  uint64_t delivery_tag_ = 0, awaited_tag_ = 0;
  uint64_t ack_tag_ = 0;  // the last delivery read and not yet acknowledged
  uint64_t resets_ = 0;   // connections ended (a handler may end it mid-batch)
  uint32_t publisher_ = 0, seq_ = 0;
  std::string exchange_name_, routing_key_, queue_, message_;
  std::string in_, frame_, pending_out_, wire_, body_;
  std::string declared_queue_;
  uint32_t declared_messages_ = 0, declared_consumers_ = 0;
  // A delivery being read: its method, then its header and body frames.
  bool content_ = false, content_redelivered_ = false;
  uint64_t content_tag_ = 0, content_size_ = 0;
  std::string content_exchange_, content_key_, content_body_;
  std::deque<Message> queue_messages_;
  size_t queued_bytes_ = 0;
  proto::StampReader stamps_;
};

}  // namespace

std::unique_ptr<proto::Session> make_session(proto::SessionHost& host,
                                             const proto::SessionOptions& o) {
  return proto::make_transport_session<Session>(host, o);
}

}  // namespace spiker::amqp
