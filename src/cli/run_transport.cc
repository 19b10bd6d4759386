// How a run reaches its hosts: each origin's protocol (HTTP/1.1, h2c, h2 by ALPN, WebSocket),
// the TLS contexts behind them, and a ws:// target's flags and message.
#include <fmt/format.h>

#include <algorithm>

#include "cli/run_args.h"
#include "core/duration.h"
#include "core/error.h"
#include "core/tls.h"
#include "core/url.h"
#include "plan/template.h"
#include "proto/protocol.h"
#include "protocols/http1/request_builder.h"

namespace spiker::cli {

int64_t websocket_target(RunArgs& a, const Url& url) {
  if (url.websocket() && !a.journey) {
    if (!a.scenarios.empty()) {
      throw SetupError(
          fmt::format("{}: [[scenarios]] with a ws:// url: use [[scenarios.steps]] with action = "
                      "\"ws.connect\", \"ws.send\", \"ws.receive\" and \"ws.close\"",
                      a.config));
    }
    for (const char* flag : {"--method", "--pipeline", "--max-streams", "--http2", "--http1"}) {
      if (flag_given(a, flag)) {
        throw SetupError(fmt::format("{} does not apply to a WebSocket URL ({})", flag, a.url));
      }
    }
    std::string interval = a.ws_message_interval.empty() ? "100ms" : a.ws_message_interval;
    int64_t interval_ns = parse_duration(interval, "--ws-message-interval").count();
    if (interval_ns > 0) {
      if (!a.think_time.empty()) {
        throw SetupError(
            "--think-time and --ws-message-interval both set the pause between messages: give "
            "one (--ws-message-interval 0 leaves --think-time in charge)");
      }
      a.think_time = interval;
    }
    return interval_ns;
  }
  if (!a.ws_message_interval.empty() || a.ws_fire_and_forget || a.ws_binary) {
    throw SetupError(
        "--ws-message-interval/--ws-fire-and-forget/--ws-binary ([websocket]) need a ws:// or "
        "wss:// URL");
  }
  return 0;
}

void websocket_variant(const RunArgs& a, const http1::RequestSpec& spec, engine::WorkerConfig& w) {
  // The upgrade's head; the message is the body (-b), rendered per send when it has ${...}.
  http1::RequestSpec up = spec;
  up.method = "GET";
  up.body.clear();
  up.keep_alive = true;
  engine::RequestVariant& v = w.requests.at(0);
  v.ws_head = http1::build_request_head(up);
  std::string message = spec.body.empty() ? "hello from loadspiker" : spec.body;
  plan::Template t = plan::Template::compile(message, "-b/--body");
  v.dynamic = nullptr;
  if (t.is_static()) {
    v.message = message;
  } else {
    v.dynamic = std::make_shared<engine::DynamicRequest>(
        engine::DynamicRequest{plan::Template{}, t, false});
  }
  w.ws_fire_and_forget = a.ws_fire_and_forget;
  w.ws_binary = a.ws_binary;
}

std::vector<engine::OriginConfig> make_origins(const RunArgs& a, const std::vector<Url>& urls,
                                               TlsContexts* tls) {
  std::vector<engine::OriginConfig> origins;
  for (const Url& u : urls) {
    engine::OriginConfig o;
    o.host = u.host;
    o.ws = u.websocket();
    o.host_header = u.host_header;
    o.scheme = u.scheme;
    o.port = u.port;
    if (!u.web()) o.protocol = proto::Registry::by_scheme(u.scheme);
    origins.push_back(o);
  }
  bool any_tls = std::any_of(urls.begin(), urls.end(), [](const Url& u) { return u.tls(); });
  if (any_tls) {
    TlsOptions o;
    o.insecure = a.insecure;
    o.cacert = a.cacert;
    o.cert = a.cert;
    o.key = a.key;
    o.min_version = a.tls_min;
    o.max_version = a.tls_max;
    o.ciphers = a.ciphers;
    o.sni = a.sni;
    o.resume = !a.no_tls_resume;
    o.alpn = {"http/1.1"};
    tls->h1 = std::make_unique<TlsContext>(o);
    if (!a.http1) {
      o.alpn = {"h2", "http/1.1"};
      tls->h2 = std::make_unique<TlsContext>(o);
    }
    o.alpn.clear();  // raw TLS (tls://): no application protocol offered
    tls->raw = std::make_unique<TlsContext>(o);
    for (engine::OriginConfig& origin : origins) {
      if (origin.scheme == "https" || origin.scheme == "wss") origin.tls = tls->h1.get();
      if (origin.scheme == "tls") origin.tls = tls->raw.get();
    }
  } else if (!a.cacert.empty() || !a.cert.empty() || !a.key.empty() || !a.tls_min.empty() ||
             !a.tls_max.empty() || !a.ciphers.empty() || !a.sni.empty()) {
    throw SetupError(
        "--cacert/--cert/--key/--tls-min/--tls-max/--ciphers/--sni need an https://, wss:// or "
        "tls:// URL");
  }
  for (engine::OriginConfig& origin : origins) {
    if (origin.scheme == "http") origin.h2 = a.http2;  // h2c needs prior knowledge
  }
  return origins;
}

void negotiate_http2(const RunArgs& a, const TlsContexts& tls, int timeout_ms,
                     std::vector<engine::OriginConfig>& origins) {
  for (engine::OriginConfig& o : origins) {
    if (o.scheme != "https" || tls.h2 == nullptr || o.addresses.empty()) continue;
    // One handshake before the run tells whether the server speaks h2 (ALPN). When it fails,
    // the run goes on and its connections fail the same way, counted (tls, connect).
    std::string error;
    std::optional<std::string> chosen =
        tls.h2->probe_alpn(o.addresses.front(), o.host, timeout_ms, &error);
    if (!chosen) {
      o.h2 = a.http2;
      if (o.h2) o.tls = tls.h2.get();
      continue;
    }
    std::string alpn = *chosen;
    o.h2 = alpn == "h2";
    if (o.h2) o.tls = tls.h2.get();
    if (!o.h2 && a.http2) {
      throw SetupError(
          fmt::format("--http2: {} chose '{}' by ALPN, not h2; drop --http2 to run "
                      "HTTP/1.1",
                      o.host, alpn.empty() ? "nothing" : alpn));
    }
  }
}

std::string protocol_name(const engine::OriginConfig& o) {
  if (o.ws || o.protocol != nullptr) return o.scheme;
  if (o.h2) return o.tls != nullptr ? "h2" : "h2c";
  return "http/1.1";
}

}  // namespace spiker::cli
