#include "core/event_loop.h"

#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>

namespace spiker {
namespace {

constexpr int kMaxEvents = 256;
// Timers closer than this are waited for by polling, not sleeping: a sleep wakes late.
constexpr int64_t kSpinNs = 50'000;

}  // namespace

EventLoop::~EventLoop() {
  if (epfd_ >= 0) ::close(epfd_);
}

bool EventLoop::open() noexcept {
  if (epfd_ < 0) epfd_ = epoll_create1(EPOLL_CLOEXEC);
  return epfd_ >= 0;
}

int EventLoop::add(int fd, uint32_t events, IoHandler* handler) noexcept {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = handler;
  return epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) == 0 ? 0 : errno;
}

int EventLoop::modify(int fd, uint32_t events, IoHandler* handler) noexcept {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = handler;
  return epoll_ctl(epfd_, EPOLL_CTL_MOD, fd, &ev) == 0 ? 0 : errno;
}

void EventLoop::add_timer(int64_t due_ns, TimerHandler* handler, uint64_t a, uint64_t b) {
  timers_.push({due_ns, handler, a, b});
}

void EventLoop::fire_timers(int64_t t) noexcept {
  while (!timers_.empty() && timers_.top().due_ns <= t) {
    Timer x = timers_.top();
    timers_.pop();
    x.handler->on_timer(x.a, x.b);
  }
}

int EventLoop::poll(int64_t timeout_ns) noexcept {
  epoll_event events[kMaxEvents];
  int64_t sleep_ns = clock_ == nullptr && timeout_ns > kSpinNs ? timeout_ns - kSpinNs : 0;
  timespec ts{static_cast<time_t>(sleep_ns / 1'000'000'000),
              static_cast<long>(sleep_ns % 1'000'000'000)};
  int n = epoll_pwait2(epfd_, events, kMaxEvents, &ts, nullptr);
  if (n < 0 && errno == ENOSYS) {  // kernels before 5.11: millisecond sleeps
    n = epoll_wait(epfd_, events, kMaxEvents, static_cast<int>(sleep_ns / 1'000'000));
  }
  for (int i = 0; i < n; ++i) {
    static_cast<IoHandler*>(events[i].data.ptr)->on_io(events[i].events);
  }
  return n < 0 ? 0 : n;
}

}  // namespace spiker
