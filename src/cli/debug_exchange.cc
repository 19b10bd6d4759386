// `run --debug`: one request, sent and read whole over HTTP/1.1 (TLS too), with the request
// and the response printed as they crossed the wire (secret headers redacted; bodies cut at
// 64 KiB). For looking at what a test sends before loading anything.
#include <fmt/format.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "cli/run_args.h"
#include "core/error.h"
#include "core/redact.h"
#include "core/socket.h"
#include "core/strings.h"
#include "core/tls.h"
#include "engine/prepare.h"
#include "proto/http_message.h"

namespace spiker::cli {
namespace {

constexpr size_t kShown = 64 * 1024;

// The first request of the run, rendered as its first send would be.
plan::HttpMessage first_request(const plan::RunPlan& p, size_t* origin) {
  plan::HttpMessage m;
  std::vector<std::string> vars(plan::kMaxVars);  // extracted values: none yet
  plan::RenderContext ctx;
  ctx.request_id = 1;
  ctx.vu_id = 1;
  ctx.vars = vars.data();
  *origin = 0;
  if (p.journey) {
    const plan::Step& st = p.journey->scenarios.at(0).steps.at(0);
    if (st.action != plan::Action::kHttp) {
      throw SetupError("--debug: the first step is not an HTTP request", kExitUsage);
    }
    if (p.journey->scenarios[0].tables_used != 0) {
      throw SetupError(
          "--debug: the first step reads a data table; --debug sends requests "
          "without one",
          kExitUsage);
    }
    *origin = st.origin;
    m.method = st.method;
    m.target.clear();  // render appends
    st.target.render(m.target, ctx);
    for (const auto& [name, value] : st.headers) {
      m.headers.emplace_back(name, "");
      value.render(m.headers.back().second, ctx);
    }
    m.length = st.has_body;
    if (st.has_body) st.body.render(m.body, ctx);
    return m;
  }
  const plan::Request& r = p.requests.at(0);
  if (r.proto) throw SetupError("--debug: takes HTTP(S) targets", kExitUsage);
  if (r.dynamic) {
    r.dynamic->render(m, ctx);
  } else {
    m = r.http;
  }
  return m;
}

std::string redacted_head(std::string_view head) {
  std::string out;
  size_t at = 0;
  while (at < head.size()) {
    size_t end = head.find("\r\n", at);
    if (end == std::string_view::npos) end = head.size();
    std::string_view line = head.substr(at, end - at);
    size_t colon = line.find(':');
    if (at > 0 && colon != std::string_view::npos && is_secret_name(trim(line.substr(0, colon)))) {
      out += std::string(line.substr(0, colon)) + ": <redacted>\n";
    } else if (at == 0) {  // the request line: its target's secret query values
      size_t sp1 = line.find(' ');
      size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
      if (sp2 == std::string_view::npos) {
        out += std::string(line) + "\n";
      } else {
        // A path is read as a web URL's, so that an '@' in it is not user-info; a proxy's
        // absolute target is a URL already.
        std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
        std::string shown = target.starts_with('/')
                                ? redact_url("http://h" + std::string(target)).substr(8)
                                : redact_url(target);
        out += std::string(line.substr(0, sp1 + 1)) + shown + std::string(line.substr(sp2)) + "\n";
      }
    } else {
      out += std::string(line) + "\n";
    }
    at = end + 2;
  }
  return out;
}

// Prints a message: its head line by line (secret headers redacted), then its body with every
// secret value the request carried replaced (a server may echo them).
void print_message(const char* arrow, std::string_view bytes,
                   const std::vector<std::string>& secrets) {
  size_t split = bytes.find("\r\n\r\n");
  std::string head = redacted_head(bytes.substr(0, split));
  std::string body(split == std::string_view::npos ? "" : bytes.substr(split + 4));
  for (const std::string& secret : secrets) {
    for (size_t at; !secret.empty() && (at = body.find(secret)) != std::string::npos;) {
      body.replace(at, secret.size(), "<redacted>");
    }
  }
  for (size_t at = 0; at < head.size();) {
    size_t end = head.find('\n', at);
    std::printf("%s %.*s\n", arrow, static_cast<int>(end - at), head.data() + at);
    at = end + 1;
  }
  std::printf("%s\n", arrow);
  if (!body.empty()) {
    std::fwrite(body.data(), 1, std::min(body.size(), kShown), stdout);
    if (body.size() > kShown) std::printf("\n[... %zu more bytes]", body.size() - kShown);
    std::printf("\n");
  }
}

}  // namespace

int debug_exchange(const plan::RunPlan& p, const engine::RunConfig& config) {
  size_t origin_index = 0;
  plan::HttpMessage m = first_request(p, &origin_index);
  const engine::OriginConfig& o = config.worker.origins.at(origin_index);
  if (o.scheme != "http" && o.scheme != "https") {
    throw SetupError("--debug: takes http:// and https:// targets", kExitUsage);
  }
  if (o.addresses.empty()) {
    throw SetupError(fmt::format("--debug: {} has no address that accepts connections", o.host));
  }
  m.authority = o.host_header;
  m.close = true;  // the response ends with the connection: no framing guesswork
  std::string wire;
  proto::append_http1(m, wire);
  wire += m.shared_body;  // a --body-file's bytes (one request: a copy is fine)
  int timeout_ms = static_cast<int>(p.transport.timeout_ns / 1'000'000);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  int fd = start_connect(o.addresses.front());
  if (fd < 0) throw SetupError(fmt::format("--debug: cannot connect: {}", std::strerror(-fd)));
  std::unique_ptr<TlsContext> h1;  // HTTP/1.1 by ALPN, whatever the run would negotiate
  ssl_st* ssl = nullptr;
  auto cleanup = [&] {
    if (ssl != nullptr) tls_free(ssl);
    ::close(fd);
  };
  auto wait = [&](short events) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    pollfd pfd{fd, events, 0};
    return left > 0 && ::poll(&pfd, 1, static_cast<int>(left)) == 1;
  };
  auto fail = [&](const std::string& why) {
    cleanup();
    throw SetupError("--debug: " + why);
  };
  if (!wait(POLLOUT) || socket_error(fd) != 0) fail("cannot connect to " + o.host);
  if (o.scheme == "https") {
    TlsOptions t = p.transport.tls;
    t.alpn = {"http/1.1"};
    h1 = std::make_unique<TlsContext>(t);
    ssl = h1->new_session(fd, o.host);
    for (;;) {
      TlsIo r = tls_handshake(ssl);
      if (r == TlsIo::kDone) break;
      if ((r != TlsIo::kWantRead && r != TlsIo::kWantWrite) ||
          !wait(r == TlsIo::kWantRead ? POLLIN : POLLOUT)) {
        fail("TLS handshake failed: " + tls_last_error(ssl));
      }
    }
  }
  std::printf("* connected to %s (%s)%s\n", o.host.c_str(), o.addresses.front().to_string().c_str(),
              ssl != nullptr ? " over TLS" : "");
  for (size_t sent = 0; sent < wire.size();) {
    size_t n = 0;
    if (ssl != nullptr) {
      TlsIo r = tls_write(ssl, wire.data() + sent, wire.size() - sent, &n);
      if (r == TlsIo::kWantWrite || r == TlsIo::kWantRead) {
        if (!wait(r == TlsIo::kWantRead ? POLLIN : POLLOUT)) fail("timed out writing");
        continue;
      }
      if (r != TlsIo::kDone) fail("the connection failed while writing");
    } else {
      ssize_t w = ::write(fd, wire.data() + sent, wire.size() - sent);
      if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        if (!wait(POLLOUT)) fail("timed out writing");
        continue;
      }
      if (w < 0) fail(std::string("write: ") + std::strerror(errno));
      n = static_cast<size_t>(w);
    }
    sent += n;
  }
  std::vector<std::string> secrets;  // values of secret headers, hidden wherever they appear
  for (const auto& [name, value] : m.headers) {
    if (!is_secret_name(name)) continue;
    secrets.push_back(value);
    size_t space = value.find(' ');  // "Bearer xyz": the credential alone too
    if (space != std::string::npos && space + 1 < value.size()) {
      secrets.push_back(value.substr(space + 1));
    }
  }
  // ... and of secret query parameters (?api_key=...), which a server may echo as well.
  std::string_view query = m.target;
  query = query.substr(std::min(query.size(), query.find('?') + 1));
  while (!query.empty()) {
    std::string_view pair = query.substr(0, query.find('&'));
    query.remove_prefix(std::min(query.size(), pair.size() + 1));
    size_t eq = pair.find('=');
    if (eq != std::string_view::npos && eq + 1 < pair.size() &&
        is_secret_name(pair.substr(0, eq))) {
      secrets.emplace_back(pair.substr(eq + 1));
    }
  }
  print_message(">", wire, secrets);
  auto started = std::chrono::steady_clock::now();
  std::string response;
  char buf[16384];
  for (;;) {
    size_t n = 0;
    if (ssl != nullptr) {
      TlsIo r = tls_read(ssl, buf, sizeof buf, &n);
      if (r == TlsIo::kEof) break;
      if (r == TlsIo::kWantRead || r == TlsIo::kWantWrite) {
        if (!wait(r == TlsIo::kWantRead ? POLLIN : POLLOUT)) fail("timed out reading (--timeout)");
        continue;
      }
      if (r != TlsIo::kDone) break;
    } else {
      ssize_t rd = ::read(fd, buf, sizeof buf);
      if (rd < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        if (!wait(POLLIN)) fail("timed out reading (--timeout)");
        continue;
      }
      if (rd <= 0) break;
      n = static_cast<size_t>(rd);
    }
    response.append(buf, n);
    if (response.size() > 64 * 1024 * 1024) break;
  }
  double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  cleanup();
  if (response.empty()) throw SetupError("--debug: the server closed without a response");
  print_message("<", response, secrets);
  std::printf("* %zu bytes in %.2f ms\n", response.size(), ms);
  return kExitOk;
}

}  // namespace spiker::cli
