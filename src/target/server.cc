#include "target/server.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <queue>
#include <random>
#include <unordered_map>

#include "core/clock.h"
#include "core/event_loop.h"
#include "core/socket.h"
#include "core/strings.h"
#include "core/tls.h"
#include "protocols/websocket/codec.h"
#include "target/h2_server.h"

namespace spiker::target {
namespace {

constexpr std::string_view kH2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

class Loop;

// A connection's handler on the event loop: routes its events to the loop by fd and
// generation, so an event for a connection closed earlier in the same batch finds nothing.
struct ConnIo final : IoHandler {
  void on_io(uint32_t events) noexcept override;
  Loop* loop = nullptr;
  int fd = -1;
  uint64_t generation = 0;
};

struct Conn {
  enum class Mode : uint8_t { kDetect, kHttp1, kH2, kWs };
  ConnIo io;
  int fd = -1;
  uint64_t generation = 0;
  ssl_st* ssl = nullptr;
  bool handshaking = false;  // TLS handshake not done yet
  Mode mode = Mode::kDetect;
  std::string in;
  std::string out;
  size_t out_off = 0;
  std::string pending;       // HTTP/1.1: a delayed response, sent when its timer fires
  bool waiting = false;      // ... which holds back the requests behind it
  bool close_after = false;  // close once `out` is written
  bool want_write = false;   // EPOLLOUT armed
  std::unique_ptr<H2Server> h2;
  std::unordered_map<int32_t, std::pair<Response, bool>> h2_pending;  // delayed, by stream
  std::unique_ptr<websocket::Reader> ws;
};

// One thread's loop: its listener, its connections, its timers (on core's EventLoop).
class Loop final : IoHandler, TimerHandler {
 public:
  Loop(int listen_fd, RouteContext& ctx, std::atomic<bool>& stop, const TlsServerContext* tls,
       bool h2)
      : listen_fd_(listen_fd), ctx_(ctx), stop_(stop), tls_(tls), h2_(h2), buf_(64 * 1024) {}

  void run() {
    if (!loop_.open()) return;
    loop_.add(listen_fd_, EPOLLIN, this);
    while (!stop_.load(std::memory_order_relaxed)) {
      int64_t now = loop_.now();
      int64_t timeout = 100'000'000;
      if (loop_.next_timer_ns() >= 0) {
        timeout = std::clamp<int64_t>(loop_.next_timer_ns() - now, 0, timeout);
      }
      loop_.poll(timeout);
      reap();
      loop_.fire_timers(loop_.now());
      reap();
    }
    for (auto& [fd, c] : conns_) {
      if (c.fd < 0) continue;
      if (c.ssl != nullptr) tls_free(c.ssl);
      ::close(fd);
    }
  }

  // Events of connection `fd` (generation `generation`).
  void on_event(int fd, uint64_t generation, uint32_t events) {
    auto it = conns_.find(fd);
    if (it == conns_.end() || it->second.fd < 0 || it->second.generation != generation) return;
    on_conn_event(it->second, events);
  }

 private:
  void on_io(uint32_t) noexcept override { accept_all(); }  // the listener

  // A delayed response is due: `a` the connection's generation, `b` its fd and stream.
  void on_timer(uint64_t a, uint64_t b) noexcept override {
    fire(static_cast<int>(b >> 32), a, static_cast<int32_t>(b & 0xffffffffu), loop_.now());
  }
  void add_timer(int64_t due, int fd, uint64_t generation, int32_t stream) {
    loop_.add_timer(due, this, generation,
                    (static_cast<uint64_t>(fd) << 32) | static_cast<uint32_t>(stream));
  }

  // Connections closed during a batch of events are erased after it.
  void reap() {
    for (auto [fd, generation] : dead_) {
      auto it = conns_.find(fd);
      if (it != conns_.end() && it->second.fd < 0 && it->second.generation == generation) {
        conns_.erase(it);
      }
    }
    dead_.clear();
  }

