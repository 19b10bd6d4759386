#include "engine/client.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <random>
#include <thread>
#include <unordered_map>

#include "core/clock.h"
#include "core/error.h"
#include "core/event_loop.h"
#include "core/resolver.h"
#include "core/strings.h"
#include "core/url.h"
#include "plan/cookie_jar.h"
#include "plan/request.h"
#include "proto/protocol.h"

namespace spiker::engine {
namespace {

constexpr int64_t kPublishNs = 50'000'000;  // how often the loop hands its metrics over
constexpr size_t kReadBufferSize = 256 * 1024;

int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool is_redirect(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

// `location` resolved against `base` (absolute, absolute-path or relative reference).
std::string resolve_location(const Url& base, std::string_view location) {
  if (location.find("://") != std::string_view::npos) return std::string(location);
  std::string origin = base.scheme + "://" + base.host_header;
  if (location.starts_with("//")) return base.scheme + ":" + std::string(location);
  if (location.starts_with("/")) return origin + std::string(location);
  std::string path = base.target.substr(0, base.target.find('?'));
  return origin + path.substr(0, path.rfind('/') + 1) + std::string(location);
}

}  // namespace

class Client::Loop final : public proto::SessionHost, public IoHandler {
 public:
  explicit Loop(const ClientOptions& o) : options_(o), read_buf_(kReadBufferSize) {
    proto::register_protocols();
    if (!loop_.open()) throw SetupError("cannot make an epoll instance", kExitError);
    wake_in_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    wake_out_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wake_in_ < 0 || wake_out_ < 0) throw SetupError("cannot make an eventfd", kExitError);
    loop_.add(wake_in_, EPOLLIN, this);
    TlsOptions t = o.tls;
    t.alpn = {"http/1.1"};
    tls_http_ = std::make_unique<TlsContext>(t);
    t.alpn.clear();
    tls_raw_ = std::make_unique<TlsContext>(t);
    current_ = std::make_unique<metrics::Shard>();
    second_ = std::make_unique<metrics::Shard>();
    totals_ = std::make_unique<metrics::Shard>();
    host_loop_ = &loop_;
    host_shard_ = &current_;
    host_read_buffer_ = &read_buf_;
    start_ns_ = mono_now_ns();
    started_unix_ms_ = unix_ms();
    thread_ = std::thread([this] { run(); });
  }

  ~Loop() {
    stop_.store(true);
    wake();
    thread_.join();
    vus_.clear();  // sessions close before the loop goes
    ::close(wake_in_);
    ::close(wake_out_);
  }

  // --- the caller's side ---

  void submit(ClientRequest r) {
    auto p = std::make_unique<Pending>();
    p->url = parse_url(r.url, "URL");
    if (!p->url.web() && proto::Registry::by_scheme(p->url.scheme) == nullptr) {
      throw SetupError(fmt_scheme(p->url.scheme));
    }
    if (p->url.websocket()) {
      p->ws = websocket_verb(r.action);
    } else if (!p->url.web()) {
      p->proto = compile_protocol(p->url, r);
    }
    p->req = std::move(r);
    {
      std::lock_guard lock(in_mu_);
      inbox_.push_back(std::move(p));
    }
    wake();
  }

  std::vector<ClientResponse> take() {
    uint64_t n;
    [[maybe_unused]] ssize_t got = ::read(wake_out_, &n, sizeof n);
    std::lock_guard lock(out_mu_);
    return std::exchange(outbox_, {});
  }

  int wake_fd() const { return wake_out_; }

  void reset_stats() {
    wait_publish([this] { reset_pending_ = true; });
  }

  ClientStats stats() {
    ClientStats out;
    wait_publish([] {});
    std::lock_guard lock(stats_mu_);
    out.totals = std::make_unique<metrics::Shard>();
    out.totals->merge(*totals_);
    out.totals->merge(*second_);
    out.timeline = timeline_;
    out.names = names_;
    out.elapsed_s = static_cast<double>(mono_now_ns() - start_ns_) / 1e9;
    out.started_unix_ms = started_unix_ms_;
    return out;
  }

  void forget_vu(uint32_t vu) {
    {
      std::lock_guard lock(in_mu_);
      forget_.push_back(vu);
    }
    wake();
  }

  // --- SessionHost ---

  uint64_t random() noexcept override { return rng_(); }
  const SocketAddress& next_address(const proto::Endpoint& e) noexcept override {
    return (*e.addresses)[next_address_++ % e.addresses->size()];
  }
  // The session set its flush_pending before asking; its flush() clears it.
  void defer_flush(proto::Session& s) noexcept override { flush_queue_.push_back(&s); }

