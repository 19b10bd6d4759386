// AMQP's compiled request and what its two files share: the payload's layout, the stat block
// and its counters, the session's factory (session.cc).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "metrics/stat_block.h"
#include "proto/protocol.h"

namespace spiker::amqp {

inline constexpr char kSeparator = '\x1f';  // exchange, routing key, queue, message in a payload

extern const metrics::StatBlock* g_stats;
enum Counter : uint32_t {
  kConnects,
  kPublished,
  kConfirmed,
  kNacked,
  kDeclared,
  kConsumers,
  kReceived,
  kReceivedTimed,
  kLost,
  kOutOfOrder,
  kRedelivered,
  kChannelErrors,
  kUnread,
  kProtocolErrors,  // the broker broke the protocol (malformed, over a bound): connection closed
  kCounterCount
};
enum Histogram : uint32_t { kEndToEnd };

enum class Op : uint8_t { kConnect, kDeclare, kPublish, kConsume, kReceive, kDisconnect };

struct Request : plan::ProtocolRequest {
  Op op = Op::kPublish;
  std::string user = "guest", password = "guest", vhost = "/";
  bool confirm = true;        // wait for the broker's basic.ack
  bool persistent = false;    // delivery mode 2
  bool stamp = false;         // put a send time and sequence before the message
  std::string exchange_type;  // declare the exchange (direct, fanout, topic, headers)
  bool durable = false, auto_delete = false, exclusive = false;
  uint16_t prefetch = 100;
  uint16_t heartbeat = 0;      // seconds; 0: none
  bool plain = false;          // a plain run: declarations and --subscribe at connection set-up
  std::string subscribe;       // a plain run's binding key: an exclusive queue per connection
  bool declare_queue = false;  // a plain run's --queue: declared at set-up
};

std::unique_ptr<proto::Session> make_session(proto::SessionHost& host,
                                             const proto::SessionOptions& o);

}  // namespace spiker::amqp
