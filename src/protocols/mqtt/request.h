// MQTT's compiled request and what its two files share: the payload's layout, the stat block
// and its counters, the session's factory (session.cc).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "metrics/stat_block.h"
#include "proto/protocol.h"

namespace spiker::mqtt {

inline constexpr char kSeparator = '\x1f';  // topic, message, client id in a rendered payload

extern const metrics::StatBlock* g_stats;
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
  kProtocolErrors,  // the broker broke the protocol (malformed, over a bound): connection closed
  kCounterCount
};
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

std::unique_ptr<proto::Session> make_session(proto::SessionHost& host,
                                             const proto::SessionOptions& o);

}  // namespace spiker::mqtt
