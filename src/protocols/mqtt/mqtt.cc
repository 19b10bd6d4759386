// MQTT 3.1.1 and 5 (mqtt://host:port/topic, mqtts:// over TLS): our own codec on our transport.
// A connection sends CONNECT (client id, clean session, keep-alive, will, user and password
// from the URL) before its first exchange. A plain run publishes -b to the URL's topic at --qos
// 0 (fire and forget), 1 (PUBACK) or 2 (PUBREC, PUBREL, PUBCOMP): latency is publish to its
// acknowledgement. Journeys: mqtt.connect, mqtt.publish, mqtt.subscribe, mqtt.receive (with
// match), mqtt.disconnect. Incoming messages are acknowledged per their QoS; with --subscribe
// (or timestamp = true on publishes) publishers put a send time and a sequence number before
// the message and every connection that receives such a message records its end-to-end latency
// (publish to receive, wall clock) and the messages lost, duplicated or out of order.
#include <fmt/format.h>
#include <sys/epoll.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <ctime>
#include <deque>
#include <iterator>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/url.h"
#include "metrics/shard.h"
#include "proto/message_stamp.h"
#include "proto/payload.h"
#include "proto/protocol.h"
#include "proto/transport_session.h"
#include "protocols/mqtt/codec.h"

namespace spiker::mqtt {
namespace {

using metrics::ErrorKind;
using proto::Verb;

constexpr char kSeparator = '\x1f';  // topic, message, client id in a rendered payload
constexpr size_t kMaxQueued = 1024;  // messages kept for a later mqtt.receive

const metrics::StatBlock* g_stats = nullptr;
enum Counter : uint32_t {
  kConnects,
  kConnackRefused,
  kPublished,
  kPublishedQos0,
  kPublishedQos1,
  kPublishedQos2,
  kAcknowledged,
  kSubscribes,
  kSubscribeRefused,
  kReceived,
  kReceivedTimed,
  kLost,
  kOutOfOrder,
  kDuplicates,
  kUnread,
  kPings,
  kCounterCount
};
constexpr const char* kCounterNames[] = {
    "connects",          "connack_refused", "published",      "published_qos0",
    "published_qos1",    "published_qos2",  "acknowledged",   "subscribes",
    "subscribe_refused", "received",        "received_timed", "lost",
    "out_of_order",      "duplicates",      "unread_dropped", "pings"};
static_assert(std::size(kCounterNames) == kCounterCount, "a name per counter");
enum Histogram : uint32_t { kEndToEnd };

enum class Op : uint8_t { kConnect, kPublish, kSubscribe, kReceive, kDisconnect };

struct Request : plan::ProtocolRequest {
  Op op = Op::kPublish;
  uint8_t qos = 0;
  bool retain = false;
  bool stamp = false;   // put a send time and sequence before the message
  uint8_t version = 4;  // 4: MQTT 3.1.1, 5: MQTT 5
  bool clean = true;
  uint16_t keepalive = 0;  // seconds; 0: none
  std::string user, password;
  bool has_user = false, has_password = false;
  std::string will_topic, will_message;
  uint8_t will_qos = 0;
  bool will_retain = false;
  std::string subscribe;  // a plain run's --subscribe filter (each connection subscribes)
  // --subscribers N: only N connections subscribe (the first to start, across workers), and
  // they receive instead of publishing; the rest publish only.
  uint32_t subscribers = 0;
  mutable std::atomic<uint32_t> subscribing{0};  // connections that are subscribers now
  // The payload: topic, message, client id (each rendered per request).
};

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
    control_.append(bytes);
    if (busy() && out_off_ < out_.size()) return;  // after the exchange's bytes
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