  void accept_all() {
    for (;;) {
      int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      Conn& c = conns_[fd];
      c = Conn{};
      c.fd = fd;
      c.generation = ++generation_;
      c.io.loop = this;
      c.io.fd = fd;
      c.io.generation = c.generation;
      if (tls_ != nullptr) {
        c.ssl = tls_->new_session(fd);
        c.handshaking = true;
      }
      loop_.add(fd, EPOLLIN | EPOLLRDHUP, &c.io);
    }
  }

  void on_conn_event(Conn& c, uint32_t events) {
    if (c.handshaking) {
      handshake(c);
      return;
    }
    if (events & EPOLLOUT) {
      if (!flush(c)) return;
    }
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
      if (!read_all(c)) return;
      process(c, mono_now_ns());
    }
  }

  void handshake(Conn& c) {
    if (c.ssl == nullptr) {
      close_conn(c);
      return;
    }
    TlsIo r = tls_handshake(c.ssl);
    if (r == TlsIo::kWantRead) return;
    if (r == TlsIo::kWantWrite) {
      arm_write(c, true);
      return;
    }
    if (r != TlsIo::kDone) {
      close_conn(c);
      return;
    }
    c.handshaking = false;
    arm_write(c, false);
    if (tls_alpn(c.ssl) == "h2") start_h2(c);
    if (read_all(c)) process(c, mono_now_ns());  // data may have come with the handshake
  }

  // Reads what there is into c.in; false when the connection was closed.
  bool read_all(Conn& c) {
    for (;;) {
      size_t got = 0;
      if (c.ssl != nullptr) {
        TlsIo r = tls_read(c.ssl, buf_.data(), buf_.size(), &got);
        if (r == TlsIo::kWantRead || r == TlsIo::kWantWrite) return true;
        if (r != TlsIo::kDone) {
          close_conn(c);
          return false;
        }
      } else {
        ssize_t r = ::read(c.fd, buf_.data(), buf_.size());
        if (r < 0 && errno == EINTR) continue;
        if (r < 0 && errno == EAGAIN) return true;
        if (r <= 0) {
          close_conn(c);  // EOF or error
          return false;
        }
        got = static_cast<size_t>(r);
      }
      c.in.append(buf_.data(), got);
      if (c.ssl == nullptr && got < buf_.size()) return true;
    }
  }

  void start_h2(Conn& c) {
    c.mode = Conn::Mode::kH2;
    int fd = c.fd;
    uint64_t generation = c.generation;
    c.h2 = std::make_unique<H2Server>([this, fd, generation](int32_t stream, const Request& req) {
      auto it = conns_.find(fd);
      if (it == conns_.end() || it->second.fd < 0 || it->second.generation != generation) return;
      Conn& conn = it->second;
      int64_t now = mono_now_ns();
      Response r = route(req, ctx_, now);
      bool head = req.method == "HEAD";
      int64_t due = std::max(now + r.delay_ms * 1'000'000,
                             ctx_.stall_until_ns.load(std::memory_order_relaxed));
      if (due > now) {
        conn.h2_pending[stream] = {std::move(r), head};
        add_timer(due, fd, generation, stream);
      } else {
        conn.h2->respond(stream, r, head);
      }
    });
  }

  void process(Conn& c, int64_t now) {
    if (c.mode == Conn::Mode::kDetect) {
      // h2c with prior knowledge starts with the connection preface; anything else is HTTP/1.1.
      size_t n = std::min(c.in.size(), kH2Preface.size());
      if (h2_ && std::string_view(c.in).substr(0, n) == kH2Preface.substr(0, n)) {
        if (n < kH2Preface.size()) return;  // wait for the rest of the preface
        start_h2(c);
      } else {
        c.mode = Conn::Mode::kHttp1;
      }
    }
    switch (c.mode) {
      case Conn::Mode::kH2:
        process_h2(c);
        return;
      case Conn::Mode::kWs:
        process_ws(c);
        return;
      default:
        process_http1(c, now);
        return;
    }
  }

  void process_h2(Conn& c) {
    bool ok = c.h2->receive(c.in.data(), c.in.size());
    c.in.clear();
    c.h2->take_output(c.out);
    if (!ok || c.h2->finished()) c.close_after = true;
    flush(c);
  }