  void complete(proto::Session& s, const proto::Outcome& o) noexcept override {
    auto* slot = static_cast<Slot*>(s.owner);
    std::unique_ptr<Pending> p = std::move(slot->pending);
    if (!p) return;
    ClientResponse r;
    r.id = p->req.id;
    r.url = p->url.to_string();
    r.ok = o.ok;
    if (!o.ok) r.error = std::string(metrics::kErrorKindNames[static_cast<size_t>(o.error)]);
    r.status = o.status;
    r.latency_us = o.timed ? (o.done_ns - o.sent_ns) / 1000 : 0;
    r.refused = o.refused;
    if (o.parts != nullptr) {
      for (const auto& [name, value] : o.parts->headers) r.headers.emplace_back(name, value);
      r.body.assign(o.parts->body);
      r.rows = o.parts->rows;
    }
    if (p->req.record) record(*p, o, r);
    std::string location;
    for (const auto& [name, value] : r.headers) {
      if (p->req.cookies && p->ws < 0 && p->url.web() && iequals(name, "set-cookie")) {
        plan::store_cookie(vus_[p->req.vu].cookies, value, p->url.host);
      }
      if (iequals(name, "location")) location = value;
    }
    if (o.ok && p->ws < 0 && p->url.web() && is_redirect(o.status) && !location.empty() &&
        p->redirects < options_.max_redirects) {
      try {
        p->url = parse_url(resolve_location(p->url, location), "redirect Location");
        ++p->redirects;
        if (o.status == 303 || ((o.status == 301 || o.status == 302) && p->req.method != "GET" &&
                                p->req.method != "HEAD")) {
          p->req.method = "GET";
          p->req.has_body = false;
          p->req.body.clear();
        }
        if (p->url.web() && !p->url.websocket()) {
          again_.push_back(std::move(p));  // next turn: this session's callback is on the stack
          return;
        }
      } catch (const SetupError&) {  // an unusable Location: the 3xx is the answer
      }
    }
    respond(std::move(r));
  }

  // The inbox's eventfd.
  void on_io(uint32_t) noexcept override {
    uint64_t n;
    [[maybe_unused]] ssize_t got = ::read(wake_in_, &n, sizeof n);
  }

 private:
  struct Origin {
    Url url;
    std::vector<SocketAddress> addresses;
    const proto::Protocol* protocol = nullptr;
    proto::SessionOptions options;
    std::string error;  // set: the host did not resolve
  };
  struct Pending {
    ClientRequest req;
    int ws = -1;  // ws:// and wss://: the proto::Verb of the action (connect, send, ...)
    Url url;
    std::shared_ptr<plan::ProtocolRequest> proto;  // registered protocols' compiled request
    plan::HttpMessage message;
    int redirects = 0;
  };
  struct Slot {
    size_t origin = 0;
    std::unique_ptr<proto::Session> session;
    std::unique_ptr<Pending> pending;  // null: idle
  };
  struct Vu {
    std::vector<plan::Cookie> cookies;
    std::vector<std::unique_ptr<Slot>> slots;
  };

  static std::string fmt_scheme(const std::string& scheme) {
    return "'" + scheme + "://' is not a scheme this engine speaks; use http://, https://, " +
           proto::Registry::scheme_list();
  }

  // The WebSocket actions, on the VU's one WebSocket per host (as a journey's ws.* steps).
  static int websocket_verb(const std::string& action) {
    static constexpr std::pair<std::string_view, proto::Verb> kActions[] = {
        {"ws.connect", proto::Verb::kConnect},
        {"ws.send", proto::Verb::kSend},
        {"ws.receive", proto::Verb::kReceive},
        {"ws.close", proto::Verb::kClose}};
    for (const auto& [name, verb] : kActions) {
      if (action == name) return static_cast<int>(verb);
    }
    throw SetupError(
        "a ws:// or wss:// URL takes the action ws.connect, ws.send, ws.receive or "
        "ws.close" +
        (action.empty() ? std::string() : ", not '" + action + "'"));
  }

