#include "core/transport.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "core/base64.h"
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

// SOCKS5 CONNECT to a domain name: version 5, command 1, reserved, address type 3, the
// length-prefixed name, the port in network order.
void socks_connect_request(const Tunnel& t, std::string& out) {
  out.assign("\x05\x01\x00\x03", 4);
  out += static_cast<char>(std::min<size_t>(t.host.size(), 255));
  out += t.host.substr(0, 255);
  out += static_cast<char>(t.port >> 8);
  out += static_cast<char>(t.port & 0xff);
}

}  // namespace

int Transport::open(const SocketAddress& addr, Kind kind, int epoll_fd, IoHandler* handler,
                    const Tunnel* tunnel) noexcept {
  close();
  kind_ = kind;
  error_ = 0;
  tunnel_ = kind == Kind::kUdp ? nullptr : tunnel;
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
    if (tunnel_ != nullptr) {
      phase_ = Phase::kTunneling;
      tunnel_in_.clear();
      tunnel_sent_ = 0;
      tunnel_stage_ = 0;
      const Tunnel& t = *tunnel_;
      if (t.kind == Tunnel::Kind::kHttpConnect) {
        std::string authority = t.host.find(':') != std::string::npos
                                    ? "[" + t.host + "]:" + std::to_string(t.port)
                                    : t.host + ":" + std::to_string(t.port);
        tunnel_out_ = "CONNECT " + authority + " HTTP/1.1\r\nHost: " + authority + "\r\n";
        if (!t.user.empty()) {
          tunnel_out_ +=
              "Proxy-Authorization: Basic " + base64_encode(t.user + ":" + t.password) + "\r\n";
        }
        tunnel_out_ += "\r\n";
      } else {  // version 5; no authentication, or user/password when we have one
        tunnel_out_ =
            t.user.empty() ? std::string("\x05\x01\x00", 3) : std::string("\x05\x02\x00\x02", 4);
      }
    } else if (Io r = after_connect(tls, host, cache); r != Io::kOk) {
      return r;
    }
  }
  if (phase_ == Phase::kTunneling) {
    Io r = tunnel_step();
    if (r != Io::kOk) return r;
    if (Io a = after_connect(tls, host, cache); a != Io::kOk) return a;
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

Transport::Io Transport::after_connect(const TlsContext* tls, const std::string& host,
                                       TlsSessionCache* cache) noexcept {
  tunnel_out_.clear();
  tunnel_in_.clear();
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
  return Io::kOk;
}

Transport::Io Transport::tunnel_step() noexcept {
  auto fail = [&] {
    error_ = kProxyError;
    return Io::kError;
  };
  for (;;) {
    while (tunnel_sent_ < tunnel_out_.size()) {
      size_t wrote = 0;
      Io w =
          write_plain(tunnel_out_.data() + tunnel_sent_, tunnel_out_.size() - tunnel_sent_, &wrote);
      if (w != Io::kOk) return w;
      tunnel_sent_ += wrote;
    }
    // What the proxy has said so far decides the next move.
    const Tunnel& t = *tunnel_;
    const auto* in = reinterpret_cast<const unsigned char*>(tunnel_in_.data());
    size_t have = tunnel_in_.size();
    bool need_more = false;
    if (t.kind == Tunnel::Kind::kHttpConnect) {
      size_t end = tunnel_in_.find("\r\n\r\n");
      if (end == std::string::npos) {
        if (have > 16384) return fail();
        need_more = true;
      } else {
        // "HTTP/1.1 200 Connection established": any 2xx opens the tunnel.
        if (have < 12 || tunnel_in_.compare(0, 5, "HTTP/") != 0 || tunnel_in_[9] != '2') {
          return fail();
        }
        return end + 4 == have ? Io::kOk : fail();  // nothing may follow before we speak
      }
    } else if (tunnel_stage_ == 0) {  // the method the proxy chose
      if (have < 2) {
        need_more = true;
      } else if (in[0] != 5 || (in[1] != 0 && !(in[1] == 2 && !t.user.empty()))) {
        return fail();
      } else {
        bool auth = in[1] == 2;
        tunnel_in_.erase(0, 2);
        tunnel_sent_ = 0;
        tunnel_stage_ = auth ? 1 : 2;
        if (auth) {  // RFC 1929: version 1, then the user and the password, each length-prefixed
          tunnel_out_ = "\x01";
          for (const std::string* field : {&t.user, &t.password}) {
            tunnel_out_ += static_cast<char>(std::min<size_t>(field->size(), 255));
            tunnel_out_ += field->substr(0, 255);
          }
        } else {
          socks_connect_request(t, tunnel_out_);
        }
        continue;
      }
    } else if (tunnel_stage_ == 1) {  // user/password accepted?
      if (have < 2) {
        need_more = true;
      } else if (in[1] != 0) {
        return fail();
      } else {
        tunnel_in_.erase(0, 2);
        tunnel_stage_ = 2;
        socks_connect_request(t, tunnel_out_);
        tunnel_sent_ = 0;
        continue;
      }
    } else {  // the connect reply: 5, status, 0, address type, address, port
      if (have < 5) {
        need_more = true;
      } else {
        if (in[0] != 5 || in[1] != 0) return fail();
        size_t addr = in[3] == 1 ? 4 : in[3] == 4 ? 16 : in[3] == 3 ? 1 + in[4] : 0;
        if (addr == 0) return fail();
        if (have < 4 + addr + 2) {
          need_more = true;
        } else {
          return have == 4 + addr + 2 ? Io::kOk : fail();
        }
      }
    }
    if (!need_more) return fail();
    char buf[512];
    size_t got = 0;
    Io r = read_plain(buf, sizeof buf, &got);
    if (r == Io::kEof) return fail();
    if (r != Io::kOk) return r;
    tunnel_in_.append(buf, got);
  }
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
