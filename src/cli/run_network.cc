// How the run's connections reach their hosts: TLS settings, timeouts, keep-alive,
// --connect-to and -x/--proxy (with the absolute-form targets an HTTP proxy needs).
#include <fmt/format.h>

#include <algorithm>

#include "cli/run_args.h"
#include "core/base64.h"
#include "core/error.h"
#include "plan/run_plan.h"
#include "proto/http_message.h"
#include "proto/protocol.h"

namespace spiker::cli {
namespace {

// curl's --connect-to HOST:PORT:TARGET_HOST:TARGET_PORT (Kaioken's too; HOST:TARGET:PORT is
// read as any port of HOST).
plan::TransportOptions::ConnectTo parse_connect_to(const std::string& text) {
  std::vector<std::string> parts;
  for (size_t at = 0;;) {
    size_t colon = text.find(':', at);
    parts.push_back(text.substr(at, colon == std::string::npos ? colon : colon - at));
    if (colon == std::string::npos) break;
    at = colon + 1;
  }
  auto port = [&](const std::string& p, bool target) {
    if (p.empty()) return 0;
    int v = 0;
    bool ok = p.size() <= 5 && std::all_of(p.begin(), p.end(), ::isdigit);
    if (ok) v = std::stoi(p);
    if (!ok || v < 1 || v > 65535) {
      throw SetupError(fmt::format("--connect-to '{}': '{}' is not a {}port (1-65535)", text, p,
                                   target ? "target " : ""));
    }
    return v;
  };
  if (parts.size() == 3) parts.insert(parts.begin() + 1, "");
  if (parts.size() != 4 || parts[2].empty()) {
    throw SetupError(
        fmt::format("--connect-to '{}': write HOST:PORT:TARGET_HOST:TARGET_PORT, e.g. "
                    "api.example.com:443:127.0.0.1:8443",
                    text));
  }
  return {parts[0], port(parts[1], false), parts[2], port(parts[3], true)};
}

// -x/--proxy http://[user:password@]host[:port] or socks5://... (socks5h:// too; the proxy
// resolves names either way). The port defaults to 1080, as curl's.
plan::TransportOptions::Proxy parse_proxy(const std::string& text) {
  auto bad = [&](std::string_view why) {
    return SetupError(
        fmt::format("-x/--proxy: {}; write http://host:3128, "
                    "http://user:password@host:3128 or socks5://host:1080",
                    why));
  };
  plan::TransportOptions::Proxy p;
  std::string rest = text;
  size_t scheme = rest.find("://");
  p.scheme = scheme == std::string::npos ? "http" : rest.substr(0, scheme);
  if (scheme != std::string::npos) rest = rest.substr(scheme + 3);
  if (p.scheme == "socks5h") p.scheme = "socks5";
  if (p.scheme != "http" && p.scheme != "socks5") {
    throw bad(fmt::format("'{}' proxies are not supported (http and socks5 are)", p.scheme));
  }
  while (rest.ends_with("/")) rest.pop_back();
  size_t at = rest.rfind('@');
  if (at != std::string::npos) {
    std::string cred = rest.substr(0, at);
    size_t colon = cred.find(':');
    p.user = cred.substr(0, colon);
    p.password = colon == std::string::npos ? "" : cred.substr(colon + 1);
    rest = rest.substr(at + 1);
  }
  size_t colon = rest.rfind(':');
  p.port = 1080;
  if (colon != std::string::npos && rest.find(']', colon) == std::string::npos) {
    std::string port = rest.substr(colon + 1);
    if (port.empty() || port.size() > 5 ||
        port.find_first_not_of("0123456789") != std::string::npos || std::stoi(port) < 1 ||
        std::stoi(port) > 65535) {
      throw bad("the port is not 1-65535");
    }
    p.port = std::stoi(port);
    rest = rest.substr(0, colon);
  }
  if (rest.starts_with("[") && rest.ends_with("]")) rest = rest.substr(1, rest.size() - 2);
  if (rest.empty()) throw bad("no host");
  p.host = rest;
  return p;
}

}  // namespace

plan::TransportOptions transport_options(const RunArgs& a, const std::vector<Url>& origins) {
  plan::TransportOptions t;
  if (!a.proxy.empty()) t.proxy = parse_proxy(a.proxy);
  if (!a.connect_to.empty()) t.connect_to.push_back(parse_connect_to(a.connect_to));
  t.tls.insecure = a.insecure;
  t.tls.cacert = a.cacert;
  t.tls.cert = a.cert;
  t.tls.key = a.key;
  t.tls.min_version = a.tls_min;
  t.tls.max_version = a.tls_max;
  t.tls.ciphers = a.ciphers;
  t.tls.sni = a.sni;
  t.tls.resume = !a.no_tls_resume;
  t.tls_used = std::any_of(origins.begin(), origins.end(), [](const Url& u) {
    const proto::Protocol* p = proto::Registry::by_scheme(u.scheme);
    return u.tls() || (p != nullptr && p->tls_scheme(u.scheme));
  });
  if (!t.tls_used &&
      (!a.cacert.empty() || !a.cert.empty() || !a.key.empty() || !a.tls_min.empty() ||
       !a.tls_max.empty() || !a.ciphers.empty() || !a.sni.empty())) {
    throw SetupError(
        "--cacert/--cert/--key/--tls-min/--tls-max/--ciphers/--sni need a URL over TLS "
        "(https://, wss://, tls://, mqtts://, grpcs://, ...)");
  }
  t.http1 = a.http1;
  t.http2 = a.http2;
  t.max_streams = a.max_streams;
  t.pipeline = a.pipeline;
  t.keep_alive = !a.disable_keepalive;
  t.timeout_ns = positive_ns(a.timeout, "--timeout");
  t.connect_timeout_ns = positive_ns(a.connect_timeout, "--connect-timeout");
  return t;
}

// Through an HTTP proxy, plain HTTP/1.1 requests name their whole URL (RFC 9112 3.2.2): the
// targets of http:// requests and steps get their origin in front.
// The proxy's credentials go in a Proxy-Authorization header of each request.
void absolute_form(plan::RunPlan& p) {
  const plan::TransportOptions::Proxy& px = *p.transport.proxy;
  std::string auth = px.user.empty() ? "" : "Basic " + base64_encode(px.user + ":" + px.password);
  for (plan::Request& r : p.requests) {
    if (r.proto || !p.origins.front().web() || p.origins.front().scheme != "http") continue;
    std::string origin = "http://" + p.origins.front().host_header;
    if (r.dynamic) {
      auto t = std::make_shared<plan::HttpTemplate>(*r.dynamic);
      plan::Template target = plan::Template::literal(origin);
      target.append(t->target);
      t->target = std::move(target);
      if (!auth.empty())
        t->headers.emplace_back("Proxy-Authorization", plan::Template::literal(auth));
      r.dynamic = std::move(t);
    } else {
      r.http.target = origin + r.http.target;
      if (!auth.empty()) r.http.headers.emplace_back("Proxy-Authorization", auth);
      r.wire.clear();
      proto::append_http1(r.http, r.wire);
    }
  }
  auto rewrite = [&](plan::Journey& j) {
    for (plan::Scenario& sc : j.scenarios) {
      for (plan::Step& st : sc.steps) {
        const Url& u = j.origins.at(st.origin).url;
        if (st.action != plan::Action::kHttp || u.scheme != "http") continue;
        plan::Template target = plan::Template::literal("http://" + u.host_header);
        target.append(st.target);
        st.target = std::move(target);
        if (!auth.empty())
          st.headers.emplace_back("Proxy-Authorization", plan::Template::literal(auth));
      }
    }
  };
  if (p.journey) {
    auto j = std::make_shared<plan::Journey>(*p.journey);
    rewrite(*j);
    p.journey = j;
  }
  for (plan::LoadGroup& g : p.groups) {
    auto j = std::make_shared<plan::Journey>(*g.journey);
    rewrite(*j);
    g.journey = j;
  }
}

}  // namespace spiker::cli
