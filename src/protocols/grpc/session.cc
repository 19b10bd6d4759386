// The gRPC session: between the worker and the http2 protocol's session (whose host it is),
// it makes each call's HTTP/2 request, times the messages of a streamed reply as they arrive,
// and turns the reply into an Outcome (see grpc.cc for the protocol as a whole).
#include <fmt/format.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "core/strings.h"
#include "core/url.h"
#include "metrics/shard.h"
#include "proto/protocol.h"
#include "protocols/grpc/request.h"
#include "protocols/grpc/wire.h"

namespace spiker::grpc {
namespace {

using metrics::ErrorKind;

constexpr size_t kMaxReply = 8u << 20;

class Session final : public proto::Session, private proto::SessionHost {
 public:
  Session(proto::SessionHost& host, const proto::SessionOptions& options)
      : host_(host), options_(options) {
    mirror(host);
    options_.endpoint.scheme = options.endpoint.tls != nullptr ? "https" : "http";
    inner_ = proto::Registry::by_name("http2")->make_session(*this, options_);
  }
  ~Session() override { inner_.reset(); }

  size_t capacity() const noexcept override { return inner_->capacity(); }
  bool connected() const noexcept override { return inner_->connected(); }
  int64_t deadline_ns() const noexcept override { return inner_->deadline_ns(); }
  void on_io(uint32_t events) noexcept override { inner_->on_io(events); }
  void check_deadline(int64_t now) noexcept override { inner_->check_deadline(now); }
  void flush() noexcept override {
    flush_pending = false;
    inner_->flush();
  }
  void close() noexcept override {
    inner_->close();
    for (auto& c : calls_) {
      if (c->live) release(c.get());
    }
  }
  void cancel(void* owner) noexcept override {
    for (auto& c : calls_) {
      if (!c->live || c->owner != owner) continue;
      inner_->cancel(c.get());
      release(c.get());
    }
  }

  void submit(const proto::Exchange& x) noexcept override;

 private:
  struct Call {
    bool live = false;
    void* owner = nullptr;
    const Request* request = nullptr;
    bool capture = false;
    plan::HttpMessage message;  // dynamic requests
    FrameCounter counter;
    int64_t last_ns = 0;  // the request sent, then the last message received
  };
  // A static request's HTTP/2 message, made once per session (the http2 session keeps its
  // header block by the message's address).
  struct Fixed {
    const Request* request = nullptr;
    int64_t timeout_ns = 0;
    plan::HttpMessage message;
  };

  Call* acquire() {
    for (auto& c : calls_) {
      if (!c->live) {
        c->live = true;
        return c.get();
      }
    }
    calls_.push_back(std::make_unique<Call>());
    calls_.back()->live = true;
    return calls_.back().get();
  }
  void release(Call* c) { c->live = false; }

  void head(const Request& r, int64_t timeout_ns, plan::HttpMessage& m) {
    m.method = "POST";
    m.target = r.method.path;
    m.authority = r.authority;
    m.length = false;
    m.headers.clear();
    m.headers.emplace_back("content-type", "application/grpc");
    m.headers.emplace_back("te", "trailers");
    m.headers.emplace_back("user-agent", "loadspiker-grpc");
    m.headers.emplace_back("grpc-accept-encoding", "identity,gzip");
    if (r.compress) m.headers.emplace_back("grpc-encoding", "gzip");
    int64_t deadline = r.deadline_ns > 0 ? r.deadline_ns : timeout_ns;
    if (deadline > 0) m.headers.emplace_back("grpc-timeout", timeout_header(deadline));
  }

  // Metadata lines ("name: value") before the separator.
  static void metadata(std::string_view lines, plan::HttpMessage& m) {
    while (!lines.empty()) {
      size_t nl = lines.find('\n');
      std::string_view line = lines.substr(0, nl);
      lines = nl == std::string_view::npos ? std::string_view() : lines.substr(nl + 1);
      size_t colon = line.find(':');
      if (colon == std::string_view::npos) continue;
      std::string name(trim(line.substr(0, colon)));
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      m.headers.emplace_back(std::move(name), std::string(trim(line.substr(colon + 1))));
    }
  }

  const plan::HttpMessage& fixed(const Request& r, std::string_view lines, int64_t timeout_ns) {
    for (const auto& f : fixed_) {
      if (f->request == &r && f->timeout_ns == timeout_ns) return f->message;
    }
    auto f = std::make_unique<Fixed>();
    f->request = &r;
    f->timeout_ns = timeout_ns;
    head(r, timeout_ns, f->message);
    metadata(lines, f->message);
    f->message.body = r.fixed_body;
    fixed_.push_back(std::move(f));
    return fixed_.back()->message;
  }

  void fail(Call* c, ErrorKind kind) noexcept {
    proto::Outcome o;
    o.ok = false;
    o.error = kind;
    o.sent_ns = o.done_ns = host_.now();
    o.owner = c->owner;
    release(c);
    host_.complete(*this, o);
  }

  // SessionHost, for the HTTP/2 session.
  uint64_t random() noexcept override { return host_.random(); }
  const SocketAddress& next_address(const proto::Endpoint& e) noexcept override {
    return host_.next_address(e);
  }
  void defer_flush(proto::Session& /*inner*/) noexcept override {
    if (flush_pending) return;
    flush_pending = true;
    host_.defer_flush(*this);
  }
  void on_partial(void* owner, std::string_view data) noexcept override {
    Call& c = *static_cast<Call*>(owner);
    uint32_t n = c.counter.feed(data);
    if (n == 0) return;
    if (!c.request->method.server_streaming) return;
    int64_t now = host_.now();
    metrics::Shard& s = host_.shard();
    for (uint32_t i = 0; i < n; ++i) {
      s.block_histogram(g_stats->histogram(kStreamMessage)).record((now - c.last_ns) / 1000);
      c.last_ns = now;
    }
  }
  void complete(proto::Session& /*inner*/, const proto::Outcome& in) noexcept override;