  // Answers the complete HTTP/1.1 requests in `c.in`, in order.
  void process_http1(Conn& c, int64_t now) {
    size_t consumed = 0;
    while (!c.waiting && !c.close_after) {
      Request req;
      size_t used = 0;
      ReadStatus st = read_request(std::string_view(c.in).substr(consumed), &req, &used);
      if (st == ReadStatus::kIncomplete) break;
      if (st == ReadStatus::kBad) {
        Response bad;
        bad.status = 400;
        bad.body = "bad request\n";
        c.out += serialize(bad, false, false);
        c.close_after = true;
        break;
      }
      consumed += used;
      if (req.path() == "/ws") {
        if (upgrade_ws(c, req)) {
          c.in.erase(0, consumed);
          process_ws(c);
          return;
        }
        continue;
      }
      Response r = route(req, ctx_, now);
      bool keep = req.keep_alive;
      std::string wire = serialize(r, keep, req.method == "HEAD");
      if (!keep) c.close_after = true;
      int64_t due = std::max(now + r.delay_ms * 1'000'000,
                             ctx_.stall_until_ns.load(std::memory_order_relaxed));
      if (due > now) {
        c.pending = std::move(wire);
        c.waiting = true;
        add_timer(due, c.fd, c.generation, 0);
      } else {
        c.out += wire;
      }
    }
    c.in.erase(0, consumed);
    flush(c);
  }

  // /ws: the WebSocket handshake (RFC 6455 4.2). Returns true when the connection is now a
  // WebSocket; otherwise an error response was queued.
  bool upgrade_ws(Conn& c, const Request& req) {
    std::string_view key = req.header("sec-websocket-key");
    bool upgrade = has_token(req.header("upgrade"), "websocket") &&
                   has_token(req.header("connection"), "upgrade") && req.method == "GET";
    if (!upgrade || key.empty() || req.header("sec-websocket-version") != "13") {
      Response r;
      r.status = upgrade ? 400 : 426;
      r.body =
          "/ws is a WebSocket echo: send a GET with Upgrade: websocket, Connection: "
          "Upgrade, Sec-WebSocket-Key and Sec-WebSocket-Version: 13\n";
      r.headers.emplace_back("Sec-WebSocket-Version", "13");
      if (!upgrade) r.headers.emplace_back("Upgrade", "websocket");
      c.out += serialize(r, req.keep_alive, false);
      if (!req.keep_alive) c.close_after = true;
      return false;
    }
    c.out += "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n";
    c.out += "Sec-WebSocket-Accept: " + websocket::accept_key(key) + "\r\n\r\n";
    c.mode = Conn::Mode::kWs;
    c.ws = std::make_unique<websocket::Reader>(true);
    return true;
  }

  // Echoes messages back as they were (text or binary), answers pings, and closes as asked.
  void process_ws(Conn& c) {
    c.ws->append(c.in.data(), c.in.size());
    c.in.clear();
    while (!c.close_after) {
      websocket::Event e = c.ws->next();
      if (e.kind == websocket::Event::kNone) break;
      switch (e.kind) {
        case websocket::Event::kMessage:
          websocket::append_frame(c.out, e.opcode, e.payload);
          break;
        case websocket::Event::kPing:
          websocket::append_frame(c.out, websocket::Opcode::kPong, e.payload);
          break;
        case websocket::Event::kClose:
          websocket::append_close(c.out, e.close_code == 1005 ? 0 : e.close_code, "");
          c.close_after = true;
          break;
        case websocket::Event::kError:
          websocket::append_close(c.out, websocket::kCloseProtocolError, e.error);
          c.close_after = true;
          break;
        default:
          break;
      }
    }
    flush(c);
  }

