// The run plan: the IR every front end compiles to (CLI flags, TOML files; next Python, HCL
// grids, HAR imports). Plain data, validated once by its front end. The engine prepares it
// (addresses, TLS contexts, ALPN) and runs it; the reports read it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/tls.h"
#include "core/url.h"
#include "plan/journey.h"
#include "plan/load_model.h"
#include "plan/request.h"
#include "plan/threshold.h"

namespace spiker::plan {

// How the run reaches its hosts.
struct TransportOptions {
  TlsOptions tls;          // every TLS origin's (ALPN is set per protocol when prepared)
  bool tls_used = false;   // some origin is TLS: contexts are made
  bool http1 = false;      // https:// stays on HTTP/1.1 (no h2 offered)
  bool http2 = false;      // h2c with prior knowledge for http://; h2 required for https://
  int max_streams = 1;     // HTTP/2: VUs sharing one connection
  int pipeline = 1;        // HTTP/1.1: requests in flight per connection
  bool keep_alive = true;  // false: a connection per request (every connection protocol)
  int64_t timeout_ns = 5'000'000'000;
  int64_t connect_timeout_ns = 2'000'000'000;
  int64_t ws_interval_ns = 0;  // the pause between a WebSocket VU's messages
  // --connect-to: connections for host:port (empty host or port 0: any) go to target:port
  // instead; the Host header and the TLS name stay the URL's.
  struct ConnectTo {
    std::string host;
    int port = 0;
    std::string target_host;
    int target_port = 0;
  };
  std::vector<ConnectTo> connect_to;
  // -x/--proxy: connections go to the proxy. An HTTP proxy gets plain HTTP/1.1 requests in
  // absolute form and a CONNECT tunnel for everything else; SOCKS5 tunnels everything.
  struct Proxy {
    std::string scheme;  // "http" or "socks5"
    std::string host;
    int port = 0;
    std::string user, password;
  };
  std::optional<Proxy> proxy;
};

// A scenario with its own executor (k6 `scenarios`), run beside the others.
struct LoadGroup {
  std::string scenario;  // empty: the scenarios that share the main load by weight
  std::string executor;  // as the scenario named it ("" for the main group)
  std::string where;     // file:line:col, for messages
  LoadModel load;
  std::shared_ptr<const Journey> journey;  // the scenarios of this group
};

// What the report says about the run as asked (beside what was measured).
struct RunDescription {
  std::string source;  // "the command line" or the config file's path
  std::string url;     // the first origin's, as shown
  std::string method = "GET";
  std::vector<std::pair<std::string, std::string>> headers;  // as given (redacted on output)
  int concurrency = 0;
  std::string target_line;  // for --dry-run: what the request is
  // Per request of a plain run: name, url, method, weight, tags.
  struct Scenario {
    std::string name, url, method;
    uint32_t weight = 1;
    std::vector<std::pair<std::string, std::string>> tags;
  };
  std::vector<Scenario> scenarios;
  std::string kind;  // what the live view's title calls a request: the method, "WebSocket", ...
  // What the run is, in one line, for the live view and the summary: "GET http://h/x", or
  // "shop.toml: 4 scenarios (browse 60%, search 25%, ...)".
  std::string title;
};

struct RunPlan {
  std::vector<Url> origins;  // [0]: the plain run's host; journeys name theirs per step
  TransportOptions transport;
  std::vector<Request> requests;     // a plain run's requests (at least one), chosen by weight
  std::shared_ptr<Journey> journey;  // set: VUs run its scenarios instead of `requests`
  LoadModel load;                    // the main load
  std::vector<LoadGroup> groups;     // set: these run side by side instead of `load` alone
  std::vector<ScopedThreshold> thresholds;
  int threads = 0;  // 0: one per core
  RunDescription about;
  // What requests point into for the whole run (a mapped --body-file's bytes).
  std::vector<std::shared_ptr<const void>> keep;
};

}  // namespace spiker::plan
