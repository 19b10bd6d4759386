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

#include <algorithm>
#include <iterator>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/url.h"
#include "proto/payload.h"
#include "proto/protocol.h"
#include "protocols/mqtt/request.h"
namespace spiker::mqtt {

const metrics::StatBlock* g_stats = nullptr;

namespace {

using proto::Verb;

constexpr const char* kCounterNames[] = {"connects",       "connack_refused", "published",
                                         "published_qos0", "published_qos1",  "published_qos2",
                                         "acknowledged",   "subscribes",      "subscribe_refused",
                                         "received",       "received_timed",  "lost",
                                         "out_of_order",   "duplicates",      "unread_dropped",
                                         "pings",          "protocol_errors"};
static_assert(std::size(kCounterNames) == kCounterCount, "a name per counter");

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
  p.make_session = mqtt::make_session;
  p.describe = mqtt::describe;
  proto::Registry::add(std::move(p));
}