  static std::shared_ptr<plan::ProtocolRequest> compile_protocol(const Url& url,
                                                                 const ClientRequest& r) {
    const proto::Protocol* p = proto::Registry::by_scheme(url.scheme);
    proto::RequestInput in;
    in.url = url;
    in.where = "the request to " + url.to_string();
    if (!r.action.empty()) {
      int index = -1;
      const proto::Protocol* by = proto::Registry::by_action(r.action, &index, url.scheme);
      if (by != p) {
        throw SetupError("'" + r.action + "' is not an action of " + url.scheme + "://");
      }
      in.action = index;
    }
    in.payload = r.body;
    in.payload_given = r.has_body;
    in.escapes = false;  // bytes as the caller gave them
    for (const auto& [k, v] : r.options) in.options.push_back({k, v, in.where});
    std::shared_ptr<plan::ProtocolRequest> req = p->compile(in);
    req->protocol = p->index;
    return req;
  }

  void wake() {
    uint64_t one = 1;
    [[maybe_unused]] ssize_t put = ::write(wake_in_, &one, sizeof one);
  }

  void respond(ClientResponse r) {
    {
      std::lock_guard lock(out_mu_);
      outbox_.push_back(std::move(r));
    }
    uint64_t one = 1;
    [[maybe_unused]] ssize_t put = ::write(wake_out_, &one, sizeof one);
  }

  // Runs `ask` on the loop's next publish and waits for that publish.
  template <typename F>
  void wait_publish(F ask) {
    std::unique_lock lock(stats_mu_);
    ask();
    uint64_t gen = publishes_;
    publish_now_ = true;
    lock.unlock();
    wake();
    lock.lock();
    published_.wait_for(lock, std::chrono::seconds(2), [&] { return publishes_ > gen; });
  }

  size_t name_index(const Pending& p) {
    std::string name =
        p.req.name.empty() ? p.url.target.substr(0, p.url.target.find('?')) : p.req.name;
    auto it = name_index_.find(name);
    if (it != name_index_.end()) return it->second;
    if (names_.size() >= metrics::kMaxScenarios) return metrics::kMaxScenarios;  // not apart
    std::lock_guard lock(stats_mu_);
    names_.emplace_back(name, p.req.method + " " + p.url.to_string());
    return name_index_[name] = names_.size() - 1;
  }

  void record(const Pending& p, const proto::Outcome& o, const ClientResponse& r) {
    metrics::Shard& s = *current_;
    size_t slot = name_index(p);
    if (slot < metrics::kMaxScenarios) ++s.scenario_requests[slot];
    if (!o.timed) {
      ++s.requests;
      ++s.responses;
      return;
    }
    if (!o.ok) {
      s.record_error(o.error);
      if (slot < metrics::kMaxScenarios) ++s.step_failed[slot];
      return;
    }
    ++s.requests;
    ++s.responses;
    s.latency_us.record(r.latency_us);
    if (slot < metrics::kMaxScenarios) s.step_latency(slot).record(r.latency_us);
    if (o.status != 0) s.record_status(o.status);
    if ((p.ws < 0 && p.url.web() && o.status >= 400) || o.refused) {
      ++s.failed;
      if (slot < metrics::kMaxScenarios) ++s.step_failed[slot];
    }
  }

  // The origin of `url`, made (and resolved) on first use.
  size_t origin_of(const Url& url) {
    // A protocol's URL names its user and database too: another of those, another origin.
    std::string key = url.scheme + "://" + url.user + "@" + url.host_header +
                      (url.web() ? std::string() : url.target);
    auto it = origin_index_.find(key);
    if (it != origin_index_.end()) return it->second;
    auto o = std::make_unique<Origin>();
    o->url = url;
    o->protocol = url.web() && !url.websocket() ? proto::Registry::by_scheme("http")
                                                : proto::Registry::by_scheme(url.scheme);
    try {
      o->addresses = resolve(url.host, url.port);
      if (!o->protocol->datagram) {
        std::vector<SocketAddress> dropped;
        o->addresses = reachable(
            o->addresses, static_cast<int>(options_.connect_timeout_ns / 1'000'000), &dropped);
      }
    } catch (const SetupError&) {
      o->error = "dns";
    }
    proto::Endpoint& e = o->options.endpoint;
    e.addresses = &o->addresses;
    e.host = url.host;
    e.scheme = url.scheme;
    if (url.scheme == "https" || url.scheme == "wss") e.tls = tls_http_.get();
    if (o->protocol != nullptr && o->protocol->tls_scheme(url.scheme)) {
      e.tls = tls_offering(o->protocol->alpn);  // tls://, mqtts://, grpcs:// (h2), ...
    }
    o->options.connect_timeout_ns = options_.connect_timeout_ns;
    o->options.tls_cache = &tls_cache_;
    origins_.push_back(std::move(o));
    return origin_index_[key] = origins_.size() - 1;
  }

