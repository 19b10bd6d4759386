#include "protocols/websocket/stats.h"

#include <cmath>

#include "core/json.h"
#include "metrics/histogram.h"

namespace spiker::websocket {
namespace {

const metrics::StatBlock* g_block = nullptr;

std::string fact(const metrics::StatSectionInput& in, std::string_view key) {
  if (in.facts != nullptr) {
    for (const auto& [k, v] : *in.facts) {
      if (k == key) return v;
    }
  }
  return "";
}

// Kaioken's websocket section; messages are the run's requests.
std::string section(const metrics::StatSectionInput& in) {
  using nlohmann::json;
  const uint64_t* c = in.counters;
  const metrics::Shard& t = *in.run;
  uint64_t errors = t.error_count() + c[kProtocolErrors];
  json by_kind = json::object();
  auto put = [&](const char* k, uint64_t n) {
    if (n > 0) by_kind[k] = n;
  };
  put("connect", c[kConnectFailed]);
  put("handshake", c[kHandshakeFailed]);
  put("protocol", c[kProtocolErrors]);
  put("timeout", t.errors[static_cast<size_t>(metrics::ErrorKind::kTimeout)]);
  put("closed", t.errors[static_cast<size_t>(metrics::ErrorKind::kReset)]);
  uint64_t ended = c[kDisconnects] + c[kClosedByUs];
  std::string interval = fact(in, "message_interval_ms");
  json doc = {
      {"mode", fact(in, "mode").empty() ? "echo" : fact(in, "mode")},
      {"message_interval_ms", interval.empty() ? 0 : std::stoll(interval)},
      {"messages_sent", c[kSent]},
      {"messages_received", c[kReceived]},
      {"bytes_sent", c[kBytesSent]},
      {"bytes_received", c[kBytesReceived]},
      {"messages_per_sec",
       in.measured_s > 0 ? std::round(static_cast<double>(c[kSent]) / in.measured_s * 100) / 100
                         : 0.0},
      {"connections_active", c[kEstablished] > ended ? c[kEstablished] - ended : 0},
      {"connections_established", c[kEstablished]},
      {"connection_errors", c[kConnectFailed] + c[kHandshakeFailed]},
      {"disconnects", c[kDisconnects]},
      {"error_rate",
       c[kSent] > 0 ? static_cast<double>(errors) / static_cast<double>(c[kSent]) : 0.0},
      {"errors", by_kind},
      {"latency_us", json::parse(in.latency_json(t.latency_us))},
  };
  if (!in.merged) {  // set-up percentiles do not survive a merge of results
    doc["connect_time_us"] = json::parse(in.latency_json(t.connect_us));
    doc["handshake_time_us"] = json::parse(in.latency_json(in.histograms[kHandshakeUs]));
  }
  return doc.dump();
}

}  // namespace

const metrics::StatBlock& stats() { return *g_block; }

}  // namespace spiker::websocket

void spiker_register_websocket() {
  using namespace spiker;
  metrics::StatBlockDef d;
  d.name = "websocket";
  d.title = "WebSocket";
  d.counters = {"messages_sent",   "messages_received", "bytes_sent",     "bytes_received",
                "established",     "handshake_failed",  "connect_failed", "disconnects",
                "protocol_errors", "closed_by_us"};
  d.histograms = {"upgrade"};
  d.summary = {"messages_sent", "messages_received", "established", "disconnects",
               "protocol_errors"};
  d.section = websocket::section;
  websocket::g_block = &metrics::StatBlocks::add(std::move(d));
  websocket::register_protocol();
}
