// AMQP 0-9-1 (amqp://user:pass@host:5672/vhost, amqps:// over TLS; RabbitMQ): our own framing
// on our transport (librabbitmq blocks). A connection opens with the protocol header,
// connection.start-ok (PLAIN), tune-ok, open, then channel 1 (in confirm mode from its first
// confirmed publish); then what the
// plain run asks of every connection: an exchange declared (--exchange-type), a queue declared
// (--queue), and with --subscribe an exclusive queue bound to the exchange and consumed with
// acks. A plain run publishes -b to --exchange with --routing-key (default: the queue) and
// times publish to the broker's confirm (basic.ack); --confirm false publishes fire and forget.
// Journeys: amqp.connect, amqp.declare (exchange, queue, binding), amqp.publish, amqp.consume,
// amqp.receive (with match), amqp.disconnect. Publishes with --subscribe (or timestamp = true)
// carry a stamp: whoever receives them records end-to-end latency, lost and out-of-order.
#include <fmt/format.h>

#include <algorithm>
#include <iterator>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/url.h"
#include "proto/payload.h"
#include "proto/protocol.h"
#include "protocols/amqp/request.h"

namespace spiker::amqp {

const metrics::StatBlock* g_stats = nullptr;

namespace {

constexpr const char* kCounterNames[] = {
    "connects",    "published",      "confirmed",      "nacked",         "declared",
    "consumers",   "received",       "received_timed", "lost",           "out_of_order",
    "redelivered", "channel_errors", "unread_dropped", "protocol_errors"};
static_assert(std::size(kCounterNames) == kCounterCount, "a name per counter");
constexpr const char* kActions[] = {"amqp.connect", "amqp.declare", "amqp.publish",
                                    "amqp.consume", "amqp.receive", "amqp.disconnect"};

std::vector<std::string> keys_of(Op op) {
  std::vector<std::string> k = {"heartbeat"};
  switch (op) {
    case Op::kDeclare:
      k.insert(k.end(), {"exchange", "exchange_type", "queue", "routing_key", "durable",
                         "auto_delete", "exclusive"});
      break;
    case Op::kPublish:
      k.insert(k.end(), {"exchange", "routing_key", "queue", "confirm", "persistent", "timestamp"});
      break;
    case Op::kConsume:
      k.insert(k.end(), {"queue", "prefetch"});
      break;
    default:
      break;
  }
  return k;
}

std::shared_ptr<plan::ProtocolRequest> compile(const proto::RequestInput& in) {
  bool step = in.action >= 0;
  auto r = std::make_shared<Request>();
  r->op = step ? static_cast<Op>(in.action) : Op::kPublish;
  r->action = static_cast<uint8_t>(std::max(in.action, 0));
  r->action_name = kActions[static_cast<int>(r->op)];
  r->verb = static_cast<uint8_t>(r->op == Op::kReceive   ? proto::Verb::kReceive
                                 : r->op == Op::kConnect ? proto::Verb::kConnect
                                                         : proto::Verb::kExchange);
  r->plain = !step;
  proto::RequestInput norm = in;
  for (proto::Option& o : norm.options) std::replace(o.key.begin(), o.key.end(), '-', '_');
  std::vector<std::string> known = keys_of(r->op);
  if (!step) known.insert(known.end(), {"exchange_type", "durable", "subscribe", "prefetch"});
  proto::reject_unknown(norm, known);
  auto opt = [&](const char* key) { return proto::find_option(norm, key); };
  if (const proto::Option* o = opt("confirm")) r->confirm = proto::bool_option(*o);
  if (const proto::Option* o = opt("persistent")) r->persistent = proto::bool_option(*o);
  if (const proto::Option* o = opt("timestamp")) r->stamp = proto::bool_option(*o);
  if (const proto::Option* o = opt("durable")) r->durable = proto::bool_option(*o);
  if (const proto::Option* o = opt("auto_delete")) r->auto_delete = proto::bool_option(*o);
  if (const proto::Option* o = opt("exclusive")) r->exclusive = proto::bool_option(*o);
  if (const proto::Option* o = opt("exchange_type")) {
    r->exchange_type = o->value;
    static const char* kTypes[] = {"direct", "fanout", "topic", "headers"};
    if (std::none_of(std::begin(kTypes), std::end(kTypes),
                     [&](const char* t) { return o->value == t; })) {
      throw SetupError(fmt::format("{}: {} is direct, fanout, topic or headers (got '{}')",
                                   o->where, o->key, o->value));
    }
  }
  for (const char* k : {"prefetch", "heartbeat"}) {
    if (const proto::Option* o = opt(k)) {
      uint64_t v = proto::positive_option(*o);
      if (v > 65535) throw SetupError(fmt::format("{}: {} is at most 65535", o->where, o->key));
      (k[0] == 'p' ? r->prefetch : r->heartbeat) = static_cast<uint16_t>(v);
    }
  }
  if (!in.url.user.empty()) r->user = in.url.user;
  if (in.url.has_password) r->password = in.url.password;
  std::string_view path = in.url.target;
  path = path.substr(0, path.find('?'));
  if (path.size() > 1) r->vhost = percent_decode(path.substr(1));
  auto text = [&](const char* key) {
    const proto::Option* o = opt(key);
    return o != nullptr ? o->value : std::string();
  };
  std::string exchange = text("exchange"), key = text("routing_key"), queue = text("queue");
  if (!step) {
    r->declare_queue = !queue.empty();
    if (const proto::Option* o = opt("subscribe")) {
      if (exchange.empty()) {
        throw SetupError(fmt::format(
            "{}: --subscribe binds a queue per connection to an exchange: give --exchange "
            "(amq.topic is RabbitMQ's own topic exchange)",
            in.where));
      }
      r->subscribe = o->value;
      r->stamp = true;  // the publishers' messages carry what end-to-end latency needs
    }
    if (exchange.empty() && queue.empty() && key.empty()) {
      throw SetupError(fmt::format(
          "{}: an AMQP publish needs somewhere to go: --queue NAME (the default exchange routes "
          "to it), or --exchange NAME with --routing-key KEY",
          in.where));
    }
  }
  if (r->op == Op::kConsume && queue.empty()) {
    throw SetupError(fmt::format("{}: amqp.consume needs queue = \"...\"", in.where));
  }
  if (r->op == Op::kDeclare && queue.empty() && r->exchange_type.empty() && !r->exclusive) {
    throw SetupError(fmt::format(
        "{}: amqp.declare declares a queue (queue = \"...\") and/or an exchange (exchange = "
        "\"...\" with exchange_type = \"topic\")",
        in.where));
  }
  if (!r->exchange_type.empty() && exchange.empty()) {
    throw SetupError(fmt::format("{}: exchange_type needs the exchange's name", in.where));
  }
  std::string message;
  if (r->op == Op::kPublish) {
    proto::read_payload(in, "payload_hex", *r);
    message = r->payload;
  } else if (in.payload_given) {
    throw SetupError(
        fmt::format("{}: {} sends no message: remove the body", in.where, r->action_name));
  }
  for (const std::string* s : {&exchange, &key, &queue, &message}) {
    if (s->find(kSeparator) != std::string::npos) {
      throw SetupError(
          fmt::format("{}: names and the message cannot hold the byte 0x1f", in.where));
    }
  }
  for (const std::string* s : {&exchange, &key, &queue}) {
    if (s->size() > 255) {
      throw SetupError(fmt::format("{}: AMQP names are at most 255 bytes", in.where));
    }
  }
  r->payload = exchange + kSeparator + key + kSeparator + queue + kSeparator + message;
  r->payload_literal = false;
  return r;
}

std::string describe(const plan::ProtocolRequest& pr) {
  const auto& r = static_cast<const Request&>(pr);
  std::vector<std::string_view> f;
  std::string_view p = r.payload;
  for (int i = 0; i < 3; ++i) {
    size_t cut = p.find(kSeparator);
    f.push_back(p.substr(0, cut));
    p = cut == std::string_view::npos ? std::string_view() : p.substr(cut + 1);
  }
  switch (r.op) {
    case Op::kPublish:
      return fmt::format(
          "publish to exchange '{}' with routing key '{}'{}{}", f[0], f[1].empty() ? f[2] : f[1],
          r.confirm ? ", confirmed" : "",
          r.subscribe.empty() ? "" : ", each connection subscribed to " + r.subscribe);
    case Op::kDeclare:
      return fmt::format("declare{}{}",
                         r.exchange_type.empty() ? "" : " exchange " + std::string(f[0]),
                         f[2].empty() ? "" : " queue " + std::string(f[2]));
    case Op::kConsume:
      return fmt::format("consume queue {}", f[2]);
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
}  // namespace spiker::amqp

void spiker_register_amqp() {
  using namespace spiker;
  metrics::StatBlockDef stats;
  stats.name = "amqp";
  stats.title = "AMQP";
  stats.counters.assign(std::begin(amqp::kCounterNames), std::end(amqp::kCounterNames));
  stats.histograms = {"end_to_end"};
  stats.summary = {"published", "confirmed", "received", "lost"};
  stats.per_second = {"published", "received"};
  amqp::g_stats = &metrics::StatBlocks::add(std::move(stats));
  proto::Protocol p;
  p.name = "amqp";
  p.schemes = {"amqp", "amqps"};
  p.tls_schemes = {"amqps"};
  p.summary = "AMQP 0-9-1 / RabbitMQ (amqp://user:pass@host:5672/vhost): -b MESSAGE --queue Q";
  p.label = "amqp";
  p.runner = "rabbitmq";  // burstgridgo's name
  p.default_port = 5672;
  p.flags = {{"exchange", "amqp: the exchange to publish to (default: the default exchange)"},
             {"routing-key", "amqp: the routing key (default: --queue)"},
             {"queue", "amqp: a queue declared on each connection (and the default routing key)"},
             {"exchange-type", "amqp: declare --exchange as direct, fanout, topic or headers"},
             {"durable", "amqp: declare durable queues and exchanges (true/false)"},
             {"confirm", "amqp: wait for the broker's confirm of each publish (default true)"},
             {"persistent", "amqp: publish persistent messages (delivery mode 2)"},
             {"prefetch", "amqp: unacknowledged deliveries a consumer takes (default 100)"},
             {"heartbeat", "amqp: heartbeat in seconds (default none)"},
             {"subscribe",
              "amqp: each connection also consumes a queue of its own bound to --exchange with "
              "this key; publishes carry a timestamp: end-to-end latency, lost and out-of-order"}};
  p.actions = {
      {"amqp.connect", proto::Verb::kConnect, amqp::keys_of(amqp::Op::kConnect), false, true},
      {"amqp.declare", proto::Verb::kExchange, amqp::keys_of(amqp::Op::kDeclare), false, true},
      {"amqp.publish", proto::Verb::kExchange, amqp::keys_of(amqp::Op::kPublish), true, true},
      {"amqp.consume", proto::Verb::kExchange, amqp::keys_of(amqp::Op::kConsume), false, true},
      {"amqp.receive", proto::Verb::kReceive, amqp::keys_of(amqp::Op::kReceive), false, true},
      {"amqp.disconnect", proto::Verb::kExchange, amqp::keys_of(amqp::Op::kDisconnect), false,
       true}};
  p.stats = amqp::g_stats;
  p.compile = amqp::compile;
  p.make_session = amqp::make_session;
  p.describe = amqp::describe;
  proto::Registry::add(std::move(p));
}
