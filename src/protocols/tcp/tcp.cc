// Raw TCP (tcp://host:port) and TLS over TCP (tls://host:port): a payload written, the reply
// read until a byte count, a delimiter, or (neither given) whatever the first read brings.
// Journeys: tcp.send writes, tcp.receive waits for the next reply (match skips the others).
// The connection stays open across exchanges unless --disable-keepalive.
#include <fmt/format.h>
#include <sys/epoll.h>

#include <algorithm>

#include "core/error.h"
#include "metrics/shard.h"
#include "proto/payload.h"
#include "proto/protocol.h"
#include "proto/transport_session.h"

namespace spiker::tcp {
namespace {

using metrics::ErrorKind;
using proto::Verb;

// Bytes kept from the peer while no receive waits for them, and the largest reply.
constexpr size_t kMaxBuffered = 1u << 20;

const metrics::StatBlock* g_stats = nullptr;
enum Counter : uint32_t {
  kSent,
  kReceived,
  kBytesSent,
  kBytesReceived,
  kPeerClosed,
  kOverflow,
  kRetried
};

struct Request : plan::ProtocolRequest {
  uint64_t expect_bytes = 0;  // 0: not given
  std::string until;          // empty: not given
};

class Session final : public proto::TransportSession {
 public:
  using TransportSession::TransportSession;

 protected:
  void start() noexcept override {
    const auto& r = static_cast<const Request&>(*exchange_.request);
    request_ = &r;
    if (exchange_.verb == Verb::kConnect) {  // tcp.connect: the connection is open, timed
      started_ns_ = submitted_ns_;           // from when connecting began
      finish({});
      return;
    }
    if (exchange_.verb == Verb::kReceive) {
      try_reply();
      return;
    }
    metrics::Shard& s = host_.shard();
    s.add(g_stats->counter(kSent));
    s.add(g_stats->counter(kBytesSent), out_.size());
    if (!write_payload()) return;
    written();
  }

  void on_events(uint32_t events) noexcept override {
    if ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) != 0 && busy() && out_off_ < out_.size()) {
      if (!write_payload()) return;
      written();
      if (!transport_.is_open()) return;
    }
    if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP)) != 0) read();
  }

 private:
  void written() noexcept {
    if (exchange_.verb == Verb::kSend) {
      finish({});
      return;
    }
    try_reply();  // the reply may be buffered already
  }

  void read() noexcept {
    for (;;) {
      const char* buf = nullptr;
      size_t got = 0, cap = 0;
      Transport::Io r = read_chunk(&buf, &got, &cap);
      if (r == Transport::Io::kAgain) return;
      if (r != Transport::Io::kOk) {
        peer_closed(r == Transport::Io::kEof ? ErrorKind::kReset
                                             : proto::classify_errno(transport_.error()));
        return;
      }
      size_t room = kMaxBuffered - std::min(in_.size(), kMaxBuffered);
      if (got > room) host_.shard().add(g_stats->counter(kOverflow), got - room);
      in_.append(buf, std::min(got, room));
      if (busy() && out_off_ == out_.size()) try_reply();
      if (!transport_.is_open()) return;
    }
  }

  // The reply ends where the request says; returns its length, or 0 when not complete yet.
  size_t reply_length() const noexcept {
    if (in_.empty()) return 0;
    if (request_->expect_bytes > 0) {
      return in_.size() >= request_->expect_bytes ? request_->expect_bytes : 0;
    }
    if (!request_->until.empty()) {
      size_t at = in_.find(request_->until);
      return at == std::string::npos ? 0 : at + request_->until.size();
    }
    return in_.size();
  }

  void try_reply() noexcept {
    size_t n = reply_length();
    if (n == 0) {
      if (in_.size() >= kMaxBuffered) fail(ErrorKind::kBody);  // the end never comes
      return;
    }
    reply_.assign(in_, 0, n);
    in_.erase(0, n);
    metrics::Shard& s = host_.shard();
    s.add(g_stats->counter(kReceived));
    s.add(g_stats->counter(kBytesReceived), n);
    finish(reply_);
  }

  void peer_closed(ErrorKind kind) noexcept {
    if (transport_.is_open()) host_.shard().add(g_stats->counter(kPeerClosed));
    bool waiting = busy() && out_off_ == out_.size() && exchange_.verb != Verb::kSend;
    bool open_ended = request_ != nullptr && request_->expect_bytes == 0 && request_->until.empty();
    bool partial = waiting && !in_.empty();
    if (busy() && in_.empty() && kind == ErrorKind::kReset && exchange_.verb != Verb::kReceive) {
      // Nothing of the reply came: a kept connection the server had closed. Once, anew.
      if (resend_on_stale()) {
        host_.shard().add(g_stats->counter(kRetried));
        return;
      }
    }
    close();  // before reporting: the next exchange connects anew
    if (partial && open_ended) {
      try_reply();  // what came before the close is the reply
      return;
    }
    in_.clear();
    fail(partial ? ErrorKind::kBody : kind);  // part of a reply, then the close: incomplete
  }

  void timed_out() noexcept override {
    in_.clear();  // the connection goes: a late reply must not answer the next exchange
    fail(ErrorKind::kTimeout);
  }

  const Request* request_ = nullptr;
  std::string in_;     // received, not yet taken by a reply
  std::string reply_;  // the reply being reported
};