  // The TLS context for a protocol's TLS scheme: one per ALPN offer.
  const TlsContext* tls_offering(const std::vector<std::string>& alpn) {
    if (alpn.empty()) return tls_raw_.get();
    for (const auto& [a, c] : tls_offers_) {
      if (a == alpn) return c.get();
    }
    TlsOptions t = options_.tls;
    t.alpn = alpn;
    tls_offers_.emplace_back(alpn, std::make_unique<TlsContext>(t));
    return tls_offers_.back().second.get();
  }

  void start(std::unique_ptr<Pending> p) {
    size_t origin = origin_of(p->url);
    const Origin& o = *origins_[origin];
    if (!o.error.empty()) {
      ClientResponse r;
      r.id = p->req.id;
      r.error = o.error;
      r.url = p->url.to_string();
      if (p->req.record) {
        proto::Outcome out;
        out.ok = false;
        out.error = metrics::ErrorKind::kDns;
        record(*p, out, r);
      }
      respond(std::move(r));
      return;
    }
    Vu& vu = vus_[p->req.vu];
    Slot* slot = nullptr;
    for (auto& s : vu.slots) {
      // A WebSocket is one connection per VU and host: its actions share it.
      if (s->origin == origin && (p->ws >= 0 || !s->pending)) slot = s.get();
    }
    if (slot != nullptr && slot->pending) {
      ClientResponse r;
      r.id = p->req.id;
      r.error = "other";
      r.url = p->url.to_string();
      r.body = "a WebSocket action is under way on this VU's connection to " + r.url;
      respond(std::move(r));
      return;
    }
    if (slot != nullptr && p->ws == static_cast<int>(proto::Verb::kConnect)) {
      slot->session->close();  // a second connect: a new WebSocket
      retired_.push_back(std::move(slot->session));
      slot->session = o.protocol->make_session(*this, o.options);
      slot->session->owner = slot;
      slot->session->origin = static_cast<int>(origin);
    }
    if (slot == nullptr) {
      vu.slots.push_back(std::make_unique<Slot>());
      slot = vu.slots.back().get();
      slot->origin = origin;
      slot->session = o.protocol->make_session(*this, o.options);
      slot->session->owner = slot;
      slot->session->origin = static_cast<int>(origin);
    }
    proto::Exchange x;
    x.timeout_ns = p->req.timeout_ns;
    x.capture = true;
    x.owner = nullptr;
    if (p->ws >= 0) {
      x.verb = static_cast<proto::Verb>(p->ws);
      if (x.verb == proto::Verb::kConnect) {
        plan::HttpMessage& m = p->message;
        m.method = "GET";
        m.target = p->url.target;
        m.authority = p->url.host_header;
        m.headers = p->req.headers;
        x.message = &m;
      } else if (x.verb == proto::Verb::kSend) {
        x.payload = p->req.body;
        for (const auto& [k, v] : p->req.options) x.binary |= k == "binary" && v == "true";
      }
      x.stable_payload = true;
      if (x.verb != proto::Verb::kConnect && !slot->session->connected()) {
        ClientResponse r;
        r.id = p->req.id;
        r.error = "reset";
        r.url = p->url.to_string();
        r.body = "no WebSocket is open to " + r.url + " (ws.connect first)";
        respond(std::move(r));
        return;
      }
    } else if (p->url.web()) {
      plan::HttpMessage& m = p->message;
      m.method = p->req.method;
      m.target = p->url.target;
      m.authority = p->url.host_header;
      m.headers = p->req.headers;
      bool has_cookie = false;
      for (const auto& [name, value] : m.headers) has_cookie |= iequals(name, "cookie");
      if (p->req.cookies && !has_cookie) {
        std::string c = plan::cookie_header(vu.cookies, p->url.host, p->url.tls(),
                                            p->url.target.substr(0, p->url.target.find('?')));
        if (!c.empty()) m.headers.emplace_back("Cookie", std::move(c));
      }
      m.body = p->req.body;
      m.length = p->req.has_body || m.method == "POST" || m.method == "PUT" || m.method == "PATCH";
      x.message = &m;
      x.stable_payload = true;
      x.head = m.method == "HEAD";
    } else {
      x.request = p->proto.get();
      x.verb = static_cast<proto::Verb>(p->proto->verb);
      x.payload = p->proto->payload;
      x.stable_payload = true;
    }
    slot->pending = std::move(p);
    slot->session->submit(x);  // may complete at once
  }

