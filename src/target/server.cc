#include "target/server.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <queue>
#include <random>
#include <unordered_map>

#include "core/clock.h"
#include "core/socket.h"

namespace spiker::target {
namespace {

struct Conn {
  int fd = -1;
  uint64_t generation = 0;
  std::string in;
  std::string out;
  size_t out_off = 0;
  std::string pending;       // a delayed response, sent when its timer fires
  bool waiting = false;      // a delayed response holds back the requests behind it
  bool close_after = false;  // close once `out` is written
  bool want_write = false;   // EPOLLOUT armed
};

struct Timer {
  int64_t due_ns;
  int fd;
  uint64_t generation;
  bool operator>(const Timer& o) const { return due_ns > o.due_ns; }
};

// One thread's loop: its listener, its connections, its timers.
class Loop {
 public:
  Loop(int listen_fd, RouteContext& ctx, std::atomic<bool>& stop)
      : listen_fd_(listen_fd), ctx_(ctx), stop_(stop), buf_(64 * 1024) {}

  void run() {
    epfd_ = epoll_create1(EPOLL_CLOEXEC);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = listen_fd_;
    epoll_ctl(epfd_, EPOLL_CTL_ADD, listen_fd_, &ev);
    epoll_event events[256];
    while (!stop_.load(std::memory_order_relaxed)) {
      int64_t now = mono_now_ns();
      int timeout_ms = 100;
      if (!timers_.empty()) {
        timeout_ms = static_cast<int>(
            std::clamp<int64_t>((timers_.top().due_ns - now + 999'999) / 1'000'000, 0, 100));
      }
      int n = epoll_wait(epfd_, events, 256, timeout_ms);
      for (int i = 0; i < n; ++i) {
        if (events[i].data.fd == listen_fd_) {
          accept_all();
        } else {
          on_event(events[i].data.fd, events[i].events);
        }
      }
      fire_timers(mono_now_ns());
    }
    for (auto& [fd, c] : conns_) ::close(fd);
    ::close(epfd_);
  }

 private:
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
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLRDHUP;
      ev.data.fd = fd;
      epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev);
    }
  }

  void on_event(int fd, uint32_t events) {
    auto it = conns_.find(fd);
    if (it == conns_.end()) return;
    Conn& c = it->second;
    if (events & EPOLLOUT) {
      if (!flush(c)) return;
    }
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
      for (;;) {
        ssize_t r = ::read(fd, buf_.data(), buf_.size());
        if (r > 0) {
          c.in.append(buf_.data(), static_cast<size_t>(r));
          if (static_cast<size_t>(r) < buf_.size()) break;
          continue;
        }
        if (r < 0 && errno == EINTR) continue;
        if (r < 0 && errno == EAGAIN) break;
        close_conn(c);  // EOF or error
        return;
      }
      process(c, mono_now_ns());
    }
  }

  // Answers the complete requests in `c.in`, in order.
  void process(Conn& c, int64_t now) {
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
      Response r = route(req, ctx_, now);
      bool keep = req.keep_alive;
      std::string wire = serialize(r, keep, req.method == "HEAD");
      if (!keep) c.close_after = true;
      int64_t due = std::max(now + r.delay_ms * 1'000'000,
                             ctx_.stall_until_ns.load(std::memory_order_relaxed));
      if (due > now) {
        c.pending = std::move(wire);
        c.waiting = true;
        timers_.push({due, c.fd, c.generation});
      } else {
        c.out += wire;
      }
    }
    c.in.erase(0, consumed);
    flush(c);
  }

  void fire_timers(int64_t now) {
    while (!timers_.empty() && timers_.top().due_ns <= now) {
      Timer t = timers_.top();
      timers_.pop();
      auto it = conns_.find(t.fd);
      if (it == conns_.end() || it->second.generation != t.generation) continue;
      Conn& c = it->second;
      int64_t stall = ctx_.stall_until_ns.load(std::memory_order_relaxed);
      if (stall > now) {  // the stall was extended meanwhile
        timers_.push({stall, t.fd, t.generation});
        continue;
      }
      c.out += c.pending;
      c.pending.clear();
      c.waiting = false;
      bool closing = c.close_after;
      if (!flush(c) || closing) continue;
      process(c, now);
    }
  }

  // Writes what it can; returns false when the connection was closed.
  bool flush(Conn& c) {
    while (c.out_off < c.out.size()) {
      ssize_t w = ::write(c.fd, c.out.data() + c.out_off, c.out.size() - c.out_off);
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
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP | (on ? EPOLLOUT : 0u);
    ev.data.fd = c.fd;
    epoll_ctl(epfd_, EPOLL_CTL_MOD, c.fd, &ev);
  }

  void close_conn(Conn& c) {
    int fd = c.fd;
    ::close(fd);
    conns_.erase(fd);
  }

  int listen_fd_;
  RouteContext& ctx_;
  std::atomic<bool>& stop_;
  int epfd_ = -1;
  uint64_t generation_ = 0;
  std::vector<char> buf_;
  std::unordered_map<int, Conn> conns_;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers_;
};

}  // namespace

Server::Server(const std::string& host, int port, int threads) {
  ctx_.secret = std::random_device{}() * 0x100000001ull ^ std::random_device{}();
  threads = std::max(1, threads);
  int first = listen_tcp(host, port, true);
  listeners_.push_back(first);
  port_ = local_port(first);
  for (int i = 1; i < threads; ++i) listeners_.push_back(listen_tcp(host, port_, true));
}

Server::~Server() {
  for (int fd : listeners_) ::close(fd);
}

void Server::run() {
  std::vector<std::thread> pool;
  for (int fd : listeners_) pool.emplace_back([this, fd] { serve_loop(fd); });
  for (auto& t : pool) t.join();
}

void Server::serve_loop(int listen_fd) {
  Loop loop(listen_fd, ctx_, stop_);
  loop.run();
}

}  // namespace spiker::target
