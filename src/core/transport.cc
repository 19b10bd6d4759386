#include "core/transport.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "core/socket.h"
#include "core/tls.h"

namespace spiker {
namespace {

// read(2) and write(2) without glibc's thread-cancellation bookkeeping around them (the
// workers are never cancelled): two fewer calls per request on the hot path.
ssize_t raw_read(int fd, char* buf, size_t cap) noexcept {
  return static_cast<ssize_t>(::syscall(SYS_read, fd, buf, cap));
}
ssize_t raw_write(int fd, const char* p, size_t len) noexcept {
  return static_cast<ssize_t>(::syscall(SYS_write, fd, p, len));
}

}  // namespace

int Transport::open(const SocketAddress& addr, Kind kind, int epoll_fd,
                    IoHandler* handler) noexcept {
  close();
  kind_ = kind;
  error_ = 0;
  int fd;
  if (kind == Kind::kUdp) {
    fd = ::socket(addr.storage.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
    if (fd < 0) return errno;
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr.storage), addr.len) != 0) {
      int err = errno;
      ::close(fd);
      return err;
    }
  } else {
    fd = start_connect(addr);
    if (fd < 0) return -fd;
  }
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLET | EPOLLRDHUP;
  ev.data.ptr = handler;
  if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev) != 0) {
    int err = errno;
    ::close(fd);
    return err;
  }
  fd_ = fd;
  phase_ = kind == Kind::kUdp ? Phase::kOpen : Phase::kConnecting;
  return 0;
}

Transport::Io Transport::progress(const TlsContext* tls, const std::string& host,
                                  TlsSessionCache* cache) noexcept {
  if (phase_ == Phase::kConnecting) {
    int err = socket_error(fd_);
    if (err != 0) {
      error_ = err;
      return Io::kError;
    }
    if (kind_ != Kind::kTls) {
      phase_ = Phase::kOpen;
      return Io::kOk;
    }
    ssl_ = tls->new_session(fd_, host, cache);
    if (ssl_ == nullptr) {
      error_ = ENOMEM;
      return Io::kError;
    }
    tls_in_ = tls_out_ = 0;
    phase_ = Phase::kHandshaking;
  }
  if (phase_ == Phase::kHandshaking) {
    TlsIo r = tls_handshake(ssl_);
    if (r == TlsIo::kWantRead || r == TlsIo::kWantWrite) return Io::kAgain;
    if (r != TlsIo::kDone) {
      error_ = kTlsError;
      return Io::kError;
    }
    phase_ = Phase::kOpen;
  }
  return phase_ == Phase::kOpen ? Io::kOk : Io::kError;
}

Transport::Io Transport::read_tls(char* buf, size_t cap, size_t* got) noexcept {
  *got = 0;
  TlsIo r = tls_read(ssl_, buf, cap, got);
  if (r == TlsIo::kWantRead || r == TlsIo::kWantWrite) return Io::kAgain;
  if (r == TlsIo::kEof) return Io::kEof;
  if (r == TlsIo::kError) error_ = kTlsError;
  return r == TlsIo::kDone ? Io::kOk : Io::kError;
}

Transport::Io Transport::read_plain(char* buf, size_t cap, size_t* got) noexcept {
  *got = 0;
  for (;;) {
    ssize_t n = raw_read(fd_, buf, cap);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      if (errno == EAGAIN) return Io::kAgain;
      error_ = errno;
      return Io::kError;
    }
    // A zero-length datagram is a datagram, not an end.
    if (n == 0 && kind_ != Kind::kUdp) return Io::kEof;
    *got = static_cast<size_t>(n);
    in_ += *got;
    return Io::kOk;
  }
}

Transport::Io Transport::write_tls(const char* p, size_t len, size_t* wrote) noexcept {
  *wrote = 0;
  TlsIo r = tls_write(ssl_, p, len, wrote);
  if (r == TlsIo::kWantRead || r == TlsIo::kWantWrite) return Io::kAgain;
  if (r != TlsIo::kDone) error_ = kTlsError;
  return r == TlsIo::kDone ? Io::kOk : Io::kError;
}

Transport::Io Transport::write_plain(const char* p, size_t len, size_t* wrote) noexcept {
  *wrote = 0;
  for (;;) {
    ssize_t n = raw_write(fd_, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      if (errno == EAGAIN) return Io::kAgain;
      error_ = errno;
      return Io::kError;
    }
    *wrote = static_cast<size_t>(n);
    out_ += *wrote;
    return Io::kOk;
  }
}

bool Transport::resumed() const { return ssl_ != nullptr && tls_resumed(ssl_); }
std::string_view Transport::alpn() const {
  return ssl_ != nullptr ? tls_alpn(ssl_) : std::string_view();
}

void Transport::take_tls_bytes(uint64_t* in, uint64_t* out) noexcept {
  uint64_t r = 0, w = 0;
  tls_wire_bytes(ssl_, &r, &w);
  *in = r - tls_in_;
  *out = w - tls_out_;
  tls_in_ = r;
  tls_out_ = w;
}

void Transport::close() noexcept {
  if (ssl_ != nullptr) {
    tls_free(ssl_);
    ssl_ = nullptr;
  }
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  phase_ = Phase::kClosed;
}

}  // namespace spiker
