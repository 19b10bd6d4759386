// Prometheus export (Kaioken's --prometheus-port and --prometheus-pushgateway): the run's
// live counters in the text exposition format, served at /metrics while the run goes, or pushed
// to a Pushgateway on every live update and at the end. Names are PREFIX_* (loadspiker_*;
// --prometheus-prefix kaioken gives Kaioken's kaioken_* and its job name).
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "metrics/snapshot.h"

namespace spiker::live {

// The state's counters and gauges, in Prometheus' text format 0.0.4, named PREFIX_*.
std::string prometheus_text(const metrics::LiveState& s, std::string_view prefix = "loadspiker");

// A metric name prefix as Prometheus allows one ([a-zA-Z_][a-zA-Z0-9_]*); throws SetupError.
void check_prefix(const std::string& prefix);

// GET /metrics on 0.0.0.0:port (what a scraper in another pod needs) from its own thread.
class MetricsServer {
 public:
  // Throws SetupError (exit 2) when the port cannot be bound.
  MetricsServer(int port, std::string prefix);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;
  void update(const metrics::LiveState& s);  // renders now; scrapes get the last one
  int port() const { return port_; }

 private:
  void serve();
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::string prefix_;
  std::mutex mutex_;
  std::string text_;
  std::thread thread_;
};

// Pushes each live update to a Pushgateway from its own thread (a slow gateway never holds the
// run; an update that comes while a push is on its way replaces the one waiting). Failures are
// said once, on standard error.
class GatewayPusher {
 public:
  GatewayPusher(std::string url, std::string prefix, int timeout_ms);
  ~GatewayPusher();
  GatewayPusher(const GatewayPusher&) = delete;
  GatewayPusher& operator=(const GatewayPusher&) = delete;
  void update(const metrics::LiveState& s);
  uint64_t pushed() const { return pushed_.load(); }

 private:
  void run();
  std::string url_, prefix_;
  int timeout_ms_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::string waiting_;  // the next text to push; empty: none
  bool stop_ = false;
  bool warned_ = false;
  std::atomic<uint64_t> pushed_{0};
  std::thread thread_;
};

// POSTs `text` to URL/metrics/job/JOB (http://). Throws SetupError saying why not.
void push_to_gateway(const std::string& url, const std::string& text, int timeout_ms,
                     std::string_view job = "loadspiker");

}  // namespace spiker::live