  void try_packets() noexcept {
    while (!in_.empty() && transport_.is_open()) {
      uint8_t first = 0;
      std::string_view body;
      size_t n = parse_packet(in_, &first, &body);
      if (n == 0) return;
      if (n == SIZE_MAX) {
        in_.clear();
        fail(ErrorKind::kHttp);  // not MQTT: the connection cannot be trusted
        return;
      }
      std::string packet(in_, 0, n);  // handlers may end the exchange and read on
      in_.erase(0, n);
      parse_packet(packet, &first, &body);
      handle(first, body);
    }
  }

  void handle(uint8_t first, std::string_view body) noexcept {
    metrics::Shard& s = host_.shard();
    uint8_t type = first >> 4;
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
        if (request_ != nullptr && request_->version == 5) skip_properties(body, &at);
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
    uint8_t qos = (first >> 1) & 3;
    if (body.size() < 2) return;
    size_t tlen = get_u16(body, 0);
    if (2 + tlen > body.size()) return;
    std::string_view topic = body.substr(2, tlen);
    size_t at = 2 + tlen;
    uint16_t id = 0;
    if (qos > 0) {
      if (at + 2 > body.size()) return;
      id = get_u16(body, at);
      at += 2;
    }
    if (request_ != nullptr && request_->version == 5) skip_properties(body, &at);
    std::string_view payload = at <= body.size() ? body.substr(at) : std::string_view();
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
    if (queue_.size() >= kMaxQueued) {
      queue_.pop_front();
      s.add(g_stats->counter(kUnread));
    }
    queue_.push_back({std::string(topic), std::string(payload)});
  }

