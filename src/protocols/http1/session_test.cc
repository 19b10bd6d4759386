// The HTTP/1.1 session against a scripted server on loopback, driven by a real EventLoop and a
// test host that records every Outcome: pipelining, close-delimited bodies, the one resend on a
// kept connection the server closed, and bytes nobody asked for.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <exception>
#include <string>
#include <vector>

#include "core/resolver.h"
#include "core/socket.h"
#include "metrics/shard.h"
#include "proto/protocol.h"

void spiker_register_http1();

namespace spiker::http1 {
namespace {

constexpr int64_t kSec = 1'000'000'000;

class Host final : public proto::SessionHost {
 public:
  Host() {
    loop_.open();
    host_loop_ = &loop_;
    host_shard_ = &shard_;
    host_read_buffer_ = &buf_;
  }
  uint64_t random() noexcept override { return 4; }
  const SocketAddress& next_address(const proto::Endpoint& e) noexcept override {
    return e.addresses->front();
  }
  void defer_flush(proto::Session&) noexcept override {}
  void complete(proto::Session&, const proto::Outcome& o) noexcept override {
    outcomes.push_back(o);
  }
  // Runs the loop until `n` outcomes came (or 5 s passed).
  void until(size_t n) {
    int64_t end = loop_.now() + 5 * kSec;
    while (outcomes.size() < n && loop_.now() < end) loop_.poll(10'000'000);
  }
  void poll_once() { loop_.poll(1'000'000); }
  std::vector<proto::Outcome> outcomes;
  std::unique_ptr<metrics::Shard> shard_ = std::make_unique<metrics::Shard>();

 private:
  EventLoop loop_;
  std::vector<char> buf_ = std::vector<char>(64 * 1024);
};

// A listening socket; accept() gives the server side of each connection.
// A listening socket on a port below 32768 (outside the ephemeral range, as every test server).
int listen_below_32768() {
  for (int port = 20000 + static_cast<int>(getpid() % 10000);; port = 10000 + (port + 7) % 22000) {
    try {
      return listen_tcp("127.0.0.1", port, false);
    } catch (const std::exception&) {
      continue;  // taken: the next one
    }
  }
}

struct Server {
  int fd = listen_below_32768();
  std::vector<SocketAddress> addresses =
      resolve("127.0.0.1", static_cast<uint16_t>(local_port(fd)));
  ~Server() { ::close(fd); }
  // The next connection, the client's loop run meanwhile (it may have to notice a close first).
  int accept_one(Host& host) {
    for (int i = 0; i < 2000; ++i) {
      int c = ::accept(fd, nullptr, nullptr);
      if (c >= 0) return c;
      host.poll_once();
    }
    return -1;
  }
};

// What the server side received: at least `want` bytes, the client's loop run meanwhile (it
// writes only when its loop turns); "" after 5 s.
std::string receive(Host& host, int fd, size_t want) {
  std::string got;
  for (int i = 0; i < 5000 && got.size() < want; ++i) {
    host.poll_once();
    char buf[4096];
    ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) got.append(buf, static_cast<size_t>(n));
  }
  return got;
}

void say(int fd, const std::string& s) {
  ASSERT_EQ(::write(fd, s.data(), s.size()), static_cast<ssize_t>(s.size()));
}

struct Fixture {
  Server server;
  Host host;
  proto::SessionOptions options;
  std::unique_ptr<proto::Session> session;
  Fixture() {
    spiker_register_http1();
    options.endpoint.addresses = &server.addresses;
    options.endpoint.host = "127.0.0.1";
    session = proto::Registry::by_scheme("http")->make_session(host, options);
  }
  void send(std::string_view wire, uint16_t count = 1) {
    proto::Exchange x;
    x.payload = wire;
    x.stable_payload = true;
    x.count = count;
    x.timeout_ns = 5 * kSec;
    session->submit(x);
  }
};

const std::string kGet = "GET / HTTP/1.1\r\nHost: t\r\n\r\n";
const std::string kOk = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

TEST(Http1Session, PipelinedRequestsGetAnOutcomeEach) {
  Fixture f;
  std::string three = kGet + kGet + kGet;
  f.send(three, 3);
  int c = f.server.accept_one(f.host);
  ASSERT_GE(c, 0);
  EXPECT_EQ(receive(f.host, c, three.size()), three);
  say(c, kOk + "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n" + kOk);
  f.host.until(3);
  ASSERT_EQ(f.host.outcomes.size(), 3u);
  EXPECT_EQ(f.host.outcomes[0].status, 200);
  EXPECT_EQ(f.host.outcomes[1].status, 404);
  EXPECT_EQ(f.host.outcomes[2].status, 200);
  EXPECT_TRUE(f.session->connected());
  ::close(c);
}

TEST(Http1Session, CloseDelimitedBodyEndsWithTheConnection) {
  Fixture f;
  f.send(kGet);
  int c = f.server.accept_one(f.host);
  ASSERT_GE(c, 0);
  EXPECT_EQ(receive(f.host, c, kGet.size()), kGet);
  say(c, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nbody without a length");
  ::close(c);
  f.host.until(1);
  ASSERT_EQ(f.host.outcomes.size(), 1u);
  EXPECT_TRUE(f.host.outcomes[0].ok);
  EXPECT_EQ(f.host.outcomes[0].status, 200);
  EXPECT_FALSE(f.session->connected());
}

TEST(Http1Session, AKeptConnectionTheServerClosedIsTriedOnceMore) {
  Fixture f;
  f.send(kGet);
  int c1 = f.server.accept_one(f.host);
  ASSERT_GE(c1, 0);
  EXPECT_EQ(receive(f.host, c1, kGet.size()), kGet);
  say(c1, kOk);
  f.host.until(1);
  ASSERT_EQ(f.host.outcomes.size(), 1u);
  ::close(c1);  // the server drops the kept connection; the client has not seen it yet
  f.send(kGet);
  int c2 = f.server.accept_one(f.host);  // the request comes again on a new connection
  ASSERT_GE(c2, 0) << f.host.outcomes.size() << " outcomes";
  EXPECT_EQ(receive(f.host, c2, kGet.size()), kGet);
  say(c2, kOk);
  f.host.until(2);
  ASSERT_EQ(f.host.outcomes.size(), 2u);
  EXPECT_TRUE(f.host.outcomes[1].ok);
  EXPECT_EQ(f.host.shard_->connections_opened, 2u);
  ::close(c2);
}

TEST(Http1Session, BytesNobodyAskedForCloseTheIdleConnection) {
  Fixture f;
  f.send(kGet);
  int c = f.server.accept_one(f.host);
  ASSERT_GE(c, 0);
  EXPECT_EQ(receive(f.host, c, kGet.size()), kGet);
  say(c, kOk);
  f.host.until(1);
  ASSERT_EQ(f.host.outcomes.size(), 1u);
  EXPECT_TRUE(f.session->connected());
  say(c, "HTTP/1.1 200 OK\r\n");  // a response to nothing
  for (int i = 0; i < 200 && f.session->connected(); ++i) f.host.poll_once();
  EXPECT_FALSE(f.session->connected());   // the next request connects anew
  EXPECT_EQ(f.host.outcomes.size(), 1u);  // and nothing is reported
  ::close(c);
}

}  // namespace
}  // namespace spiker::http1