  proto::SessionHost& host_;
  proto::SessionOptions options_;  // the worker's, with the scheme HTTP/2 writes
  std::unique_ptr<proto::Session> inner_;
  std::vector<std::unique_ptr<Call>> calls_;
  std::vector<std::unique_ptr<Fixed>> fixed_;
  std::string encoded_, error_;
  // The reply as checks read it.
  std::string json_, one_, inflated_;
  std::vector<Frame> frames_;
  std::string status_name_;
};

void Session::submit(const proto::Exchange& x) noexcept {
  const auto& r = static_cast<const Request&>(*x.request);
  Call* c = acquire();
  c->owner = x.owner;
  c->request = &r;
  c->capture = x.capture;
  c->counter.reset();
  c->last_ns = host_.now();
  std::string_view payload = x.payload;
  size_t cut = payload.find(kSeparator);
  std::string_view lines = cut == std::string_view::npos ? "" : payload.substr(0, cut);
  std::string_view json = cut == std::string_view::npos ? payload : payload.substr(cut + 1);
  proto::Exchange h = x;
  h.owner = c;
  h.capture = true;  // grpc-status is in the trailers
  h.payload = {};
  h.request = nullptr;
  uint32_t messages = r.fixed_messages;
  if (r.constant) {  // no ${...}: the request made once
    h.message = &fixed(r, lines, x.timeout_ns);
    h.constant = true;
  } else {
    if (r.message_fixed) {  // only the metadata has ${...}
      c->message.body = r.fixed_body;
    } else if (encode_messages(r, json, &encoded_, &messages, &error_)) {
      c->message.body = encoded_;
    } else {
      count(host_.shard(), kEncodeErrors);
      fail(c, ErrorKind::kOther);
      return;
    }
    head(r, x.timeout_ns, c->message);
    metadata(lines, c->message);
    h.message = &c->message;
    h.constant = false;
  }
  h.stable_payload = true;
  metrics::Shard& s = host_.shard();
  count(s, kCalls);
  count(s, kMessagesSent, messages);
  inner_->submit(h);
}

void Session::complete(proto::Session& /*inner*/, const proto::Outcome& in) noexcept {
  Call* c = static_cast<Call*>(in.owner);
  proto::Outcome o = in;
  o.owner = c->owner;
  if (!in.ok || in.parts == nullptr) {
    release(c);
    host_.complete(*this, o);
    return;
  }
  metrics::Shard& s = host_.shard();
  const plan::CapturedResponse& p = *in.parts;
  auto find = [&](std::string_view name) -> std::string_view {
    for (const auto& [k, v] : p.trailers) {
      if (k == name) return v;
    }
    for (const auto& [k, v] : p.headers) {
      if (k == name) return v;
    }
    return {};
  };
  int code = 0;
  std::string message;
  std::string_view status = find("grpc-status");
  if (p.status != 200) {
    code = status_from_http(p.status);
    message = fmt::format("HTTP status {}", p.status);
  } else if (status.empty()) {
    code = 13;  // INTERNAL: a reply without a status
    message = "no grpc-status in the reply";
  } else {
    code = 0;
    for (char ch : status) {
      code = ch >= '0' && ch <= '9' && code < 1000 ? code * 10 + (ch - '0') : 1000;
    }
    if (code >= kStatusCount) code = 2;  // UNKNOWN: a status gRPC does not define
    message = percent_decode(find("grpc-message"));
  }
  bool gzipped = find("grpc-encoding") == "gzip";
  json_.clear();
  if (!unframe(p.body, &frames_)) {
    if (code == 0) code = 13, message = "a message cut short";
    frames_.clear();
  }
  count(s, kMessagesReceived, frames_.size());
  bool streamed = c->request->method.server_streaming;
  if (c->capture) json_ = streamed ? "[" : "";
  for (const Frame& f : frames_) {
    std::string_view bytes = f.bytes;
    if (f.compressed) {
      count(s, kCompressedReceived);
      if (!gzipped || !gunzip(bytes, kMaxReply, &inflated_)) {
        if (code == 0) code = 13, message = "a compressed message that does not inflate";
        break;
      }
      bytes = inflated_;
    }
    if (!c->capture) continue;
    if (!c->request->schema) {  // raw: the reply's bytes as they are
      one_.assign(bytes);
    } else if (!c->request->schema->decode(c->request->method.output_type, bytes, &one_, &error_)) {
      if (code == 0) code = 13, message = "a reply that does not parse: " + error_;
      break;
    }
    if (streamed && json_.size() > 1) json_ += ',';
    json_ += one_;
  }
  if (c->capture && streamed) json_ += ']';
  o.status = kFirstStatus + code;
  o.refused = code != 0;
  plan::CapturedResponse out;
  if (c->capture) {
    status_name_ = status_name(code);
    out.status = p.status;
    out.headers = p.headers;
    out.trailers = p.trailers;
    out.headers.emplace_back("grpc_status", status_name_);
    if (!message.empty()) out.headers.emplace_back("grpc_message", message);
    if (code != 0) out.headers.emplace_back("error", status_name_);
    out.body = json_;
    o.parts = &out;
  } else {
    o.parts = nullptr;
  }
  release(c);
  host_.complete(*this, o);
}

}  // namespace

std::unique_ptr<proto::Session> make_session(proto::SessionHost& host,
                                             const proto::SessionOptions& o) {
  return std::make_unique<Session>(host, o);
}

}  // namespace spiker::grpc
