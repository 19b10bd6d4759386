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
#include "protocols/grpc/request.h"
#include "protocols/grpc/schema.h"
#include "protocols/grpc/wire.h"

namespace spiker::grpc {

const metrics::StatBlock* g_stats = nullptr;

constexpr const char* kCounterNames[] = {"calls", "messages_sent", "messages_received",
                                         "compressed_received", "encode_errors"};
static_assert(std::size(kCounterNames) == kCounterCount, "a name per counter");

bool encode_messages(const Request& r, std::string_view json, std::string* body, uint32_t* messages,
                     std::string* error) {
  body->clear();
  *messages = 0;
  std::string bytes, packed;
  auto add = [&](std::string_view one) {
    if (!r.schema) {
      bytes.assign(one);  // raw: the protobuf bytes as given
    } else if (!r.schema->encode(r.method.input_type, one, &bytes, error)) {
      return false;
    }
    if (r.compress) {
      if (!gzip(bytes, &packed)) return false;
      frame(packed, true, body);
    } else {
      frame(bytes, false, body);
    }
    ++*messages;
    return true;
  };
  if (!r.schema) return add(json);  // one message: bytes are not trimmed or parsed
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

namespace {

// The method and the messages' schema, from --proto files or the server's reflection.
void schema_method(Request& r, const proto::RequestInput& in, const std::string& call) {
  auto opt = [&](const char* key) { return proto::find_option(in, key); };
  std::vector<std::string> files, paths;
  for (const proto::Option* o : proto::find_all(in, "proto")) files.push_back(o->value);
  for (const proto::Option* o : proto::find_all(in, "import_path")) paths.push_back(o->value);
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
    std::string_view c = call;
    if (c.starts_with("/")) c.remove_prefix(1);
    size_t cut = c.find('/');
    std::string service(c.substr(0, cut == std::string_view::npos ? c.rfind('.') : cut));
    key = fmt::format("reflect {} {}", in.url.host_header, service);
    for (const auto& [k, s] : schemas) {
      if (k == key) r.schema = s;
    }
    if (!r.schema) {
      r.schema = Schema::from_descriptors(reflect(in.url, service, 5000, in.where), in.where);
    }
  } else {
    for (const std::string& f : files) key += f + '\n';
    key += '\x1f';
    for (const std::string& p : paths) key += p + '\n';
    for (const auto& [k, s] : schemas) {
      if (k == key) r.schema = s;
    }
    if (!r.schema) r.schema = Schema::from_files(files, paths, in.where);
  }
  if (std::none_of(schemas.begin(), schemas.end(), [&](const auto& e) { return e.first == key; })) {
    schemas.emplace_back(key, r.schema);
  }
  r.method = r.schema->method(call, in.where);
}

// Kaioken's gRPC: no schema; the body is the message's protobuf bytes as they are, and replies
// are kept as bytes. Unary, as far as the request goes (a reply may still stream).
void raw_method(Request& r, const proto::RequestInput& norm, std::string_view call) {
  for (const char* key : {"proto", "reflect", "import_path"}) {
    if (const proto::Option* o = proto::find_option(norm, key)) {
      throw SetupError(fmt::format("{}: raw messages have no schema: {} does not go with raw",
                                   o->where, o->key));
    }
  }
  if (call.starts_with("/")) call.remove_prefix(1);
  size_t slash = call.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == call.size()) {
    throw SetupError(
        fmt::format("{}: the call is package.Service/Method (got '{}')", norm.where, call));
  }
  r.method.path = "/" + std::string(call);
}

std::shared_ptr<plan::ProtocolRequest> compile(const proto::RequestInput& in) {
  auto r = std::make_shared<Request>();
  r->action = 0;
  r->action_name = "grpc";
  r->verb = static_cast<uint8_t>(proto::Verb::kExchange);
  proto::RequestInput norm = in;
  for (proto::Option& o : norm.options) std::replace(o.key.begin(), o.key.end(), '-', '_');
  proto::reject_unknown(norm, {"call", "message", "metadata", "proto", "import_path", "reflect",
                               "deadline", "compression", "raw"});
  auto opt = [&](const char* key) { return proto::find_option(norm, key); };
  const proto::Option* call = opt("call");
  if (call == nullptr) {
    throw SetupError(fmt::format(
        "{}: a gRPC call needs --call package.Service/Method (call = \"...\" in a step)",
        in.where));
  }
  if (opt("raw") != nullptr && proto::bool_option(*opt("raw"))) {
    raw_method(*r, norm, call->value);
  } else {
    schema_method(*r, norm, call->value);
  }
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
             {"compression", "grpc: gzip: compress the messages sent"},
             {"raw",
              "grpc: true: the body is the message's protobuf bytes, no schema "
              "(Kaioken's --grpc-service/--grpc-method)"}};
  p.actions = {{"grpc",
                proto::Verb::kExchange,
                {"call", "message", "metadata", "proto", "import_path", "reflect", "deadline",
                 "compression", "raw"},
                true,
                true}};
  p.stats = grpc::g_stats;
  p.compile = grpc::compile;
  p.make_session = grpc::make_session;
  p.describe = grpc::describe;
  proto::Registry::add(std::move(p));
}
