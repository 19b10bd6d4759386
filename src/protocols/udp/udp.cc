// UDP (udp://host:port): a datagram sent, one datagram back as the reply (or, with
// --expect-bytes, datagrams until that many bytes came). A reply missing at the timeout is a
// lost datagram: counted in the udp block and failed as `timeout`; the socket is then replaced,
// so a late reply cannot answer a later exchange. Journeys: udp.send, udp.receive.
#include <fmt/format.h>
#include <sys/epoll.h>

#include <algorithm>

#include "core/error.h"
#include "metrics/shard.h"
#include "proto/payload.h"
#include "proto/protocol.h"
#include "proto/transport_session.h"

namespace spiker::udp {
namespace {

using metrics::ErrorKind;
using proto::Verb;

constexpr size_t kMaxDatagram = 65507;  // IPv4's largest UDP payload

const metrics::StatBlock* g_stats = nullptr;
enum Counter : uint32_t { kSent, kReceived, kBytesSent, kBytesReceived, kLost, kUnexpected };

struct Request : plan::ProtocolRequest {
  uint64_t expect_bytes = 0;  // 0: one datagram is the reply
};

class Session final : public proto::TransportSession {
 public:
  Session(proto::SessionHost& host, const proto::SessionOptions& o)
      : TransportSession(host, o, Transport::Kind::kUdp) {}

 protected:
  void start() noexcept override {
    request_ = static_cast<const Request*>(exchange_.request);
    reply_.clear();
    if (exchange_.verb == Verb::kReceive) return;  // the next datagram
    if (!write_payload()) return;
    sent();
  }

  void on_events(uint32_t events) noexcept override {
    if ((events & EPOLLOUT) != 0 && busy() && out_off_ < out_.size()) {
      if (!write_payload()) return;
      sent();
    }
    if ((events & (EPOLLIN | EPOLLERR)) != 0) read();
  }

  void timed_out() noexcept override {
    if (exchange_.verb != Verb::kSend) host_.shard().add(g_stats->counter(kLost));
    fail(ErrorKind::kTimeout);  // closes: the next exchange gets a new socket (a new port)
  }

 private:
  void sent() noexcept {
    metrics::Shard& s = host_.shard();
    s.add(g_stats->counter(kSent));
    s.add(g_stats->counter(kBytesSent), out_.size());
    if (exchange_.verb == Verb::kSend) finish({});
  }

  void read() noexcept {
    for (;;) {
      const char* buf = nullptr;
      size_t got = 0, cap = 0;
      Transport::Io r = read_chunk(&buf, &got, &cap);
      if (r == Transport::Io::kAgain) return;
      if (r != Transport::Io::kOk) {
        // ICMP port unreachable comes back as ECONNREFUSED on a connected socket.
        fail(proto::classify_errno(transport_.error()));
        return;
      }
      metrics::Shard& s = host_.shard();
      bool waiting = busy() && out_off_ == out_.size() && exchange_.verb != Verb::kSend;
      if (!waiting) {
        s.add(g_stats->counter(kUnexpected));  // nobody asked: a late or stray datagram
        continue;
      }
      s.add(g_stats->counter(kReceived));
      s.add(g_stats->counter(kBytesReceived), got);
      if (request_->expect_bytes == 0) {
        reply_.assign(buf, got);
        finish(reply_);
        continue;
      }
      reply_.append(buf, got);
      if (reply_.size() >= request_->expect_bytes) finish(reply_);
    }
  }

  const Request* request_ = nullptr;
  std::string reply_;
};

std::shared_ptr<plan::ProtocolRequest> compile(const proto::RequestInput& in) {
  bool step = in.action >= 0;
  auto r = std::make_shared<Request>();
  r->verb = static_cast<uint8_t>(step ? (in.action == 0 ? Verb::kSend : Verb::kReceive)
                                      : Verb::kExchange);
  r->action = static_cast<uint8_t>(std::max(in.action, 0));
  r->action_name = step ? (in.action == 0 ? "udp.send" : "udp.receive") : "udp";
  if (step && in.action == 0) {
    proto::reject_unknown(in, {"payload_hex"});
  } else if (step) {
    proto::reject_unknown(in, {"expect_bytes"});
  } else {
    proto::reject_unknown(in, {"expect-bytes", "payload-hex"});
  }
  if (r->verb != static_cast<uint8_t>(Verb::kReceive)) {
    proto::read_payload(in, step ? "payload_hex" : "payload-hex", *r);
    if (r->payload.size() > kMaxDatagram) {
      throw SetupError(fmt::format("{}: a UDP datagram holds at most {} bytes (the payload has {})",
                                   in.where, kMaxDatagram, r->payload.size()));
    }
  }
  if (const proto::Option* b = proto::find_option(in, step ? "expect_bytes" : "expect-bytes")) {
    r->expect_bytes = proto::positive_option(*b);
  }
  return r;
}

std::string describe(const plan::ProtocolRequest& base) {
  const auto& r = static_cast<const Request&>(base);
  std::string reply =
      r.expect_bytes > 0 ? fmt::format("datagrams up to {} bytes", r.expect_bytes) : "one datagram";
  if (r.verb == static_cast<uint8_t>(Verb::kSend)) {
    return fmt::format("send a {}-byte datagram", r.payload.size());
  }
  if (r.verb == static_cast<uint8_t>(Verb::kReceive)) return "receive " + reply;
  return fmt::format("send a {}-byte datagram, wait for {}", r.payload.size(), reply);
}

std::unique_ptr<proto::Session> make_session(proto::SessionHost& host,
                                             const proto::SessionOptions& o) {
  return std::make_unique<Session>(host, o);
}

std::vector<std::pair<std::string, double>> derive(const uint64_t* c, double measured_s) {
  double asked = static_cast<double>(c[kReceived] + c[kLost]);
  return {{"datagrams_per_sec", measured_s > 0 ? static_cast<double>(c[kSent]) / measured_s : 0},
          {"loss_rate", asked > 0 ? static_cast<double>(c[kLost]) / asked : 0}};
}

}  // namespace
}  // namespace spiker::udp

void spiker_register_udp() {
  using namespace spiker;
  metrics::StatBlockDef stats;
  stats.name = "udp";
  stats.title = "UDP";
  stats.counters = {"datagrams_sent", "datagrams_received", "bytes_sent", "bytes_received",
                    "lost",           "unexpected"};
  stats.summary = {"datagrams_sent", "datagrams_received", "lost", "unexpected"};
  stats.derive = udp::derive;
  udp::g_stats = &metrics::StatBlocks::add(std::move(stats));
  proto::Protocol p;
  p.name = "udp";
  p.schemes = {"udp"};
  p.datagram = true;
  p.summary = "UDP (udp://host:port): -b datagram, one datagram back (or --expect-bytes)";
  p.flags = {{"expect-bytes", "tcp/tls/udp: the reply is this many bytes"},
             {"payload-hex", "tcp/tls/udp: the payload as hex bytes (\"48 49 0a\") instead of -b"}};
  p.actions = {{"udp.send", proto::Verb::kSend, {"payload_hex"}, true, false},
               {"udp.receive", proto::Verb::kReceive, {"expect_bytes"}, false, true}};
  p.stats = udp::g_stats;
  p.compile = udp::compile;
  p.make_session = udp::make_session;
  p.describe = udp::describe;
  proto::Registry::add(std::move(p));
}
