// gRPC's compiled request and what its two files share: the payload's layout, status slots,
// the stat block and its counters, message encoding, the session's factory (session.cc).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "metrics/shard.h"
#include "metrics/stat_block.h"
#include "proto/protocol.h"
#include "protocols/grpc/schema.h"

namespace spiker::grpc {

inline constexpr char kSeparator = '\x1e';  // between metadata lines and the message in a payload
inline constexpr int kFirstStatus = 1;      // status slot of OK; slot = kFirstStatus + code

extern const metrics::StatBlock* g_stats;
enum Counter : uint32_t {
  kCalls,
  kMessagesSent,
  kMessagesReceived,
  kCompressedReceived,
  kEncodeErrors,
  kCounterCount
};
enum Histogram : uint32_t { kStreamMessage };

inline void count(metrics::Shard& s, Counter c, uint64_t n = 1) { s.add(g_stats->counter(c), n); }

struct Request : plan::ProtocolRequest {
  std::shared_ptr<const Schema> schema;
  Method method;
  std::string authority;
  int64_t deadline_ns = 0;  // grpc-timeout; 0: the exchange's timeout
  bool compress = false;    // gzip the messages sent
  std::string fixed_body;   // the framed messages, when the message has no ${...}
  uint32_t fixed_messages = 0;
  bool message_fixed = false;  // fixed_body holds the messages
  bool constant = false;       // neither the message nor the metadata has ${...}
};

// The messages of a payload's JSON: one object, or an array of them (streaming requests), framed
// (and compressed when the request says so) into `body`; false with `error`.
bool encode_messages(const Request& r, std::string_view json, std::string* body, uint32_t* messages,
                     std::string* error);

std::unique_ptr<proto::Session> make_session(proto::SessionHost& host,
                                             const proto::SessionOptions& o);

}  // namespace spiker::grpc
