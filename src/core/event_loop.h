// The one event loop: epoll (edge- or level-triggered, as each fd asks) whose user data is an
// IoHandler, a timer heap, and a clock that tests can replace. Used by the engine's workers,
// the embedded target and its echoes.
#pragma once

#include <cstdint>
#include <queue>
#include <vector>

#include "core/clock.h"
#include "core/io_handler.h"

namespace spiker {

class TimerHandler {
 public:
  // A timer set with add_timer(due, this, a, b) is due: `a` and `b` as given (a generation, an
  // id: stale timers are recognised by their owner, not cancelled in the heap).
  virtual void on_timer(uint64_t a, uint64_t b) noexcept = 0;

 protected:
  ~TimerHandler() = default;
};

class EventLoop {
 public:
  // `clock`: the monotonic clock when null.
  explicit EventLoop(const Clock* clock = nullptr) : clock_(clock) {}
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  bool open() noexcept;  // false when epoll cannot be made
  int epoll_fd() const noexcept { return epfd_; }
  int64_t now() const noexcept { return clock_ != nullptr ? clock_->now() : mono_now_ns(); }

  // Registers `fd` for `events` (EPOLLIN, EPOLLET, ...); returns 0 or errno.
  int add(int fd, uint32_t events, IoHandler* handler) noexcept;
  // Changes what `fd` waits for (level-triggered users arming EPOLLOUT); returns 0 or errno.
  int modify(int fd, uint32_t events, IoHandler* handler) noexcept;

  // Calls handler->on_timer(a, b) once the clock reaches `due_ns`.
  void add_timer(int64_t due_ns, TimerHandler* handler, uint64_t a, uint64_t b = 0);
  int64_t next_timer_ns() const noexcept { return timers_.empty() ? -1 : timers_.top().due_ns; }
  void clear_timers() noexcept { timers_ = {}; }
  // Fires every timer due at or before `t`, earliest first (a timer may add timers).
  void fire_timers(int64_t t) noexcept;

  // Waits up to `timeout_ns` for events (0: only polls) and dispatches them. Sleeps until
  // shortly before the timeout, then polls: timers wake on time, not late. Returns the number
  // of events handled.
  int poll(int64_t timeout_ns) noexcept;

 private:
  struct Timer {
    int64_t due_ns;
    TimerHandler* handler;
    uint64_t a, b;
    bool operator>(const Timer& o) const { return due_ns > o.due_ns; }
  };
  const Clock* clock_;
  int epfd_ = -1;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers_;
};

}  // namespace spiker
