// The MQTT session: CONNECT, publishes with their acknowledgement flows, subscriptions, incoming
// messages acknowledged per QoS and measured by their stamps, keep-alive pings (see mqtt.cc for
// the protocol as a whole).
#include <fmt/format.h>
#include <sys/epoll.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <string>
#include <vector>

#include "metrics/shard.h"
#include "proto/message_stamp.h"
#include "proto/transport_session.h"
#include "protocols/mqtt/codec.h"
#include "protocols/mqtt/request.h"

namespace spiker::mqtt {
namespace {

using metrics::ErrorKind;

constexpr size_t kMaxQueued = 1024;  // messages kept for a later mqtt.receive
// ... and their bytes: past either bound the oldest is dropped (counted as unread_dropped).
constexpr size_t kMaxQueuedBytes = 16u << 20;
// Acknowledgements and pings not yet taken by a broker that stopped reading: past this the
// connection is closed as a protocol failure.
constexpr size_t kMaxControl = 4u << 20;
constexpr size_t kKeepBuffer = 1u << 20;  // a buffer grown past this is freed once used

struct Message {
  std::string topic, payload;
};

class Session final : public proto::TransportSession {
 public:
  using TransportSession::TransportSession;
  ~Session() override {
    if (ticket_ != nullptr) ticket_->fetch_sub(1);  // another connection may subscribe
  }

  void close() noexcept override {
    if (transport_.is_open() && connected_) {
      std::string bye;
      put_packet(bye, 0xe0, {});  // DISCONNECT: a clean goodbye (the will is not sent)
      size_t n = 0;
      transport_.write(bye.data(), bye.size(), &n);
    }
    reset();
    TransportSession::close();
  }

  void check_deadline(int64_t now) noexcept override {
    TransportSession::check_deadline(now);
    // Keep-alive: a PINGREQ when nothing was sent for the interval.
    if (connected_ && keepalive_ns_ > 0 && now - last_sent_ns_ >= keepalive_ns_ &&
        transport_.is_open()) {
      std::string ping;
      put_packet(ping, 0xc0, {});
      host_.shard().add(g_stats->counter(kPings));
      send_control(ping);
    }
  }

 protected:
  void on_failure(ErrorKind) noexcept override { reset(); }

  void start() noexcept override {
    request_ = static_cast<const Request*>(exchange_.request);
    split_payload();
    if (!connected_ && request_->op == Op::kDisconnect) {
      close();  // nothing to say goodbye to
      finish({});
      return;
    }
    if (!connected_) {
      if (!awaiting_connack_) send_connect();
      return;  // the exchange goes on after CONNACK
    }
    begin_exchange();
  }

