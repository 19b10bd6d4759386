#include "live/prometheus.h"

#include <fmt/format.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <utility>

#include "core/error.h"
#include "core/resolver.h"
#include "core/socket.h"
#include "core/url.h"
#include "metrics/error_kind.h"
#include "metrics/stat_block.h"

namespace spiker::live {
namespace {

void metric(std::string& out, const char* name, const char* type, const char* help, double value) {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n{} {}\n", name, help, name, type, name, value);
}

// Reads until the end of the request head (or `ms`); true when one arrived.
bool read_head(int fd, std::string& head, int ms) {
  char buf[2048];
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (head.find("\r\n\r\n") == std::string::npos && head.size() < 16384) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    pollfd p{fd, POLLIN, 0};
    if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) != 1) return false;
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) return false;
    head.append(buf, static_cast<size_t>(n));
  }
  return true;
}

void write_all(int fd, const std::string& data) {
  for (size_t at = 0; at < data.size();) {
    ssize_t n = ::write(fd, data.data() + at, data.size() - at);
    if (n <= 0) return;
    at += static_cast<size_t>(n);
  }
}

}  // namespace

std::string prometheus_text(const metrics::LiveState& s, std::string_view prefix) {
  const metrics::Shard& t = *s.totals;
  std::string out;
  auto d = [](uint64_t v) { return static_cast<double>(v); };
  std::string p(prefix);
  auto name = [&](const char* rest) { return p + rest; };
  metric(out, name("_requests_total").c_str(), "counter", "Requests completed", d(t.requests));
  metric(out, name("_requests_success_total").c_str(), "counter", "Requests that succeeded",
         d(t.requests - t.failed));
  metric(out, name("_requests_failed_total").c_str(), "counter",
         "Requests that failed (status >= 400 or a transport error)", d(t.failed));
  metric(out, name("_bytes_received_total").c_str(), "counter", "Bytes received",
         d(t.bytes_received));
  metric(out, name("_bytes_sent_total").c_str(), "counter", "Bytes sent", d(t.bytes_sent));
  metric(out, name("_dropped_iterations_total").c_str(), "counter",
         "Open models: arrivals that found no free VU", d(t.dropped_iterations));
  metric(out, name("_vus_active").c_str(), "gauge", "VUs running now", d(s.vus));
  metric(out, name("_vus_max").c_str(), "gauge", "The most VUs this run may have", d(s.vus_max));
  metric(out, name("_rps").c_str(), "gauge", "Requests per second over the last second",
         s.window_rps);
  metric(out, name("_error_rate").c_str(), "gauge", "Failed requests / requests (0..1)",
         t.requests > 0 ? d(t.failed) / d(t.requests) : 0.0);
  metric(out, name("_elapsed_seconds").c_str(), "gauge", "Seconds since the run started",
         s.elapsed_s);
  for (auto [name, pct] : {std::pair{"p50", 50.0}, {"p95", 95.0}, {"p99", 99.0}, {"p999", 99.9}}) {
    std::string n = fmt::format("{}_latency_{}_ms", p, name);
    metric(out, n.c_str(), "gauge", "Service time percentile over the run so far, ms",
           static_cast<double>(t.latency_us.value_at_percentile(pct)) / 1000.0);
  }
  out += fmt::format(
      "# HELP {0}_responses_total Responses by status code\n"
      "# TYPE {0}_responses_total counter\n",
      p);
  for (int code = 0; code < metrics::kMaxStatus; ++code) {
    if (t.status[code] == 0) continue;
    out += fmt::format("{}_responses_total{{status=\"{}\"}} {}\n", p, metrics::status_label(code),
                       t.status[code]);
  }
  out += fmt::format(
      "# HELP {0}_errors_total Transport and protocol errors by kind\n"
      "# TYPE {0}_errors_total counter\n",
      p);
  for (size_t k = 0; k < metrics::kErrorKindCount; ++k) {
    out += fmt::format("{}_errors_total{{kind=\"{}\"}} {}\n", p, metrics::kErrorKindNames[k],
                       t.errors[k]);
  }
  return out;
}

void check_prefix(const std::string& prefix) {
  bool ok = !prefix.empty() &&
            (std::isalpha(static_cast<unsigned char>(prefix[0])) != 0 || prefix[0] == '_');
  for (char c : prefix) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_');
  if (!ok) {
    throw SetupError(fmt::format(
        "--prometheus-prefix '{}': a metric name prefix is letters, digits and _ (not first a "
        "digit), e.g. loadspiker or kaioken",
        prefix));
  }
}

