// Server reflection (grpc.reflection.v1alpha and v1 ServerReflection/ServerReflectionInfo):
// before the run, one blocking h2c connection asks the server for the file that defines a
// service, then for every file it imports that the answers left out. Our HTTP/2 codec
// (protocols/http2/session.h) frames it; the messages are built and read by hand (they have
// four fields that matter).
#include "protocols/grpc/reflection.h"

#include <fmt/format.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <set>

#include "core/clock.h"
#include "core/error.h"
#include "core/resolver.h"
#include "core/socket.h"
#include "protocols/grpc/wire.h"
#include "protocols/http2/session.h"

namespace spiker::grpc {
namespace {

// One call's reply, gathered.
struct Reply final : http2::Listener {
  bool closed = false;
  uint32_t reset = 0;
  int http_status = 0;
  std::string grpc_status, grpc_message, body;
  bool wants_headers(void*) override { return true; }
  void on_h2_header(void*, std::string_view name, std::string_view value) override {
    if (name == ":status") http_status = std::atoi(std::string(value).c_str());
    if (name == "grpc-status") grpc_status = value;
    if (name == "grpc-message") grpc_message = percent_decode(value);
  }
  void on_h2_data(void*, const char* data, size_t len) override { body.append(data, len); }
  void on_h2_close(void*, uint32_t error_code, bool) override {
    closed = true;
    reset = error_code;
  }
  void on_h2_goaway(int32_t, uint32_t) override {}
};

class Connection {
 public:
  Connection(const Url& url, int timeout_ms, const std::string& where)
      : url_(url), where_(where), deadline_ns_(now_ns() + timeout_ms * 1'000'000LL) {
    std::vector<SocketAddress> addrs = resolve(url.host, url.port);
    for (const SocketAddress& a : addrs) {
      int fd = start_connect(a);
      if (fd < 0) continue;
      pollfd p{fd, POLLOUT, 0};
      if (::poll(&p, 1, remaining_ms()) == 1 && socket_error(fd) == 0) {
        fd_ = fd;
        break;
      }
      ::close(fd);
    }
    if (fd_ < 0) {
      throw SetupError(
          fmt::format("{}: --reflect could not connect to {}:{}", where_, url.host, url.port));
    }
  }
  ~Connection() {
    if (fd_ >= 0) ::close(fd_);
  }

  // One unary-like call on the bidirectional method: a request, the replies.
  Reply call(std::string_view path, std::string_view request) {
    Reply reply;
    http2::Session session(reply, 1u << 24);
    std::string body;
    frame(request, false, &body);
    http2::Request r;
    r.headers = {{":method", "POST"},
                 {":scheme", "http"},
                 {":path", std::string(path)},
                 {":authority", url_.host_header},
                 {"content-type", "application/grpc"},
                 {"te", "trailers"}};
    r.body = body;
    if (session.submit(r, &reply, false) < 0) fail("the HTTP/2 stream could not be opened");
    std::string out;
    char buf[16384];
    while (!reply.closed) {
      out.clear();
      if (!session.take_output(out, 1u << 20)) fail("HTTP/2 error");
      for (size_t off = 0; off < out.size();) {
        ssize_t n = ::send(fd_, out.data() + off, out.size() - off, MSG_NOSIGNAL);
        if (n > 0) {
          off += static_cast<size_t>(n);
          continue;
        }
        if (n < 0 && errno != EAGAIN) fail("the connection broke");
        pollfd p{fd_, POLLOUT, 0};
        if (::poll(&p, 1, remaining_ms()) != 1) fail("timed out");
      }
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, remaining_ms()) != 1) fail("timed out");
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n == 0 || (n < 0 && errno != EAGAIN)) fail("the server closed the connection");
      if (n > 0 && !session.receive(buf, static_cast<size_t>(n))) fail("HTTP/2 error");
    }
    return reply;
  }

  [[noreturn]] void fail(std::string_view what) {
    throw SetupError(fmt::format("{}: --reflect: {}", where_, what));
  }

 private:
  int remaining_ms() {
    int64_t left = (deadline_ns_ - now_ns()) / 1'000'000;
    return left > 0 ? static_cast<int>(left) : 0;
  }
  static int64_t now_ns() { return mono_now_ns(); }

  const Url& url_;
  const std::string& where_;
  int64_t deadline_ns_;
  int fd_ = -1;
};

