// What an event loop's epoll user data points at: the object that handles the fd's events.
// Connections, HTTP/2 links and protocol sessions all are one; no tagged pointers.
#pragma once

#include <cstdint>

namespace spiker {

class IoHandler {
 public:
  // `events`: the epoll event mask (EPOLLIN, EPOLLOUT, EPOLLRDHUP, EPOLLERR, EPOLLHUP).
  virtual void on_io(uint32_t events) noexcept = 0;

 protected:
  ~IoHandler() = default;
};

}  // namespace spiker