  void publish(int64_t now) {
    std::lock_guard lock(stats_mu_);
    if (reset_pending_) {
      reset_pending_ = false;
      current_->reset();
      second_->reset();
      totals_->reset();
      timeline_.clear();
      start_ns_ = now;
      started_unix_ms_ = unix_ms();
      second_index_ = 0;
    }
    int64_t second = (now - start_ns_) / 1'000'000'000;
    while (second_index_ < second) {  // the second ended: a timeline row
      timeline_.push_back(metrics::timeline_point(*second_, second_index_));
      totals_->merge(*second_);
      second_->reset();
      ++second_index_;
    }
    second_->merge(*current_);
    second_->vus = std::max<uint64_t>(second_->vus, vus_.size());
    current_->reset();
    ++publishes_;
    publish_now_ = false;
    published_.notify_all();
  }

  void run() {
    int64_t last_publish = 0;
    while (!stop_.load()) {
      std::vector<std::unique_ptr<Pending>> inbox;
      std::vector<uint32_t> forget;
      {
        std::lock_guard lock(in_mu_);
        inbox.swap(inbox_);
        forget.swap(forget_);
      }
      for (uint32_t vu : forget) vus_.erase(vu);
      retired_.clear();
      for (auto& p : std::exchange(again_, {})) start(std::move(p));
      for (auto& p : inbox) start(std::move(p));
      flush();
      loop_.poll(again_.empty() ? 10'000'000 : 0);
      flush();
      int64_t now = loop_.now();
      for (auto& [id, vu] : vus_) {
        for (auto& s : vu.slots) {
          if (s->pending) s->session->check_deadline(now);
        }
      }
      bool due;
      {
        std::lock_guard lock(stats_mu_);
        due = publish_now_ || now - last_publish >= kPublishNs;
      }
      if (due) {
        publish(now);
        last_publish = now;
      }
    }
  }

  void flush() {
    while (!flush_queue_.empty()) {
      std::vector<proto::Session*> q = std::exchange(flush_queue_, {});
      for (proto::Session* s : q) {
        if (s->flush_pending) s->flush();
      }
    }
  }

  ClientOptions options_;
  EventLoop loop_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  int wake_in_ = -1, wake_out_ = -1;
  std::mutex in_mu_;
  std::vector<std::unique_ptr<Pending>> inbox_;
  std::vector<uint32_t> forget_;
  std::mutex out_mu_;
  std::vector<ClientResponse> outbox_;
  std::vector<std::unique_ptr<Pending>> again_;  // redirects, sent on the next turn
  std::vector<proto::Session*> flush_queue_;
  std::vector<std::unique_ptr<proto::Session>> retired_;  // freed on the next turn
  std::vector<char> read_buf_;
  std::unique_ptr<TlsContext> tls_http_, tls_raw_;
  std::vector<std::pair<std::vector<std::string>, std::unique_ptr<TlsContext>>> tls_offers_;
  TlsSessionCache tls_cache_;
  std::vector<std::unique_ptr<Origin>> origins_;
  std::map<std::string, size_t> origin_index_;
  std::unordered_map<uint32_t, Vu> vus_;
  std::mt19937_64 rng_{std::random_device{}()};
  size_t next_address_ = 0;
  // Metrics: the loop records into current_; publish() moves it into the second and totals.
  std::unique_ptr<metrics::Shard> current_, second_, totals_;
  std::mutex stats_mu_;  // second_, totals_, timeline_, names_, start_ns_, the flags below
  std::condition_variable published_;
  uint64_t publishes_ = 0;
  bool publish_now_ = false, reset_pending_ = false;
  std::vector<metrics::TimelinePoint> timeline_;
  int64_t start_ns_ = 0, started_unix_ms_ = 0, second_index_ = 0;
  std::vector<std::pair<std::string, std::string>> names_;
  std::map<std::string, size_t> name_index_;
};

Client::Client(const ClientOptions& o) : loop_(std::make_unique<Loop>(o)) {}
Client::~Client() = default;
void Client::submit(ClientRequest r) { loop_->submit(std::move(r)); }
std::vector<ClientResponse> Client::take() { return loop_->take(); }
int Client::wake_fd() const { return loop_->wake_fd(); }
void Client::reset_stats() { loop_->reset_stats(); }
ClientStats Client::stats() { return loop_->stats(); }
void Client::forget_vu(uint32_t vu) { loop_->forget_vu(vu); }

}  // namespace spiker::engine
