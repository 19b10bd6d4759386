// gRPC (grpc://host:port h2c, grpcs:// h2 by ALPN) over our HTTP/2 client, not libgrpc: a call
// is an HTTP/2 exchange (POST /pkg.Service/Method, content-type application/grpc, te: trailers,
// grpc-timeout, metadata) whose body is length-prefixed protobuf messages. The session sits
// between the worker and the http2 protocol's own session: it turns each exchange's JSON
// message into protobuf (libprotobuf, from --proto files or server reflection), hands the
// HTTP/2 session a request, times each message of a streamed reply as it arrives, and turns the
// reply back into an Outcome: grpc-status from the trailers (a name in status_codes), the reply
// as JSON for checks and extraction, gzip-compressed messages inflated.
// Unary, server streaming, client streaming (a JSON array: a message each) and bidirectional
// calls (the messages sent, then the replies read) all go over one stream per call.
#include <fmt/format.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "core/duration.h"
#include "core/error.h"
#include "core/json.h"
#include "core/strings.h"
#include "metrics/shard.h"
#include "proto/payload.h"
#include "proto/protocol.h"
#include "protocols/grpc/reflection.h"
#include "protocols/grpc/schema.h"
#include "protocols/grpc/wire.h"

namespace spiker::grpc {
namespace {

using metrics::ErrorKind;

constexpr char kSeparator = '\x1e';  // between metadata lines and the message in a payload
constexpr int kFirstStatus = 1;      // status slot of OK; slot = kFirstStatus + code
constexpr size_t kMaxReply = 8u << 20;

const metrics::StatBlock* g_stats = nullptr;
enum Counter : uint32_t {
  kCalls,
  kMessagesSent,
  kMessagesReceived,
  kCompressedReceived,
  kEncodeErrors,
  kCounterCount
};
constexpr const char* kCounterNames[] = {"calls", "messages_sent", "messages_received",
                                         "compressed_received", "encode_errors"};
static_assert(std::size(kCounterNames) == kCounterCount, "a name per counter");
enum Histogram : uint32_t { kStreamMessage };

void count(metrics::Shard& s, Counter c, uint64_t n = 1) { s.add(g_stats->counter(c), n); }

struct Request : plan::ProtocolRequest {
  std::shared_ptr<const Schema> schema;
  Method method;
  std::string authority;
  int64_t deadline_ns = 0;  // grpc-timeout; 0: the exchange's timeout
  bool compress = false;    // gzip the messages sent
  std::string fixed_body;   // the framed messages, when the message has no ${...}
  uint32_t fixed_messages = 0;
  bool message_fixed = false;  // fixed_body holds the messages
  bool constant = false;       // neither the message nor the metadata has ${...}
};

// The messages of a payload's JSON: one object, or an array of them (streaming requests).
bool encode_messages(const Request& r, std::string_view json, std::string* body, uint32_t* messages,
                     std::string* error) {
  body->clear();
  *messages = 0;
  std::string bytes, packed;
  auto add = [&](std::string_view one) {
    if (!r.schema->encode(r.method.input_type, one, &bytes, error)) return false;
    if (r.compress) {
      if (!gzip(bytes, &packed)) return false;
      frame(packed, true, body);
    } else {
      frame(bytes, false, body);
    }
    ++*messages;
    return true;
  };
  std::string_view t = trim(json);
  if (!t.starts_with("[")) return add(t.empty() ? "{}" : t);
  if (!r.method.client_streaming) {
    *error = "a list of messages needs a client-streaming method";
    return false;
  }
  nlohmann::json list = nlohmann::json::parse(t, nullptr, false);
  if (list.is_discarded() || !list.is_array()) {
    *error = "the message list is not valid JSON";
    return false;
  }
  for (const nlohmann::json& m : list) {
    if (!add(m.dump())) return false;
  }
  return true;
}

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
    if (!c->request->schema->decode(c->request->method.output_type, bytes, &one_, &error_)) {
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

std::shared_ptr<plan::ProtocolRequest> compile(const proto::RequestInput& in) {
  auto r = std::make_shared<Request>();
  r->action = 0;
  r->action_name = "grpc";
  r->verb = static_cast<uint8_t>(proto::Verb::kExchange);
  proto::RequestInput norm = in;
  for (proto::Option& o : norm.options) std::replace(o.key.begin(), o.key.end(), '-', '_');
  proto::reject_unknown(norm, {"call", "message", "metadata", "proto", "import_path", "reflect",
                               "deadline", "compression"});
  auto opt = [&](const char* key) { return proto::find_option(norm, key); };
  const proto::Option* call = opt("call");
  if (call == nullptr) {
    throw SetupError(fmt::format(
        "{}: a gRPC call needs --call package.Service/Method (call = \"...\" in a step)",
        in.where));
  }
  std::vector<std::string> files, paths;
  for (const proto::Option* o : proto::find_all(norm, "proto")) files.push_back(o->value);
  for (const proto::Option* o : proto::find_all(norm, "import_path")) paths.push_back(o->value);
  bool reflect_asked = opt("reflect") != nullptr && proto::bool_option(*opt("reflect"));
  if (!files.empty() && reflect_asked) {
    throw SetupError(fmt::format("{}: give --proto or --reflect, not both", in.where));
  }
  if (files.empty() && !reflect_asked) {
    throw SetupError(fmt::format(
        "{}: gRPC needs the messages' schema: --proto file.proto (with --import-path DIR) or "
        "--reflect true (the server's reflection service)",
        in.where));
  }
  // One schema per set of files or per server and service, shared by the steps that use it.
  static std::vector<std::pair<std::string, std::shared_ptr<const Schema>>> schemas;
  std::string key;
  if (reflect_asked) {
    std::string_view c = call->value;
    if (c.starts_with("/")) c.remove_prefix(1);
    size_t cut = c.find('/');
    std::string service(c.substr(0, cut == std::string_view::npos ? c.rfind('.') : cut));
    key = fmt::format("reflect {} {}", in.url.host_header, service);
    for (const auto& [k, s] : schemas) {
      if (k == key) r->schema = s;
    }
    if (!r->schema) {
      r->schema = Schema::from_descriptors(reflect(in.url, service, 5000, in.where), in.where);
    }
  } else {
    for (const std::string& f : files) key += f + '\n';
    key += '\x1f';
    for (const std::string& p : paths) key += p + '\n';
    for (const auto& [k, s] : schemas) {
      if (k == key) r->schema = s;
    }
    if (!r->schema) r->schema = Schema::from_files(files, paths, in.where);
  }
  if (std::none_of(schemas.begin(), schemas.end(), [&](const auto& e) { return e.first == key; })) {
    schemas.emplace_back(key, r->schema);
  }
  r->method = r->schema->method(call->value, in.where);
  r->authority = in.url.host_header;
  if (const proto::Option* o = opt("deadline")) {
    r->deadline_ns = parse_duration(o->value, o->where).count();
    if (r->deadline_ns <= 0) {
      throw SetupError(fmt::format("{}: deadline must be more than 0", o->where));
    }
  }
  if (const proto::Option* o = opt("compression")) {
    if (o->value != "gzip" && o->value != "identity" && o->value != "none") {
      throw SetupError(
          fmt::format("{}: compression is gzip or identity (got '{}')", o->where, o->value));
    }
    r->compress = o->value == "gzip";
  }
  const proto::Option* message = opt("message");
  if (message != nullptr && in.payload_given) {
    throw SetupError(fmt::format("{}: give the message once: message = or the body", in.where));
  }
  std::string json = message != nullptr ? message->value : in.payload_given ? in.payload : "{}";
  std::string lines;
  for (const proto::Option* m : proto::find_all(norm, "metadata")) {
    size_t colon = m->value.find(':');
    if (colon == std::string::npos || colon == 0) {
      throw SetupError(fmt::format("{}: metadata is 'name: value' (got '{}')", m->where, m->value));
    }
    std::string name(trim(std::string_view(m->value).substr(0, colon)));
    if (name.starts_with(":") || name.starts_with("grpc-")) {
      throw SetupError(fmt::format("{}: metadata cannot set {} (gRPC's own)", m->where, name));
    }
    lines += m->value + '\n';
  }
  for (const std::string* s : {&json, &lines}) {
    if (s->find(kSeparator) != std::string::npos) {
      throw SetupError(
          fmt::format("{}: the message and metadata cannot hold the byte 0x1e", in.where));
    }
  }
  r->payload = lines.empty() ? json : lines + kSeparator + json;
  r->payload_literal = false;
  if (json.find("${") == std::string::npos) {  // static: encoded now, its errors told now
    std::string error;
    if (!encode_messages(*r, json, &r->fixed_body, &r->fixed_messages, &error)) {
      throw SetupError(
          fmt::format("{}: the message is not a {}: {}", in.where, r->method.input_type, error));
    }
    r->message_fixed = true;
    r->constant = lines.find("${") == std::string::npos;
  }
  return r;
}

std::string describe(const plan::ProtocolRequest& pr) {
  const auto& r = static_cast<const Request&>(pr);
  const char* kind = r.method.client_streaming && r.method.server_streaming ? "bidirectional"
                     : r.method.client_streaming                            ? "client streaming"
                     : r.method.server_streaming                            ? "server streaming"
                                                                            : "unary";
  return fmt::format("call {} ({}), {} -> {}", r.method.path, kind, r.method.input_type,
                     r.method.output_type);
}

}  // namespace
}  // namespace spiker::grpc

void spiker_register_grpc() {
  using namespace spiker;
  metrics::StatBlockDef stats;
  stats.name = "grpc";
  stats.title = "gRPC";
  stats.counters.assign(std::begin(grpc::kCounterNames), std::end(grpc::kCounterNames));
  stats.histograms = {"stream_message"};
  stats.summary = {"calls", "messages_sent", "messages_received"};
  grpc::g_stats = &metrics::StatBlocks::add(std::move(stats));
  std::vector<std::string> names;
  for (int c = 0; c < grpc::kStatusCount; ++c) names.emplace_back(grpc::status_name(c));
  metrics::name_statuses(grpc::kFirstStatus, names);
  proto::Protocol p;
  p.name = "grpc";
  p.schemes = {"grpc", "grpcs"};
  p.tls_schemes = {"grpcs"};
  p.alpn = {"h2"};
  p.summary =
      "gRPC (grpc://host:port h2c, grpcs:// TLS): --proto F --call pkg.Service/Method -b JSON";
  p.label = "grpc";
  p.shared = true;
  p.flags = {{"call", "grpc: the method, package.Service/Method"},
             {"proto", "grpc: a .proto file with the service and its messages", true},
             {"import-path", "grpc: where the .proto files' imports are found", true},
             {"reflect", "grpc: true: ask the server's reflection service for the schema"},
             {"metadata", "grpc: a metadata header 'name: value' (templates allowed)", true},
             {"deadline", "grpc: the grpc-timeout sent (default: --timeout), e.g. 200ms"},
             {"compression", "grpc: gzip: compress the messages sent"}};
  p.actions = {{"grpc",
                proto::Verb::kExchange,
                {"call", "message", "metadata", "proto", "import_path", "reflect", "deadline",
                 "compression"},
                true,
                true}};
  p.stats = grpc::g_stats;
  p.compile = grpc::compile;
  p.make_session = [](proto::SessionHost& host,
                      const proto::SessionOptions& o) -> std::unique_ptr<proto::Session> {
    return std::make_unique<grpc::Session>(host, o);
  };
  p.describe = grpc::describe;
  proto::Registry::add(std::move(p));
}
