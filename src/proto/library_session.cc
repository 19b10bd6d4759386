#include "proto/library_session.h"

#include <sys/epoll.h>

#include <cerrno>

#include "core/socket.h"
#include "metrics/shard.h"

namespace spiker::proto {

bool LibrarySession::take(const Exchange& x) {
  request_ = x.request;
  payload_.assign(x.payload.data(), x.payload.size());
  count_ = x.count > 0 ? x.count : 1;
  reported_ = 0;
  capture_ = x.capture;
  timeout_ns_ = x.timeout_ns;
  busy_ = true;
  started_ns_ = 0;
  deadline_ns_ = 0;
  if (x.verb != Verb::kClose) return true;
  close();
  started();
  report_ok(0, {});
  return false;
}

void LibrarySession::started() noexcept {
  started_ns_ = host_.now();
  if (timeout_ns_ > 0) deadline_ns_ = started_ns_ + timeout_ns_;
}

void LibrarySession::one_done() noexcept {
  if (++reported_ < count_) return;
  busy_ = false;
  deadline_ns_ = 0;
  if (++exchanges_ % 64 == 0) account();
  ended();
}

void LibrarySession::report_ok(int64_t rows, std::string_view body) noexcept {
  Outcome o;
  int64_t now = host_.now();
  o.sent_ns = started_ns_ != 0 ? started_ns_ : now;
  o.done_ns = now;
  plan::CapturedResponse parts;
  parts.body = body;
  parts.rows = rows;
  o.parts = &parts;
  one_done();
  host_.complete(*this, o);
}

void LibrarySession::report_refused(std::string_view code, std::string_view message) noexcept {
  Outcome o;
  o.refused = true;
  int64_t now = host_.now();
  o.sent_ns = started_ns_ != 0 ? started_ns_ : now;
  o.done_ns = now;
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) {
    message.remove_suffix(1);
  }
  plan::CapturedResponse parts;
  parts.body = message;
  parts.headers.emplace_back("error", code);
  o.parts = &parts;
  one_done();
  host_.complete(*this, o);
}

void LibrarySession::fail_remaining(metrics::ErrorKind kind) noexcept {
  if (!busy_) return;
  int64_t now = host_.now();
  // Counted before: an Outcome may submit the next exchange from inside complete().
  for (int left = count_ - reported_; left > 0; --left) {
    Outcome o;
    o.ok = false;
    o.error = kind;
    o.sent_ns = started_ns_ != 0 ? started_ns_ : now;
    o.done_ns = now;
    if (left == 1) {
      busy_ = false;
      deadline_ns_ = 0;
    }
    host_.complete(*this, o);
  }
}

void LibrarySession::watch(int fd, uint32_t events) noexcept {
  int ep = host_.epoll_fd();
  if (fd != fd_) {
    if (fd_ >= 0) epoll_ctl(ep, EPOLL_CTL_DEL, fd_, nullptr);
    fd_ = fd;
    watched_ = 0;
    bytes_in_ = bytes_out_ = 0;
    if (fd < 0) return;
    epoll_event ev{};
    ev.events = events | EPOLLRDHUP;
    ev.data.ptr = static_cast<IoHandler*>(this);
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    watched_ = ev.events;
    return;
  }
  if (fd < 0 || (events | EPOLLRDHUP) == watched_) return;
  epoll_event ev{};
  ev.events = events | EPOLLRDHUP;
  ev.data.ptr = static_cast<IoHandler*>(this);
  // A socket the library closed and opened again under the same number left the epoll set.
  if (epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev) != 0 && errno == ENOENT) {
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  }
  watched_ = ev.events;
}

void LibrarySession::account() noexcept {
  uint64_t out = 0, in = 0;
  if (fd_ < 0 || !tcp_byte_counts(fd_, &out, &in)) return;
  metrics::Shard& s = host_.shard();
  s.bytes_received += in - bytes_in_;
  s.bytes_sent += out - bytes_out_;
  bytes_in_ = in;
  bytes_out_ = out;
}

}  // namespace spiker::proto
