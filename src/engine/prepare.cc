#include "engine/prepare.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <thread>

#include "core/error.h"
#include "core/resolver.h"
#include "core/socket.h"
#include "core/transport.h"
#include "load/plan_builder.h"
#include "proto/protocol.h"

namespace spiker::engine {
namespace {

struct Contexts {
  std::shared_ptr<TlsContext> h1;   // offers http/1.1 by ALPN
  std::shared_ptr<TlsContext> h2;   // offers h2 then http/1.1 (absent with --http1)
  std::shared_ptr<TlsContext> raw;  // offers nothing (tls://)
  // Registered protocols' TLS schemes that offer something by ALPN (grpcs://: h2), by offer.
  std::vector<std::pair<std::vector<std::string>, std::shared_ptr<TlsContext>>> offers;
  const TlsContext* offering(const TlsOptions& base, const std::vector<std::string>& alpn) {
    if (alpn.empty()) return raw.get();
    for (const auto& [a, c] : offers) {
      if (a == alpn) return c.get();
    }
    TlsOptions o = base;
    o.alpn = alpn;
    offers.emplace_back(alpn, std::make_shared<TlsContext>(o));
    return offers.back().second.get();
  }
};

std::vector<OriginConfig> make_origins(const plan::RunPlan& plan, Contexts* tls) {
  const plan::TransportOptions& t = plan.transport;
  if (t.tls_used) {
    TlsOptions o = t.tls;
    o.alpn = {"http/1.1"};
    tls->h1 = std::make_shared<TlsContext>(o);
    if (!t.http1) {
      o.alpn = {"h2", "http/1.1"};
      tls->h2 = std::make_shared<TlsContext>(o);
    }
    o.alpn.clear();
    tls->raw = std::make_shared<TlsContext>(o);
  }
  std::vector<OriginConfig> origins;
  for (const Url& u : plan.origins) {
    OriginConfig o;
    o.host = u.host;
    o.host_header = u.host_header;
    o.scheme = u.scheme;
    o.port = u.port;
    if (!u.web()) o.protocol = proto::Registry::by_scheme(u.scheme);
    if (u.scheme == "https" || u.scheme == "wss") o.tls = tls->h1.get();
    if (o.protocol != nullptr && o.protocol->tls_scheme(u.scheme) && tls->raw) {
      o.tls = tls->offering(t.tls, o.protocol->alpn);
    }
    if (u.scheme == "http") o.h2 = t.http2;  // h2c needs prior knowledge
    origins.push_back(o);
  }
  return origins;
}

// Addresses that refuse a test connection are dropped (localhost: ::1 and 127.0.0.1), except
// for datagram protocols, which have no connection to test.
void resolve_origins(std::vector<OriginConfig>& origins, const plan::TransportOptions& t) {
  int64_t connect_timeout_ns = t.connect_timeout_ns;
  for (OriginConfig& o : origins) {
    std::vector<SocketAddress> dropped;
    std::string host = o.host;
    int port = o.port;
    for (const plan::TransportOptions::ConnectTo& c : t.connect_to) {
      if ((c.host.empty() || c.host == o.host) && (c.port == 0 || c.port == o.port)) {
        host = c.target_host.empty() ? o.host : c.target_host;
        port = c.target_port == 0 ? o.port : c.target_port;
        break;
      }
    }
    if (t.proxy) {
      const plan::TransportOptions::Proxy& px = *t.proxy;
      if (o.protocol != nullptr && o.protocol->datagram) {
        throw SetupError(
            fmt::format("-x/--proxy: {}:// goes over UDP, which no proxy carries", o.scheme));
      }
      // Plain HTTP/1.1 through an HTTP proxy needs no tunnel (absolute-form targets).
      bool forward = px.scheme == "http" && o.scheme == "http" && !t.http2;
      if (!forward) {
        auto tunnel = std::make_shared<Tunnel>();
        tunnel->kind = px.scheme == "socks5" ? Tunnel::Kind::kSocks5 : Tunnel::Kind::kHttpConnect;
        tunnel->host = host;
        tunnel->port = static_cast<uint16_t>(port);
        tunnel->user = px.user;
        tunnel->password = px.password;
        o.tunnel = std::move(tunnel);
      }
      host = px.host;
      port = px.port;
    }
    std::vector<SocketAddress> all = resolve(host, port);
    o.addresses = o.protocol != nullptr && o.protocol->datagram
                      ? all
                      : reachable(all, static_cast<int>(connect_timeout_ns / 1'000'000), &dropped);
    for (const SocketAddress& d : dropped) {
      std::fprintf(stderr, "note: %s (an address of %s) refused a test connection; not using it\n",
                   d.to_string().c_str(), o.host.c_str());
    }
  }
}

// One ALPN handshake per https origin decides h2 or HTTP/1.1.
void negotiate_http2(const plan::RunPlan& plan, const Contexts& tls,
                     std::vector<OriginConfig>& origins) {
  int timeout_ms = static_cast<int>(plan.transport.connect_timeout_ns / 1'000'000);
  for (OriginConfig& o : origins) {
    if (o.scheme != "https" || tls.h2 == nullptr || o.addresses.empty()) continue;
    if (o.tunnel) {  // the probe would need the tunnel: h2 only when asked for (--http2)
      o.h2 = plan.transport.http2;
      continue;
    }
    // When the probe fails, the run goes on and its connections fail the same way, counted.
    std::string error;
    std::optional<std::string> chosen =
        tls.h2->probe_alpn(o.addresses.front(), o.host, timeout_ms, &error);
    bool h2 = chosen ? *chosen == "h2" : plan.transport.http2;
    o.h2 = h2;
    if (h2) o.tls = tls.h2.get();
    if (chosen && !h2 && plan.transport.http2) {
      throw SetupError(
          fmt::format("--http2: {} chose '{}' by ALPN, not h2; drop --http2 to run HTTP/1.1",
                      o.host, chosen->empty() ? "nothing" : *chosen));
    }
  }
}

// Connections one VU of `j` may hold at once: a lane per step that runs at the same time as
// others (steps at one level of the DAG), per host it talks to, and its WebSocket; at most what
// the engine's lane bound allows (origins + 8, and the VU's own).
uint64_t sockets_per_vu(const plan::Journey& j) {
  uint64_t most = 1;
  for (const plan::Scenario& sc : j.scenarios) {
    std::vector<uint32_t> level(sc.steps.size(), 0), at_level(sc.steps.size() + 1, 0);
    std::vector<bool> origin_used(j.origins.size() + 1, false);
    uint64_t origins = 0, ws = 0;
    for (size_t i = 0; i < sc.steps.size(); ++i) {  // steps come after their dependencies
      const plan::Step& st = sc.steps[i];
      for (uint16_t d : st.deps) level[i] = std::max(level[i], level[d] + 1);
      ++at_level[level[i]];
      if (st.action != plan::Action::kHttp && st.action != plan::Action::kProtocol) {
        ws = 1;
      } else if (st.origin < origin_used.size() && !origin_used[st.origin]) {
        origin_used[st.origin] = true;
        ++origins;
      }
    }
    uint64_t width = *std::max_element(at_level.begin(), at_level.end());
    most = std::max(most, std::min<uint64_t>(std::max(width, origins), j.origins.size() + 9) + ws);
  }
  return most;
}

// Sockets the run may hold at once must fit the open-file limit: every VU (of every load group)
// with the lanes its journey can open.
void check_open_files(const plan::RunPlan& plan, const load::LoadPlan& lp) {
  uint64_t per_vu = plan.journey ? sockets_per_vu(*plan.journey) : 1;
  uint64_t sockets = 0;
  if (plan.groups.empty()) sockets = lp.stripe.count_below(lp.max_vus) * per_vu;
  for (const plan::LoadGroup& g : plan.groups) {  // groups run instead of the main load
    load::LoadPlan glp = load::build_plan(g.load);
    sockets += glp.stripe.count_below(glp.max_vus) * (g.journey ? sockets_per_vu(*g.journey) : 1);
  }
  int streams = plan.transport.max_streams;
  if (streams > 1) sockets = (sockets + static_cast<uint64_t>(streams) - 1) / streams + 1;
  uint64_t needed = sockets + 64;
  uint64_t files = raise_open_file_limit(needed);
  if (files >= needed) return;
  if (!plan.transport.keep_alive) {  // sockets close after each request
    std::fprintf(stderr,
                 "note: %llu VUs, %llu open files allowed: VUs beyond that wait out think time "
                 "or fail to connect (counted) if all send at once\n",
                 static_cast<unsigned long long>(lp.max_vus),
                 static_cast<unsigned long long>(files));
    return;
  }
  throw SetupError(fmt::format(
      "{} VUs{} need {} open files but the limit is {}; raise it (ulimit -n {}) or use fewer "
      "(-c, --max-vus)",
      lp.max_vus,
      per_vu > 1 ? fmt::format(" with up to {} connections each (steps at once, hosts)", per_vu)
                 : "",
      needed, files, needed));
}

WorkerConfig worker_config(const plan::RunPlan& plan) {
  const plan::TransportOptions& t = plan.transport;
  WorkerConfig w;
  w.requests = std::make_shared<const std::vector<RequestVariant>>(plan.requests);
  w.journey = plan.journey;
  if (plan.journey) w.shared = std::make_shared<JourneyShared>(plan.journey->data.size());
  w.keep_alive = t.keep_alive;
  w.pipeline = t.pipeline;
  w.max_streams = t.max_streams;
  w.timeout_ns = t.timeout_ns;
  w.connect_timeout_ns = t.connect_timeout_ns;
  return w;
}

}  // namespace

RunConfig prepare(const plan::RunPlan& plan, bool resolve) {
  RunConfig config;
  config.plan = load::build_plan(plan.load);
  if (resolve) check_open_files(plan, config.plan);
  config.worker = worker_config(plan);
  Contexts tls;
  config.worker.origins = make_origins(plan, &tls);
  if (resolve) {
    resolve_origins(config.worker.origins, plan.transport);
    negotiate_http2(plan, tls, config.worker.origins);
  }
  for (OriginConfig& o : config.worker.origins) {  // web origins: HTTP/1.1, HTTP/2, WebSocket
    if (o.protocol != nullptr) continue;
    o.protocol = o.h2 ? proto::Registry::by_name("http2") : proto::Registry::by_scheme(o.scheme);
  }
  for (const auto& c : {tls.h1, tls.h2, tls.raw}) {
    if (c) config.tls.push_back(c);
  }
  for (const auto& [alpn, c] : tls.offers) config.tls.push_back(c);
  for (const plan::LoadGroup& g : plan.groups) {
    LoadGroup group{config.worker, load::build_plan(g.load)};
    group.worker.journey = g.journey;
    config.groups.push_back(std::move(group));
  }
  config.threads = plan.threads > 0
                       ? plan.threads
                       : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  config.thresholds = plan.thresholds;
  return config;
}

std::string protocol_name(const OriginConfig& o) {
  if (o.h2) return o.tls != nullptr ? "h2" : "h2c";
  if (o.protocol != nullptr) return o.protocol->label.empty() ? o.scheme : o.protocol->label;
  return "http/1.1";
}

}  // namespace spiker::engine
