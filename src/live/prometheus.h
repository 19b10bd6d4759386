// Prometheus export (Kaioken's --prometheus-port and --prometheus-pushgateway): the run's
// live counters in the text exposition format, served at /metrics while the run goes, and
// pushed once to a Pushgateway at its end. Names are loadspiker_* (Kaioken's are kaioken_*).
#pragma once

#include <atomic>
#include <mutex>
#include <string>
#include <thread>

#include "metrics/snapshot.h"

namespace spiker::live {

// The state's counters and gauges, in Prometheus' text format 0.0.4.
std::string prometheus_text(const metrics::LiveState& s);

// GET /metrics on 0.0.0.0:port (what a scraper in another pod needs) from its own thread.
class MetricsServer {
 public:
  // Throws SetupError (exit 2) when the port cannot be bound.
  explicit MetricsServer(int port);
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
  std::mutex mutex_;
  std::string text_;
  std::thread thread_;
};

// POSTs `text` to URL/metrics/job/loadspiker (http://). Throws SetupError saying why not.
void push_to_gateway(const std::string& url, const std::string& text, int timeout_ms);

}  // namespace spiker::live