  void fire(int fd, uint64_t generation, int32_t stream, int64_t now) {
    auto it = conns_.find(fd);
    if (it == conns_.end() || it->second.fd < 0 || it->second.generation != generation) return;
    Conn& c = it->second;
    int64_t stall = ctx_.stall_until_ns.load(std::memory_order_relaxed);
    if (stall > now) {  // the stall was extended meanwhile
      add_timer(stall, fd, generation, stream);
      return;
    }
    if (stream != 0) {
      auto p = c.h2_pending.find(stream);
      if (p == c.h2_pending.end()) return;
      c.h2->respond(stream, p->second.first, p->second.second);
      c.h2_pending.erase(p);
      c.h2->take_output(c.out);
      flush(c);
      return;
    }
    c.out += c.pending;
    c.pending.clear();
    c.waiting = false;
    bool closing = c.close_after;
    if (!flush(c) || closing) return;
    process(c, now);
  }

  // Writes what it can; returns false when the connection was closed.
  bool flush(Conn& c) {
    while (c.out_off < c.out.size()) {
      const char* p = c.out.data() + c.out_off;
      size_t left = c.out.size() - c.out_off;
      if (c.ssl != nullptr) {
        size_t n = 0;
        TlsIo r = tls_write(c.ssl, p, left, &n);
        if (r == TlsIo::kDone) {
          c.out_off += n;
          continue;
        }
        if (r == TlsIo::kWantWrite || r == TlsIo::kWantRead) {
          arm_write(c, true);
          return true;
        }
        close_conn(c);
        return false;
      }
      ssize_t w = ::write(c.fd, p, left);
      if (w > 0) {
        c.out_off += static_cast<size_t>(w);
        continue;
      }
      if (w < 0 && errno == EINTR) continue;
      if (w < 0 && errno == EAGAIN) {
        arm_write(c, true);
        return true;
      }
      close_conn(c);
      return false;
    }
    c.out.clear();
    c.out_off = 0;
    arm_write(c, false);
    if (c.close_after && !c.waiting) {
      close_conn(c);
      return false;
    }
    return true;
  }

  void arm_write(Conn& c, bool on) {
    if (c.want_write == on) return;
    c.want_write = on;
    loop_.modify(c.fd, EPOLLIN | EPOLLRDHUP | (on ? EPOLLOUT : 0u), &c.io);
  }

  void close_conn(Conn& c) {
    if (c.fd < 0) return;
    if (c.ssl != nullptr) tls_free(c.ssl);
    c.ssl = nullptr;
    ::close(c.fd);
    dead_.emplace_back(c.fd, c.generation);
    c.fd = -1;  // erased after this batch of events (reap)
  }

  int listen_fd_;
  RouteContext& ctx_;
  std::atomic<bool>& stop_;
  const TlsServerContext* tls_;
  bool h2_;
  EventLoop loop_;
  std::vector<std::pair<int, uint64_t>> dead_;  // closed connections: fd, generation
  uint64_t generation_ = 0;
  std::vector<char> buf_;
  std::unordered_map<int, Conn> conns_;
};

void ConnIo::on_io(uint32_t events) noexcept { loop->on_event(fd, generation, events); }

}  // namespace

Server::Server(const ServerOptions& options) : options_(options) {
  ctx_.secret = std::random_device{}() * 0x100000001ull ^ std::random_device{}();
  int threads = std::max(1, options.threads);
  if (options.tls) {
    tls_ = std::make_unique<TlsServerContext>(options.cert, options.key, options.h2);
  }
  int first = listen_tcp(options.host, options.port, true);
  listeners_.push_back(first);
  port_ = local_port(first);
  for (int i = 1; i < threads; ++i) listeners_.push_back(listen_tcp(options.host, port_, true));
}

Server::~Server() {
  for (int fd : listeners_) ::close(fd);
}

std::string Server::certificate_pem() const { return tls_ ? tls_->certificate_pem() : ""; }

void Server::run() {
  std::vector<std::thread> pool;
  for (int fd : listeners_) pool.emplace_back([this, fd] { serve_loop(fd); });
  for (auto& t : pool) t.join();
}

void Server::serve_loop(int listen_fd) {
  Loop loop(listen_fd, ctx_, stop_, tls_.get(), options_.h2);
  loop.run();
}

}  // namespace spiker::target