// A FileDescriptorProto's name and dependencies (fields 1 and 3).
void name_and_deps(std::string_view fdp, std::string* name, std::vector<std::string>* deps) {
  std::vector<Field> fields;
  if (!read_fields(fdp, &fields)) return;
  for (const Field& f : fields) {
    if (f.number == 1 && f.wire_type == 2) *name = f.bytes;
    if (f.number == 3 && f.wire_type == 2) deps->emplace_back(f.bytes);
  }
}

}  // namespace

std::vector<std::string> reflect(const Url& url, std::string_view service, int timeout_ms,
                                 const std::string& where) {
  if (url.scheme != "grpc") {
    throw SetupError(fmt::format(
        "{}: --reflect asks over h2c (grpc://); for {}:// give the schema: --proto FILE", where,
        url.scheme));
  }
  Connection conn(url, timeout_ms, where);
  std::string path;
  std::vector<std::string> files;
  std::set<std::string> have, asked;
  std::vector<std::string> wanted;
  // ServerReflectionRequest: file_containing_symbol = 4, file_by_filename = 3.
  auto ask = [&](uint32_t field, std::string_view what) {
    std::string request;
    put_string_field(field, what, &request);
    Reply reply;
    for (const char* p : {"/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
                          "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"}) {
      if (!path.empty() && path != p) continue;
      reply = conn.call(p, request);
      if (reply.http_status == 200 && reply.grpc_status != "12") {  // not UNIMPLEMENTED
        path = p;
        break;
      }
    }
    if (path.empty() || (reply.grpc_status != "0" && !reply.grpc_status.empty())) {
      conn.fail(fmt::format("the server has no reflection service ({} {})",
                            status_name(std::atoi(reply.grpc_status.c_str())), reply.grpc_message));
    }
    std::vector<Frame> frames;
    if (!unframe(reply.body, &frames) || frames.empty()) conn.fail("no reply");
    for (const Frame& fr : frames) {
      std::vector<Field> fields;
      if (fr.compressed || !read_fields(fr.bytes, &fields)) conn.fail("a reply does not parse");
      for (const Field& f : fields) {
        if (f.number == 7 && f.wire_type == 2) {  // error_response
          std::vector<Field> err;
          std::string message;
          if (read_fields(f.bytes, &err)) {
            for (const Field& e : err) {
              if (e.number == 2) message = e.bytes;
            }
          }
          conn.fail(fmt::format("the server knows no {} ({})", what, message));
        }
        if (f.number != 4 || f.wire_type != 2) continue;  // file_descriptor_response
        std::vector<Field> fds;
        if (!read_fields(f.bytes, &fds)) conn.fail("a reply does not parse");
        for (const Field& fd : fds) {
          if (fd.number != 1) continue;
          std::string name;
          std::vector<std::string> deps;
          name_and_deps(fd.bytes, &name, &deps);
          if (!have.insert(name).second) continue;
          files.emplace_back(fd.bytes);
          for (std::string& d : deps) wanted.push_back(std::move(d));
        }
      }
    }
  };
  ask(4, service);
  while (!wanted.empty()) {
    std::string next = std::move(wanted.back());
    wanted.pop_back();
    // Well-known types come from the library when the server does not send them.
    if (have.count(next) != 0 || !asked.insert(next).second) continue;
    if (next.starts_with("google/protobuf/")) continue;
    ask(3, next);
  }
  return files;
}

}  // namespace spiker::grpc