MetricsServer::MetricsServer(int port, std::string prefix) : prefix_(std::move(prefix)) {
  if (port < 1 || port > 65535) {
    throw SetupError(fmt::format("--prometheus-port {}: give a port 1-65535", port));
  }
  try {
    fd_ = listen_tcp("0.0.0.0", port, false);
  } catch (const SetupError& e) {
    throw SetupError(fmt::format("--prometheus-port {}: {}", port, e.what()));
  }
  port_ = port;
  text_ = "# no sample yet\n";
  thread_ = std::thread([this] { serve(); });
}

MetricsServer::~MetricsServer() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  if (fd_ >= 0) ::close(fd_);
}

void MetricsServer::update(const metrics::LiveState& s) {
  std::string text = prometheus_text(s, prefix_);
  std::lock_guard<std::mutex> lock(mutex_);
  text_ = std::move(text);
}

void MetricsServer::serve() {
  while (!stop_) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 100) != 1) continue;
    int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) continue;
    std::string head;
    if (read_head(c, head, 1000)) {
      std::string body, status = "200 OK";
      if (head.starts_with("GET /metrics ") || head.starts_with("GET /metrics?")) {
        std::lock_guard<std::mutex> lock(mutex_);
        body = text_;
      } else {
        status = "404 Not Found";
        body = "loadspiker: metrics are at /metrics\n";
      }
      write_all(c, fmt::format("HTTP/1.1 {}\r\nContent-Type: text/plain; version=0.0.4\r\n"
                               "Content-Length: {}\r\nConnection: close\r\n\r\n{}",
                               status, body.size(), body));
    }
    ::close(c);
  }
}

void push_to_gateway(const std::string& url_text, const std::string& text, int timeout_ms,
                     std::string_view job) {
  Url url = parse_url(url_text, "--prometheus-pushgateway");
  if (url.scheme != "http") {
    throw SetupError(fmt::format("--prometheus-pushgateway {}: give an http:// URL", url_text));
  }
  std::string path = url.target;
  while (path.ends_with("/")) path.pop_back();
  path += "/metrics/job/" + std::string(job);
  std::vector<SocketAddress> addrs = resolve(url.host, url.port);
  if (addrs.empty()) throw SetupError("--prometheus-pushgateway: cannot resolve " + url.host);
  int fd = start_connect(addrs.front());
  if (fd < 0) {
    throw SetupError(fmt::format("--prometheus-pushgateway: cannot connect to {}: {}",
                                 url.host_header, std::strerror(-fd)),
                     kExitError);
  }
  pollfd p{fd, POLLOUT, 0};
  bool ok = ::poll(&p, 1, timeout_ms) == 1 && socket_error(fd) == 0;
  std::string response;
  if (ok) {
    // The socket is non-blocking: write with poll, then read the status line.
    std::string request = fmt::format(
        "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: text/plain; version=0.0.4\r\n"
        "Content-Length: {}\r\nConnection: close\r\n\r\n{}",
        path, url.host_header, text.size(), text);
    for (size_t at = 0; ok && at < request.size();) {
      ssize_t n = ::write(fd, request.data() + at, request.size() - at);
      if (n > 0) {
        at += static_cast<size_t>(n);
      } else if (n < 0 && errno == EAGAIN) {
        ok = ::poll(&p, 1, timeout_ms) == 1;
      } else {
        ok = false;
      }
    }
    ok = ok && read_head(fd, response, timeout_ms);
  }
  ::close(fd);
  if (!ok) {
    throw SetupError(fmt::format("--prometheus-pushgateway: {} did not answer", url.host_header),
                     kExitError);
  }
  std::string status_line = response.substr(0, response.find("\r\n"));
  if (status_line.size() < 12 || status_line[9] != '2') {
    throw SetupError(
        fmt::format("--prometheus-pushgateway: {} answered '{}'", url.host_header, status_line),
        kExitError);
  }
}

GatewayPusher::GatewayPusher(std::string url, std::string prefix, int timeout_ms)
    : url_(std::move(url)), prefix_(std::move(prefix)), timeout_ms_(timeout_ms) {
  thread_ = std::thread([this] { run(); });
}

GatewayPusher::~GatewayPusher() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void GatewayPusher::update(const metrics::LiveState& s) {
  std::string text = prometheus_text(s, prefix_);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    waiting_ = std::move(text);
  }
  wake_.notify_one();
}

void GatewayPusher::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return stop_ || !waiting_.empty(); });
    if (stop_) return;  // the last push is the caller's, at the end (with its verdict)
    std::string text = std::exchange(waiting_, std::string());
    lock.unlock();
    try {
      push_to_gateway(url_, text, timeout_ms_, prefix_);
      ++pushed_;
    } catch (const SetupError& e) {
      if (!warned_) std::fprintf(stderr, "warning: %s (pushing goes on)\n", e.what());
      warned_ = true;
    }
    lock.lock();
  }
}

}  // namespace spiker::live