std::shared_ptr<plan::ProtocolRequest> compile(const proto::RequestInput& in) {
  static const std::vector<std::string> flags = {"expect-bytes", "expect-until", "payload-hex"};
  static const std::vector<std::string> step_keys = {"expect_bytes", "until", "payload_hex"};
  bool step = in.action >= 0;
  auto r = std::make_shared<Request>();
  static constexpr Verb kVerbs[] = {Verb::kSend, Verb::kReceive, Verb::kConnect, Verb::kClose};
  static constexpr const char* kNames[] = {"tcp.send", "tcp.receive", "tcp.connect", "tcp.close"};
  r->verb = static_cast<uint8_t>(step ? kVerbs[in.action] : Verb::kExchange);
  r->action = static_cast<uint8_t>(std::max(in.action, 0));
  r->action_name = step ? kNames[in.action] : "tcp";
  if (step && in.action >= 2) {  // connect / close: nothing to send or read
    proto::reject_unknown(in, {});
  } else if (step && in.action == 0) {
    proto::reject_unknown(in, {"payload_hex"});
  } else if (step) {
    proto::reject_unknown(in, {"expect_bytes", "until"});
  } else {
    proto::reject_unknown(in, flags);
  }
  if (step && in.action >= 2) return r;  // connect / close: the connection alone
  const std::string& hex = step ? step_keys[2] : flags[2];
  const std::string hex_name = step ? hex : "--" + hex;
  if (r->verb != static_cast<uint8_t>(Verb::kReceive)) proto::read_payload(in, hex, *r);
  if (r->verb != static_cast<uint8_t>(Verb::kReceive) && r->payload.empty()) {
    throw SetupError(
        fmt::format("{}: nothing to send: give a payload (-b / body, or {})", in.where, hex_name));
  }
  const proto::Option* bytes = proto::find_option(in, step ? step_keys[0] : flags[0]);
  const proto::Option* until = proto::find_option(in, step ? step_keys[1] : flags[1]);
  if (bytes != nullptr && until != nullptr) {
    throw SetupError(fmt::format("{}: give {} or {}, not both: the reply ends at one of them",
                                 until->where, bytes->key, until->key));
  }
  if (bytes != nullptr) r->expect_bytes = proto::positive_option(*bytes);
  if (bytes != nullptr && r->expect_bytes > kMaxBuffered) {
    throw SetupError(
        fmt::format("{}: {} is at most {} bytes", bytes->where, bytes->key, kMaxBuffered));
  }
  if (until != nullptr) {
    r->until = in.escapes ? proto::decode_escapes(until->value, until->where) : until->value;
    if (r->until.empty()) {
      throw SetupError(
          fmt::format("{}: {} is empty; give the delimiter that ends a reply, "
                      "e.g. '\\n'",
                      until->where, until->key));
    }
  }
  return r;
}

std::string describe(const plan::ProtocolRequest& base) {
  const auto& r = static_cast<const Request&>(base);
  std::string reply = r.expect_bytes > 0 ? fmt::format("{} bytes", r.expect_bytes)
                      : !r.until.empty() ? "up to the delimiter"
                                         : "the first bytes that arrive";
  if (r.verb == static_cast<uint8_t>(Verb::kSend))
    return fmt::format("send {} bytes", r.payload.size());
  if (r.verb == static_cast<uint8_t>(Verb::kReceive)) return "receive " + reply;
  if (r.verb == static_cast<uint8_t>(Verb::kConnect)) return "connect";
  if (r.verb == static_cast<uint8_t>(Verb::kClose)) return "close";
  return fmt::format("send {} bytes{}, read {}", r.payload.size(),
                     r.payload_literal ? " (hex)" : "", reply);
}

std::vector<std::pair<std::string, double>> derive(const uint64_t* c, double measured_s) {
  return {{"messages_per_sec", measured_s > 0 ? static_cast<double>(c[kSent]) / measured_s : 0}};
}

}  // namespace
}  // namespace spiker::tcp

void spiker_register_tcp() {
  using namespace spiker;
  metrics::StatBlockDef stats;
  stats.name = "tcp";
  stats.title = "TCP";
  stats.counters = {"messages_sent", "messages_received", "bytes_sent", "bytes_received",
                    "peer_closed",   "bytes_discarded",   "retried"};
  stats.summary = {"messages_sent", "messages_received", "peer_closed"};
  stats.derive = tcp::derive;
  tcp::g_stats = &metrics::StatBlocks::add(std::move(stats));
  proto::Protocol p;
  p.name = "tcp";
  p.schemes = {"tcp", "tls"};
  p.tls_schemes = {"tls"};
  p.summary =
      "raw TCP (tcp://host:port) or TLS (tls://host:port): -b payload, reply read to "
      "--expect-bytes or --expect-until";
  p.flags = {
      {"expect-bytes", "tcp/tls/udp: the reply is this many bytes"},
      {"expect-until", "tcp/tls: the reply ends with this delimiter (escapes: \\n \\r \\xHH)"},
      {"payload-hex", "tcp/tls/udp: the payload as hex bytes (\"48 49 0a\") instead of -b"}};
  p.actions = {{"tcp.send", proto::Verb::kSend, {"payload_hex"}, true, false},
               {"tcp.receive", proto::Verb::kReceive, {"expect_bytes", "until"}, false, true},
               {"tcp.connect", proto::Verb::kConnect, {}, false, false},
               {"tcp.close", proto::Verb::kClose, {}, false, false}};
  p.stats = tcp::g_stats;
  p.compile = tcp::compile;
  p.make_session = proto::make_transport_session<tcp::Session>;
  p.describe = tcp::describe;
  proto::Registry::add(std::move(p));
}