  void on_events(uint32_t events) noexcept override {
    if ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) != 0) {
      if (busy() && out_off_ < out_.size()) {
        if (!write_payload()) return;
        if (!transport_.is_open()) return;
        written();
      }
      flush_control();
    }
    if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP)) != 0) read();
  }

  void timed_out() noexcept override {
    if (busy() && waiting_ == Wait::kMessage) {
      waiting_ = Wait::kNone;
      give_up(ErrorKind::kTimeout);  // a receive that waited in vain: the connection stays
      return;
    }
    fail(ErrorKind::kTimeout);
  }

 private:
  enum class Wait : uint8_t { kNone, kConnack, kPuback, kPubrec, kPubcomp, kSuback, kMessage };

  void reset() noexcept {
    ++resets_;
    connected_ = awaiting_connack_ = subscribed_ = false;
    waiting_ = Wait::kNone;
    in_.clear();
    control_.clear();
    awaiting_rel_.clear();
  }

  void split_payload() {
    std::string_view p = out_;
    size_t a = p.find(kSeparator);
    topic_ = p.substr(0, a);
    std::string_view rest = a == std::string_view::npos ? std::string_view() : p.substr(a + 1);
    size_t b = rest.find(kSeparator);
    message_ = rest.substr(0, b);
    client_id_ = b == std::string_view::npos ? std::string_view() : rest.substr(b + 1);
  }

  void send_connect() noexcept {
    const Request& r = *request_;
    std::string body;
    put_str(body, "MQTT");
    body.push_back(static_cast<char>(r.version));
    uint8_t flags = r.clean ? 0x02 : 0;
    if (!r.will_topic.empty()) {
      flags |= 0x04 | static_cast<uint8_t>(r.will_qos << 3) | (r.will_retain ? 0x20 : 0);
    }
    if (r.has_password) flags |= 0x40;
    if (r.has_user) flags |= 0x80;
    body.push_back(static_cast<char>(flags));
    put_u16(body, r.keepalive);
    if (r.version == 5) put_varint(body, 0);  // no properties
    std::string id(client_id_);
    if (id.empty()) id = fmt::format("ls-{:016x}", host_.random());
    put_str(body, id);
    if (!r.will_topic.empty()) {
      if (r.version == 5) put_varint(body, 0);
      put_str(body, r.will_topic);
      put_str(body, r.will_message);
    }
    if (r.has_user) put_str(body, r.user);
    if (r.has_password) put_str(body, r.password);
    wire_.clear();
    put_packet(wire_, 0x10, body);
    keepalive_ns_ = static_cast<int64_t>(r.keepalive) * 1'000'000'000 * 3 / 4;
    awaiting_connack_ = true;
    waiting_ = Wait::kConnack;
    host_.shard().add(g_stats->counter(kConnects));
    payload_copy_.assign(out_.data(), out_.size());  // the exchange's, for after CONNACK
    write_wire();
  }

  void write_wire() noexcept {
    out_ = wire_;
    out_off_ = 0;
    last_sent_ns_ = host_.now();
    if (!write_payload()) return;
    written();
  }

  // The exchange's own packet, once the connection is up.
  void begin_exchange() noexcept {
    const Request& r = *request_;
    metrics::Shard& s = host_.shard();
    switch (r.op) {
      case Op::kConnect:
        finish({});
        return;
      case Op::kDisconnect:
        close();
        finish({});
        return;
      case Op::kReceive:
        waiting_ = Wait::kMessage;
        deliver_queued();
        return;
      case Op::kSubscribe: {
        std::string body;
        packet_id_ = next_id();
        put_u16(body, packet_id_);
        if (r.version == 5) put_varint(body, 0);
        put_str(body, topic_);
        body.push_back(static_cast<char>(r.qos));
        wire_.clear();
        put_packet(wire_, 0x82, body);
        waiting_ = Wait::kSuback;
        s.add(g_stats->counter(kSubscribes));
        write_wire();
        return;
      }
      case Op::kPublish:
        if (r.subscribers > 0 && role_ == Role::kUnknown) take_role(r);
        if (role_ == Role::kSubscriber) {  // its exchanges receive what the publishers send
          out_ = {};  // nothing of the exchange's to write: acknowledgements go out at once
          out_off_ = 0;
          subscribe_once(r);
          waiting_ = Wait::kMessage;
          return;
        }
        if (r.subscribers == 0) subscribe_once(r);
        publish(r);
        return;
    }
  }

  // One connection of --subscribers N: a ticket while fewer than N hold one.
  void take_role(const Request& r) noexcept {
    uint32_t n = r.subscribing.load();
    while (n < r.subscribers && !r.subscribing.compare_exchange_weak(n, n + 1)) {
    }
    if (n < r.subscribers) {
      role_ = Role::kSubscriber;
      ticket_ = &r.subscribing;
    } else {
      role_ = Role::kPublisher;
    }
  }

  // A plain run's --subscribe, once per connection.
  void subscribe_once(const Request& r) noexcept {
    if (r.subscribe.empty() || subscribed_) return;
    subscribed_ = true;
    std::string body;
    put_u16(body, next_id());
    if (r.version == 5) put_varint(body, 0);
    put_str(body, r.subscribe);
    body.push_back(static_cast<char>(r.qos));
    std::string sub;
    put_packet(sub, 0x82, body);
    host_.shard().add(g_stats->counter(kSubscribes));
    send_control(sub);
  }

  void publish(const Request& r) noexcept {
    std::string& body = body_;  // reused: no allocation per message
    body.clear();
    put_str(body, topic_);
    if (r.qos > 0) {
      packet_id_ = next_id();
      put_u16(body, packet_id_);
    }
    if (r.version == 5) put_varint(body, 0);
    if (r.stamp) {
      if (publisher_ == 0) publisher_ = static_cast<uint32_t>(host_.random() | 1);
      proto::put_stamp(body, publisher_, seq_++);
    }
    body.append(message_);
    wire_.clear();
    put_packet(wire_, static_cast<uint8_t>(0x30 | (r.qos << 1) | (r.retain ? 1 : 0)), body);
    metrics::Shard& s = host_.shard();
    s.add(g_stats->counter(kPublished));
    s.add(g_stats->counter(kPublishedQos0 + r.qos));
    waiting_ = r.qos == 0 ? Wait::kNone : r.qos == 1 ? Wait::kPuback : Wait::kPubrec;
    write_wire();
  }

  // The exchange's packet is on the wire: a QoS 0 publish is done.
  void written() noexcept {
    if (!busy() || waiting_ != Wait::kNone || request_ == nullptr || request_->op != Op::kPublish) {
      if (busy()) try_packets();
      return;
    }
    proto::Outcome o;
    o.timed = false;  // fire and forget: nothing to time
    o.done_ns = host_.now();
    complete_one(o, true);
  }

  uint16_t next_id() noexcept {
    if (++id_ == 0) id_ = 1;
    return id_;
  }

  // A control packet (acknowledgements, pings) outside the exchange's write.
  void send_control(std::string_view bytes) noexcept {
    if (control_.size() + bytes.size() > kMaxControl) {  // the broker takes nothing we send
      broken();
      return;
    }
    control_.append(bytes);
    if (busy() && out_off_ < out_.size()) return;  // after the exchange's bytes
    if (parsing_) return;  // one write for a batch's acknowledgements, after it
    flush_control();
  }

  void flush_control() noexcept {
    while (!control_.empty() && transport_.is_open()) {
      size_t n = 0;
      Transport::Io r = transport_.write(control_.data(), control_.size(), &n);
      if (r == Transport::Io::kAgain) break;
      if (r != Transport::Io::kOk) {
        account();
        fail(proto::classify_errno(transport_.error()));
        return;
      }
      control_.erase(0, n);
      last_sent_ns_ = host_.now();
    }
    account();
  }

  void read() noexcept {
    read_stream(in_, false, [this] { try_packets(); });
  }

  // The packets in in_, from its start; what was handled is erased once at the end (a flood of
  // small packets costs no copy of the buffer per packet). A handler may end the exchange, and
  // the engine start the next one from under it: a call from there returns at once and this
  // loop goes on with what is left.
  void try_packets() noexcept {
    if (parsing_) return;
    parsing_ = true;
    size_t off = 0;
    uint64_t resets = resets_;
    while (off < in_.size() && transport_.is_open()) {
      uint8_t first = 0;
      std::string_view body;
      size_t n = parse_packet(std::string_view(in_).substr(off), &first, &body);
      if (n == 0) break;
      if (n == SIZE_MAX) {
        parsing_ = false;
        broken();  // not MQTT (or over kMaxPacket): the connection cannot be trusted
        return;
      }
      packet_.assign(in_, off, n);  // handlers may end the exchange and read on
      off += n;
      parse_packet(packet_, &first, &body);
      handle(first, body);
      if (resets_ != resets) {  // the connection ended: in_ is gone
        parsing_ = false;
        return;
      }
    }
    in_.erase(0, off);
    if (packet_.capacity() > kKeepBuffer) std::string().swap(packet_);  // a big one went by
    parsing_ = false;
    if (!control_.empty() && !(busy() && out_off_ < out_.size())) flush_control();
  }

  void broken() noexcept {
    in_.clear();
    host_.shard().add(g_stats->counter(kProtocolErrors));
    fail(ErrorKind::kProtocol);
  }

  void handle(uint8_t first, std::string_view body) noexcept {
    metrics::Shard& s = host_.shard();
    uint8_t type = first >> 4;
    // Before CONNACK a broker sends nothing else; CONNECT, SUBSCRIBE, UNSUBSCRIBE, PINGREQ and
    // the reserved types never come from a broker (AUTH, 15, only in MQTT 5).
    bool v5 = request_ != nullptr && request_->version == 5;
    if ((awaiting_connack_ && type != 2) || type == 0 || type == 1 || type == 8 || type == 10 ||
        type == 12 || (type == 15 && !v5)) {
      broken();
      return;
    }
    switch (type) {
      case 2: {  // CONNACK
        uint8_t code = body.size() >= 2 ? static_cast<uint8_t>(body[1]) : 0xff;
        awaiting_connack_ = false;
        if (code != 0) {
          s.add(g_stats->counter(kConnackRefused));
          close();  // before the Outcome: the next exchange connects anew
          refuse(fmt::format("{}", code), fmt::format("CONNACK refused the connection ({})", code));
          return;
        }
        connected_ = true;
        waiting_ = Wait::kNone;
        if (busy()) {
          out_ = payload_copy_;
          split_payload();
          begin_exchange();
        }
        return;
      }
      case 4:  // PUBACK
        if (waiting_ == Wait::kPuback && body.size() >= 2 && get_u16(body, 0) == packet_id_) {
          acknowledged(body.size() >= 3 ? static_cast<uint8_t>(body[2]) : 0);
        }
        return;
      case 5: {  // PUBREC: release it
        if (body.size() < 2) return;
        uint16_t id = get_u16(body, 0);
        uint8_t code = body.size() >= 3 ? static_cast<uint8_t>(body[2]) : 0;
        if (waiting_ == Wait::kPubrec && id == packet_id_ && code >= 0x80) {
          acknowledged(code);
          return;
        }
        std::string rel;
        std::string idb;
        put_u16(idb, id);
        put_packet(rel, 0x62, idb);
        send_control(rel);
        if (waiting_ == Wait::kPubrec && id == packet_id_) waiting_ = Wait::kPubcomp;
        return;
      }
      case 7:  // PUBCOMP
        if (waiting_ == Wait::kPubcomp && body.size() >= 2 && get_u16(body, 0) == packet_id_) {
          acknowledged(body.size() >= 3 ? static_cast<uint8_t>(body[2]) : 0);
        }
        return;
      case 9: {  // SUBACK
        if (body.size() < 3) return;
        uint16_t id = get_u16(body, 0);
        size_t at = 2;
        if (request_ != nullptr && request_->version == 5 && !skip_properties(body, &at)) {
          broken();
          return;
        }
        uint8_t code = at < body.size() ? static_cast<uint8_t>(body[at]) : 0x80;
        if (code >= 0x80) s.add(g_stats->counter(kSubscribeRefused));
        if (waiting_ == Wait::kSuback && id == packet_id_) {
          waiting_ = Wait::kNone;
          if (code >= 0x80) {
            refuse(fmt::format("{}", code), "SUBACK refused the subscription");
          } else {
            finish({});
          }
        }
        return;
      }
      case 3:  // PUBLISH from the broker
        incoming(first, body);
        return;
      case 6: {  // PUBREL of an incoming QoS 2 message: complete it
        if (body.size() < 2) return;
        uint16_t id = get_u16(body, 0);
        std::erase(awaiting_rel_, id);
        std::string comp, idb;
        put_u16(idb, id);
        put_packet(comp, 0x70, idb);
        send_control(comp);
        return;
      }
      case 13:  // PINGRESP
        return;
      case 14:  // DISCONNECT from the broker (MQTT 5)
        reset();
        close();
        if (busy()) fail(ErrorKind::kReset);
        return;
      default:
        return;
    }
  }

  void acknowledged(uint8_t code) noexcept {
    waiting_ = Wait::kNone;
    host_.shard().add(g_stats->counter(kAcknowledged));
    if (code >= 0x80) {  // MQTT 5: the broker did not accept the message
      refuse(fmt::format("{}", code), "the broker refused the publish");
      return;
    }
    finish({});
  }

  void incoming(uint8_t first, std::string_view body) noexcept {
    metrics::Shard& s = host_.shard();
    Publish p;
    if (!parse_publish(first, body, request_ != nullptr && request_->version == 5, &p)) {
      broken();  // shorter than its own header says
      return;
    }
    uint8_t qos = p.qos;
    uint16_t id = p.id;
    std::string_view topic = p.topic;
    std::string_view payload = p.payload;
    if (qos == 1) {
      std::string ack, idb;
      put_u16(idb, id);
      put_packet(ack, 0x40, idb);
      send_control(ack);
    } else if (qos == 2) {
      std::string rec, idb;
      put_u16(idb, id);
      put_packet(rec, 0x50, idb);
      send_control(rec);
      if (std::find(awaiting_rel_.begin(), awaiting_rel_.end(), id) != awaiting_rel_.end()) {
        s.add(g_stats->counter(kDuplicates));  // a redelivery before its PUBREL: once only
        return;
      }
      awaiting_rel_.push_back(id);
    }
    s.add(g_stats->counter(kReceived));
    stamps_.take(&payload, s,
                 {g_stats->counter(kReceivedTimed), g_stats->counter(kLost),
                  g_stats->counter(kOutOfOrder), g_stats->histogram(kEndToEnd)});
    if (busy() && waiting_ == Wait::kMessage) {
      deliver(topic, payload);
      return;
    }
    if (request_ != nullptr && !request_->subscribe.empty()) return;  // measured, not read
    while (!queue_.empty() &&
           (queue_.size() >= kMaxQueued || queued_bytes_ + payload.size() > kMaxQueuedBytes)) {
      queued_bytes_ -= queue_.front().payload.size();
      queue_.pop_front();
      s.add(g_stats->counter(kUnread));
    }
    if (payload.size() > kMaxQueuedBytes) {  // never kept
      s.add(g_stats->counter(kUnread));
      return;
    }
    queued_bytes_ += payload.size();
    queue_.push_back({std::string(topic), std::string(payload)});
  }

  void deliver_queued() noexcept {
    if (queue_.empty()) return;
    Message m = std::move(queue_.front());
    queue_.pop_front();
    queued_bytes_ -= m.payload.size();
    deliver(m.topic, m.payload);
  }

  void deliver(std::string_view topic, std::string_view payload) noexcept {
    waiting_ = Wait::kNone;
    proto::Outcome o;
    o.done_ns = host_.now();
    // A subscriber's wait is not a latency (end_to_end_us is): counted, not timed.
    o.timed = role_ != Role::kSubscriber;
    plan::CapturedResponse parts;
    parts.body = payload;
    parts.headers.emplace_back("topic", topic);
    o.parts = &parts;
    complete_one(o, true);
  }

  void refuse(std::string_view code, std::string_view message) noexcept {
    if (busy()) TransportSession::refuse(code, message);
  }

  enum class Role : uint8_t { kUnknown, kPublisher, kSubscriber };
  Role role_ = Role::kUnknown;
  std::atomic<uint32_t>* ticket_ = nullptr;  // a subscriber's place among --subscribers
  const Request* request_ = nullptr;
  bool connected_ = false, awaiting_connack_ = false, subscribed_ = false;
  Wait waiting_ = Wait::kNone;
  uint16_t id_ = 0, packet_id_ = 0;
  uint32_t publisher_ = 0, seq_ = 0;
  int64_t keepalive_ns_ = 0, last_sent_ns_ = 0;
  std::string_view topic_, message_, client_id_;
  std::string wire_, in_, control_, payload_copy_, body_, packet_;
  bool parsing_ = false;  // try_packets() is on the stack
  uint64_t resets_ = 0;   // connections ended (a handler may end one mid-batch)
  size_t queued_bytes_ = 0;
  std::vector<uint16_t> awaiting_rel_;
  proto::StampReader stamps_;
  std::deque<Message> queue_;
};

}  // namespace

std::unique_ptr<proto::Session> make_session(proto::SessionHost& host,
                                             const proto::SessionOptions& o) {
  return proto::make_transport_session<Session>(host, o);
}

}  // namespace spiker::mqtt