  void deliver_queued() noexcept {
    if (queue_.empty()) return;
    Message m = std::move(queue_.front());
    queue_.pop_front();
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
  std::string wire_, in_, control_, payload_copy_, body_;
  std::vector<uint16_t> awaiting_rel_;
  proto::StampReader stamps_;
  std::deque<Message> queue_;
};

// Keys of each action (besides the payload): connection settings on every action that may
// open the connection.
const std::vector<std::string> kConnectKeys = {"client_id", "clean",      "keepalive",
                                               "version",   "will_topic", "will_message",
                                               "will_qos",  "will_retain"};

std::vector<std::string> keys_of(Op op) {
  std::vector<std::string> k = kConnectKeys;
  if (op == Op::kPublish) k.insert(k.end(), {"topic", "qos", "retain", "timestamp"});
  if (op == Op::kSubscribe) k.insert(k.end(), {"topic", "qos"});
  return k;
}

uint8_t qos_of(const proto::Option& o) {
  if (o.value == "0" || o.value == "1" || o.value == "2")
    return static_cast<uint8_t>(o.value[0] - '0');
  throw SetupError(fmt::format("{}: {} is 0, 1 or 2 (got '{}')", o.where, o.key, o.value));
}

std::shared_ptr<plan::ProtocolRequest> compile(const proto::RequestInput& in) {
  bool step = in.action >= 0;
  auto r = std::make_shared<Request>();
  r->op = step ? static_cast<Op>(in.action) : Op::kPublish;
  r->action = static_cast<uint8_t>(std::max(in.action, 0));
  static const char* kNames[] = {"mqtt.connect", "mqtt.publish", "mqtt.subscribe", "mqtt.receive",
                                 "mqtt.disconnect"};
  r->action_name = step ? kNames[in.action] : "mqtt.publish";
  r->verb = static_cast<uint8_t>(r->op == Op::kReceive      ? Verb::kReceive
                                 : r->op == Op::kDisconnect ? Verb::kExchange
                                 : r->op == Op::kConnect    ? Verb::kConnect
                                                            : Verb::kExchange);
  // Flags are spelled with '-', step keys with '_'.
  proto::RequestInput norm = in;
  for (proto::Option& o : norm.options) std::replace(o.key.begin(), o.key.end(), '-', '_');
  std::vector<std::string> known = keys_of(r->op);
  if (!step) {
    known.insert(known.end(),
                 {"topic", "qos", "retain", "subscribe", "subscribers", "mqtt_version"});
  }
  proto::reject_unknown(norm, known);
  auto opt = [&](const char* key) { return proto::find_option(norm, key); };
  if (const proto::Option* o = opt("qos")) r->qos = qos_of(*o);
  if (const proto::Option* o = opt("retain")) r->retain = proto::bool_option(*o);
  if (const proto::Option* o = opt("timestamp")) r->stamp = proto::bool_option(*o);
  if (const proto::Option* o = opt("clean")) r->clean = proto::bool_option(*o);
  if (const proto::Option* o = opt("will_retain")) r->will_retain = proto::bool_option(*o);
  if (const proto::Option* o = opt("will_qos")) r->will_qos = qos_of(*o);
  if (const proto::Option* o = opt("will_topic")) r->will_topic = o->value;
  if (const proto::Option* o = opt("will_message")) r->will_message = o->value;
  if (!r->will_message.empty() && r->will_topic.empty()) {
    throw SetupError(fmt::format("{}: a will message needs a will topic", in.where));
  }
  if (const proto::Option* o = opt("keepalive")) {
    uint64_t k = proto::positive_option(*o);
    if (k > 65535) throw SetupError(fmt::format("{}: {} is at most 65535 s", o->where, o->key));
    r->keepalive = static_cast<uint16_t>(k);
  }
  const proto::Option* version = opt("version");
  if (version == nullptr) version = opt("mqtt_version");
  if (version != nullptr) {
    if (version->value == "3.1.1" || version->value == "4") {
      r->version = 4;
    } else if (version->value == "5" || version->value == "5.0") {
      r->version = 5;
    } else {
      throw SetupError(fmt::format("{}: {} is 3.1.1 or 5 (got '{}')", version->where, version->key,
                                   version->value));
    }
  }
  if (const proto::Option* o = opt("subscribers")) {
    if (opt("subscribe") == nullptr) {
      throw SetupError(fmt::format(
          "{}: --subscribers N needs --subscribe FILTER (what those connections receive)",
          o->where));
    }
    r->subscribers = static_cast<uint32_t>(proto::positive_option(*o));
  }
  if (const proto::Option* o = opt("subscribe")) {
    r->subscribe = o->value;
    r->stamp = true;  // the publishers' messages carry what end-to-end latency needs
  }
  r->user = in.url.user;
  r->has_user = !in.url.user.empty();
  r->password = in.url.password;
  r->has_password = in.url.has_password;
  const proto::Option* client = opt("client_id");
  if (!r->clean && client == nullptr) {
    throw SetupError(fmt::format(
        "{}: a persistent session (clean = false) needs a client id that stays the same "
        "(client_id = \"sensor-${{VU_ID}}\")",
        in.where));
  }
  // The topic: the step's, or the URL's path (mqtt://host/sensors/${VU_ID}).
  std::string topic;
  if (const proto::Option* t = opt("topic")) {
    topic = t->value;
  } else {
    std::string_view path = in.url.target;
    while (path.starts_with("/")) path.remove_prefix(1);
    topic = percent_decode(path.substr(0, path.find('?')));
  }
  if ((r->op == Op::kPublish || r->op == Op::kSubscribe) && topic.empty()) {
    throw SetupError(fmt::format(
        "{}: {} needs a topic: in the URL (mqtt://host:1883/sensors/${{VU_ID}}) or topic = "
        "\"...\"",
        in.where, r->action_name));
  }
  if (r->op == Op::kPublish && topic.find_first_of("+#") != std::string::npos) {
    throw SetupError(
        fmt::format("{}: a publish topic has no wildcards (+, #): '{}'", in.where, topic));
  }
  std::string message;
  if (r->op == Op::kPublish) {
    proto::read_payload(in, "payload_hex", *r);
    message = r->payload;
  } else if (in.payload_given) {
    throw SetupError(
        fmt::format("{}: {} sends no message: remove the body", in.where, r->action_name));
  }
  for (const std::string* s : {&topic, &message}) {
    if (s->find(kSeparator) != std::string::npos) {
      throw SetupError(
          fmt::format("{}: the topic and message cannot hold the byte 0x1f", in.where));
    }
  }
  r->payload = topic + kSeparator + message + kSeparator + (client ? client->value : "");
  r->payload_literal = false;
  return r;
}

std::string describe(const plan::ProtocolRequest& pr) {
  const auto& r = static_cast<const Request&>(pr);
  std::string_view topic = std::string_view(r.payload).substr(0, r.payload.find(kSeparator));
  switch (r.op) {
    case Op::kPublish:
      return fmt::format(
          "publish to {} at QoS {}{}{}", topic, r.qos, r.retain ? ", retained" : "",
          r.subscribe.empty() ? "" : ", each connection subscribed to " + r.subscribe);
    case Op::kSubscribe:
      return fmt::format("subscribe to {} at QoS {}", topic, r.qos);
    case Op::kReceive:
      return "receive the next message";
    case Op::kConnect:
      return "connect";
    case Op::kDisconnect:
      return "disconnect";
  }
  return {};
}

}  // namespace
}  // namespace spiker::mqtt

void spiker_register_mqtt() {
  using namespace spiker;
  metrics::StatBlockDef stats;
  stats.name = "mqtt";
  stats.title = "MQTT";
  stats.counters.assign(std::begin(mqtt::kCounterNames), std::end(mqtt::kCounterNames));
  stats.histograms = {"end_to_end"};
  stats.summary = {"published", "acknowledged", "received", "lost"};
  stats.per_second = {"published", "received"};
  mqtt::g_stats = &metrics::StatBlocks::add(std::move(stats));
  proto::Protocol p;
  p.name = "mqtt";
  p.schemes = {"mqtt", "mqtts"};
  p.tls_schemes = {"mqtts"};
  p.summary = "MQTT 3.1.1/5 (mqtt://host:1883/topic/${VU_ID}): -b MESSAGE --qos 0|1|2";
  p.label = "mqtt";
  p.default_port = 1883;
  p.flags = {{"qos", "mqtt: 0 (fire and forget), 1 (PUBACK) or 2 (PUBREC/PUBREL/PUBCOMP)"},
             {"retain", "mqtt: publish retained messages (true/false)"},
             {"topic", "mqtt: the topic (default: the URL's path; templates allowed)"},
             {"subscribe",
              "mqtt: each connection also subscribes to this filter; publishes "
              "carry a timestamp: end-to-end latency, lost and out-of-order"},
             {"subscribers",
              "mqtt: with --subscribe, only N connections subscribe (and receive instead of "
              "publishing); the others publish"},
             {"client-id", "mqtt: the client id (templates allowed; default: random)"},
             {"clean", "mqtt: false for a persistent session (needs --client-id)"},
             {"keepalive", "mqtt: keep-alive in seconds (PINGREQ when idle); default none"},
             {"mqtt-version", "mqtt: 3.1.1 (default) or 5"},
             {"will-topic", "mqtt: the will's topic"},
             {"will-message", "mqtt: the will's message"}};
  p.actions = {
      {"mqtt.connect", proto::Verb::kConnect, mqtt::keys_of(mqtt::Op::kConnect), false, true},
      {"mqtt.publish", proto::Verb::kExchange, mqtt::keys_of(mqtt::Op::kPublish), true, true},
      {"mqtt.subscribe", proto::Verb::kExchange, mqtt::keys_of(mqtt::Op::kSubscribe), false, true},
      {"mqtt.receive", proto::Verb::kReceive, mqtt::keys_of(mqtt::Op::kReceive), false, true},
      {"mqtt.disconnect", proto::Verb::kExchange, mqtt::keys_of(mqtt::Op::kDisconnect), false,
       true}};
  p.stats = mqtt::g_stats;
  p.compile = mqtt::compile;
  p.make_session = proto::make_transport_session<mqtt::Session>;
  p.describe = mqtt::describe;
  proto::Registry::add(std::move(p));
}
