// MongoDB (mongodb://user:pass@host:port/db, default 27017): OP_MSG commands over our own
// transport, documents built and read with libbson (libmongoc has no non-blocking API). A
// request is one command on a collection: find (a filter), insert (a document), update (a
// filter and an update), aggregate (a pipeline) or any command (--command '{"ping": 1}'), each
// written as JSON with templates rendered per request. A URL with a user authenticates each new
// connection with SCRAM-SHA-256 (saslStart / saslContinue against authSource, default admin).
// Found documents become a JSON array (first batch) for checks and extraction; a reply with
// ok: 0 or write errors is a refused request whose "error" is the server's code ("11000").
#include <bson/bson.h>
#include <fmt/format.h>
#include <sys/epoll.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <iterator>
#include <string>
#include <vector>

#include "core/base64.h"
#include "core/error.h"
#include "core/url.h"
#include "metrics/shard.h"
#include "proto/payload.h"
#include "proto/protocol.h"
#include "proto/transport_session.h"
#include "protocols/mongo/reply.h"
#include "protocols/mongo/scram.h"

namespace spiker::mongo {
namespace {

using metrics::ErrorKind;
using proto::Verb;

constexpr char kSeparator = '\x1f';  // between a rendered request's JSON fields
constexpr int32_t kOpMsg = 2013;

const metrics::StatBlock* g_stats = nullptr;
enum Counter : uint32_t {
  kCommands,
  kDocumentsReturned,
  kDocumentsWritten,
  kAuthentications,
  kErrors,
  kErrDuplicateKey,
  kErrAuth,
  kErrOther,
  kProtocolErrors,
  kCounterCount
};
constexpr const char* kCounterNames[] = {
    "commands",        "documents_returned", "documents_written",
    "authentications", "server_errors",      "errors_11000_duplicate_key",
    "errors_auth",     "errors_other",       "protocol_errors"};
static_assert(std::size(kCounterNames) == kCounterCount, "a name per counter");

enum class Op : uint8_t { kFind, kInsert, kUpdate, kAggregate, kCommand };
constexpr const char* kOpKeys[] = {"find", "insert", "update", "aggregate", "command"};

struct Request : plan::ProtocolRequest {
  Op op = Op::kFind;
  std::string collection, database, user, password, auth_source;
  int64_t limit = 0;  // find: 0 = the server's first batch
  // The payload: the operation's JSON, then (update) the filter's.
};

void put_i32(std::string& out, int32_t v) {
  auto u = static_cast<uint32_t>(v);
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((u >> (8 * i)) & 0xff));
}

int32_t get_i32(const char* p) {
  uint32_t u = 0;
  for (int i = 0; i < 4; ++i)
    u |= static_cast<uint32_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return static_cast<int32_t>(u);
}

// Parses `json` (an object or an array) and appends it to `doc` as `key`; false when it is
// not JSON.
bool append_json(bson_t* doc, const char* key, std::string_view json) {
  std::string wrapped = "{\"v\":";
  wrapped.append(json);
  wrapped += '}';
  bson_t parsed;
  bson_error_t err;
  if (!bson_init_from_json(&parsed, wrapped.data(), static_cast<ssize_t>(wrapped.size()), &err)) {
    return false;
  }
  bson_iter_t it;
  bool ok = bson_iter_init_find(&it, &parsed, "v") &&
            bson_append_value(doc, key, -1, bson_iter_value(&it));
  bson_destroy(&parsed);
  return ok;
}

class Session final : public proto::TransportSession {
 public:
  using TransportSession::TransportSession;

  void close() noexcept override {
    authed_ = false;
    TransportSession::close();
  }

 protected:
  void on_failure(ErrorKind) noexcept override { authed_ = false; }

  void start() noexcept override {
    const auto& r = static_cast<const Request&>(*exchange_.request);
    request_ = &r;
    in_.clear();
    if (!authed_ && !r.user.empty()) {
      sasl_start();
      return;
    }
    send_command();
  }

  void on_events(uint32_t events) noexcept override {
    if ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) != 0 && busy() && out_off_ < out_.size()) {
      if (!write_payload()) return;
      if (!transport_.is_open()) return;
    }
    if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP)) != 0) read();
  }

  void timed_out() noexcept override {
    in_.clear();
    fail(ErrorKind::kTimeout);  // closes: a late reply must not answer the next command
  }

 private:
  enum class Auth : uint8_t { kNone, kStarted, kContinued, kFinal };

  // Writes `cmd` as one OP_MSG (flags 0, one body section).
  bool write_message(const bson_t* cmd) noexcept {
    wire_.clear();
    put_i32(wire_, static_cast<int32_t>(16 + 4 + 1 + cmd->len));
    request_id_ = (request_id_ + 1) & 0x7fffffff;  // positive, wrapping
    put_i32(wire_, request_id_);
    put_i32(wire_, 0);
    put_i32(wire_, kOpMsg);
    put_i32(wire_, 0);
    wire_.push_back(0);
    wire_.append(reinterpret_cast<const char*>(bson_get_data(cmd)), cmd->len);
    out_ = wire_;
    out_off_ = 0;
    return write_payload();
  }

  void send_command() noexcept {
    const Request& r = *request_;
    std::string_view p = out_;  // the rendered payload (TransportSession's copy)
    size_t sep = p.find(kSeparator);
    std::string_view main = p.substr(0, sep);
    std::string_view filter = sep == std::string_view::npos ? "{}" : p.substr(sep + 1);
    bson_t cmd = BSON_INITIALIZER;
    bool ok = true;
    const char* coll = r.collection.c_str();
    switch (r.op) {
      case Op::kFind:
        BSON_APPEND_UTF8(&cmd, "find", coll);
        ok = append_json(&cmd, "filter", main.empty() ? "{}" : main);
        if (r.limit > 0) BSON_APPEND_INT64(&cmd, "limit", r.limit);
        break;
      case Op::kInsert: {
        BSON_APPEND_UTF8(&cmd, "insert", coll);
        bson_t docs;
        BSON_APPEND_ARRAY_BEGIN(&cmd, "documents", &docs);
        ok = append_json(&docs, "0", main);
        bson_append_array_end(&cmd, &docs);
        break;
      }
      case Op::kUpdate: {
        BSON_APPEND_UTF8(&cmd, "update", coll);
        bson_t updates, one;
        BSON_APPEND_ARRAY_BEGIN(&cmd, "updates", &updates);
        BSON_APPEND_DOCUMENT_BEGIN(&updates, "0", &one);
        ok = append_json(&one, "q", filter.empty() ? "{}" : filter) && append_json(&one, "u", main);
        bson_append_document_end(&updates, &one);
        bson_append_array_end(&cmd, &updates);
        break;
      }
      case Op::kAggregate: {
        BSON_APPEND_UTF8(&cmd, "aggregate", coll);
        ok = append_json(&cmd, "pipeline", main);
        bson_t cursor;
        BSON_APPEND_DOCUMENT_BEGIN(&cmd, "cursor", &cursor);
        bson_append_document_end(&cmd, &cursor);
        break;
      }
      case Op::kCommand: {
        std::string json(main);
        bson_error_t err;
        bson_destroy(&cmd);
        ok = bson_init_from_json(&cmd, json.data(), static_cast<ssize_t>(json.size()), &err);
        if (!ok) bson_init(&cmd);
        break;
      }
    }
    if (ok && !bson_has_field(&cmd, "$db")) BSON_APPEND_UTF8(&cmd, "$db", r.database.c_str());
    if (!ok) {
      bson_destroy(&cmd);
      give_up(ErrorKind::kOther);  // a rendered document that is not JSON: nothing sent
      return;
    }
    auth_ = Auth::kNone;
    host_.shard().add(g_stats->counter(kCommands));
    bool written = write_message(&cmd);
    bson_destroy(&cmd);
    if (written) try_reply();
  }

  void sasl_start() noexcept {
    const Request& r = *request_;
    uint64_t a = host_.random(), b = host_.random();
    std::string raw(reinterpret_cast<const char*>(&a), 8);
    raw.append(reinterpret_cast<const char*>(&b), 8);
    nonce_ = base64_encode(raw);
    std::string user;  // '=' and ',' escaped in SCRAM names
    for (char c : r.user) {
      if (c == '=') {
        user += "=3D";
      } else if (c == ',') {
        user += "=2C";
      } else {
        user += c;
      }
    }
    first_bare_ = "n=" + user + ",r=" + nonce_;
    std::string first = "n,," + first_bare_;
    bson_t cmd = BSON_INITIALIZER;
    BSON_APPEND_INT32(&cmd, "saslStart", 1);
    BSON_APPEND_UTF8(&cmd, "mechanism", "SCRAM-SHA-256");
    BSON_APPEND_BINARY(&cmd, "payload", BSON_SUBTYPE_BINARY,
                       reinterpret_cast<const uint8_t*>(first.data()),
                       static_cast<uint32_t>(first.size()));
    BSON_APPEND_INT32(&cmd, "autoAuthorize", 1);
    bson_t opts;
    BSON_APPEND_DOCUMENT_BEGIN(&cmd, "options", &opts);
    BSON_APPEND_BOOL(&opts, "skipEmptyExchange", true);
    bson_append_document_end(&cmd, &opts);
    BSON_APPEND_UTF8(&cmd, "$db", r.auth_source.c_str());
    auth_ = Auth::kStarted;
    host_.shard().add(g_stats->counter(kAuthentications));
    payload_copy_.assign(out_.data(), out_.size());  // the command's payload, for after
    bool written = write_message(&cmd);
    bson_destroy(&cmd);
    if (written) try_reply();
  }

  // One step of the SCRAM conversation, from the server's reply; false: authentication failed
  // (counted and reported).
  void sasl_step(const bson_t* reply) noexcept {
    bson_iter_t it;
    const uint8_t* data = nullptr;
    uint32_t len = 0;
    bson_subtype_t sub;
    int32_t conversation = 0;
    if (bson_iter_init_find(&it, reply, "conversationId")) conversation = bson_iter_int32(&it);
    if (bson_iter_init_find(&it, reply, "payload") && BSON_ITER_HOLDS_BINARY(&it)) {
      bson_iter_binary(&it, &sub, &len, &data);
    }
    bool done = bson_iter_init_find(&it, reply, "done") && bson_iter_as_bool(&it);
    std::string_view server(reinterpret_cast<const char*>(data), data != nullptr ? len : 0);
    std::string next;
    if (auth_ == Auth::kStarted) {
      if (!scram_final(first_bare_, server, nonce_, request_->password, &next,
                       &server_signature_)) {
        auth_failed("18", "SCRAM: the server's first message is not valid");
        return;
      }
      auth_ = Auth::kContinued;
    } else if (auth_ == Auth::kContinued) {
      if (scram_field(server, 'v') != server_signature_) {
        auth_failed("18", "SCRAM: the server's signature does not match");
        return;
      }
      if (done) {
        authed_ = true;
        out_ = payload_copy_;
        send_command();
        return;
      }
      auth_ = Auth::kFinal;  // an empty message closes the conversation
    } else {
      authed_ = true;
      out_ = payload_copy_;
      send_command();
      return;
    }
    bson_t cmd = BSON_INITIALIZER;
    BSON_APPEND_INT32(&cmd, "saslContinue", 1);
    BSON_APPEND_INT32(&cmd, "conversationId", conversation);
    BSON_APPEND_BINARY(&cmd, "payload", BSON_SUBTYPE_BINARY,
                       reinterpret_cast<const uint8_t*>(next.data()),
                       static_cast<uint32_t>(next.size()));
    BSON_APPEND_UTF8(&cmd, "$db", request_->auth_source.c_str());
    bool written = write_message(&cmd);
    bson_destroy(&cmd);
    if (written) try_reply();
  }

  void auth_failed(std::string_view code, std::string_view message) noexcept {
    metrics::Shard& s = host_.shard();
    s.add(g_stats->counter(kErrors));
    s.add(g_stats->counter(kErrAuth));
    auth_ = Auth::kNone;
    in_.clear();
    transport_.close();  // the connection is not authenticated: a new one tries again
    refuse(code, message);
  }

  void read() noexcept {
    read_stream(in_, true, [this] { try_reply(); });
  }

  void try_reply() noexcept {
    int32_t response_to = 0;
    std::string_view document;
    size_t len = parse_op_msg(in_, &response_to, &document);
    if (len == 0) return;
    if (len == SIZE_MAX) {  // not an OP_MSG reply: the connection cannot be trusted
      in_.clear();
      host_.shard().add(g_stats->counter(kProtocolErrors));
      fail(ErrorKind::kProtocol);
      return;
    }
    if (!busy() || response_to != request_id_) {
      in_.erase(0, len);  // a late reply to a timed-out command
      return;
    }
    std::string message(document);  // the reply outlives in_ below
    in_.erase(0, len);
    bson_t reply;
    if (!bson_init_static(&reply, reinterpret_cast<const uint8_t*>(message.data()),
                          message.size())) {
      in_.clear();
      host_.shard().add(g_stats->counter(kProtocolErrors));
      fail(ErrorKind::kProtocol);
      return;
    }
    if (auth_ != Auth::kNone) {
      Reply r;
      read_reply(message, false, false, false, &r);
      if (!r.ok) {
        auth_failed(std::to_string(r.code), r.message);
        return;
      }
      sasl_step(&reply);
      return;
    }
    handle(message);
  }

  void handle(std::string_view document) noexcept {
    Reply& r = reply_;
    read_reply(document, exchange_.capture, request_->op != Op::kCommand,
               request_->op == Op::kCommand, &r);
    if (!r.ok) {
      count_error(r.code);
      refuse(std::to_string(r.code), r.message);
      return;
    }
    metrics::Shard& s = host_.shard();
    if (r.rows >= 0) {
      s.add(g_stats->counter(r.batch ? kDocumentsReturned : kDocumentsWritten),
            static_cast<uint64_t>(r.rows));
    }
    proto::Outcome o;
    o.done_ns = host_.now();
    plan::CapturedResponse parts;
    parts.body = r.body;
    parts.rows = r.rows;
    o.parts = &parts;
    complete_one(o, true);
  }

  void count_error(int32_t code) noexcept {
    metrics::Shard& s = host_.shard();
    s.add(g_stats->counter(kErrors));
    s.add(g_stats->counter(code == 11000              ? kErrDuplicateKey
                           : code == 18 || code == 13 ? kErrAuth
                                                      : kErrOther));
  }

  const Request* request_ = nullptr;
  int32_t request_id_ = 0;
  Auth auth_ = Auth::kNone;
  bool authed_ = false;
  std::string nonce_, first_bare_, server_signature_, payload_copy_;
  std::string wire_, in_;
  Reply reply_;
};

const std::vector<std::string> kKeys = {"collection", "find",      "insert",  "update",
                                        "filter",     "aggregate", "command", "limit"};

std::shared_ptr<plan::ProtocolRequest> compile(const proto::RequestInput& in) {
  proto::reject_unknown(in, kKeys);
  auto r = std::make_shared<Request>();
  r->verb = static_cast<uint8_t>(Verb::kExchange);
  r->action = 0;
  r->action_name = "mongo";
  const proto::Option* given = nullptr;
  for (size_t i = 0; i < std::size(kOpKeys); ++i) {
    const proto::Option* o = proto::find_option(in, kOpKeys[i]);
    if (o == nullptr) continue;
    if (given != nullptr) {
      throw SetupError(
          fmt::format("{}: give one of find, insert, update, aggregate or command "
                      "({} and {} given)",
                      o->where, given->key, o->key));
    }
    given = o;
    r->op = static_cast<Op>(i);
  }
  if (given == nullptr) {
    throw SetupError(
        fmt::format("{}: give the operation: --find '{{\"id\": 3}}', --insert '{{...}}', --update "
                    "'{{\"$set\": {{...}}}}' --filter '{{...}}', --aggregate '[...]' or --command "
                    "'{{\"ping\": 1}}' (a step: find = '...')",
                    in.where));
  }
  if (in.payload_given) {
    throw SetupError(fmt::format("{}: MongoDB takes no body; give the operation's JSON", in.where));
  }
  const proto::Option* coll = proto::find_option(in, "collection");
  if (coll != nullptr) r->collection = coll->value;
  if (r->op != Op::kCommand && r->collection.empty()) {
    throw SetupError(fmt::format("{}: {} needs --collection NAME (a step: collection = \"...\")",
                                 in.where, given->key));
  }
  const proto::Option* filter = proto::find_option(in, "filter");
  if (filter != nullptr && r->op != Op::kUpdate) {
    throw SetupError(fmt::format("{}: {} applies to update (find takes its filter as its value)",
                                 filter->where, filter->key));
  }
  if (const proto::Option* limit = proto::find_option(in, "limit")) {
    if (r->op != Op::kFind) {
      throw SetupError(fmt::format("{}: {} applies to find", limit->where, limit->key));
    }
    r->limit = static_cast<int64_t>(proto::positive_option(*limit));
  }
  // The JSON must parse once its templates are filled: check it with placeholders now.
  auto check_json = [&](const proto::Option& o, bool array) {
    std::string probe;
    for (size_t i = 0; i < o.value.size(); ++i) {
      if (o.value.compare(i, 2, "${") == 0) {
        size_t close = o.value.find('}', i);
        if (close == std::string::npos) break;
        bool quoted = i > 0 && o.value[i - 1] == '"';
        probe += quoted ? "x" : "0";
        i = close;
        continue;
      }
      probe += o.value[i];
    }
    bson_t doc = BSON_INITIALIZER;
    bool ok = append_json(&doc, "v", probe);
    bson_iter_t it;
    bool right = ok && bson_iter_init_find(&it, &doc, "v") &&
                 (array ? BSON_ITER_HOLDS_ARRAY(&it) : BSON_ITER_HOLDS_DOCUMENT(&it));
    bson_destroy(&doc);
    if (!right) {
      throw SetupError(fmt::format("{}: {} must be a JSON {} (got {})", o.where, o.key,
                                   array ? "array of stages" : "object", o.value));
    }
    if (o.value.find(kSeparator) != std::string::npos) {
      throw SetupError(fmt::format("{}: {} cannot hold the byte 0x1f", o.where, o.key));
    }
  };
  check_json(*given, r->op == Op::kAggregate);
  if (filter != nullptr) check_json(*filter, false);
  r->payload = given->value;
  if (r->op == Op::kUpdate) r->payload += kSeparator + (filter != nullptr ? filter->value : "{}");
  const Url& u = in.url;
  std::string_view path = u.target;
  size_t q = path.find('?');
  std::string_view db = path.substr(0, q);
  while (db.starts_with("/")) db.remove_prefix(1);
  r->database = db.empty() ? "test" : percent_decode(db);
  r->user = u.user;
  r->password = u.password;
  r->auth_source = "admin";
  if (q != std::string_view::npos) {
    std::string_view opts = path.substr(q + 1);
    while (!opts.empty()) {
      size_t amp = opts.find('&');
      std::string_view kv = opts.substr(0, amp);
      opts = amp == std::string_view::npos ? std::string_view() : opts.substr(amp + 1);
      if (kv.starts_with("authSource=")) r->auth_source = percent_decode(kv.substr(11));
    }
  }
  if (!r->user.empty() && !u.has_password) {
    throw SetupError(
        fmt::format("{}: the URL names user '{}' without a password "
                    "(mongodb://user:password@host/db)",
                    in.where, r->user));
  }
  return r;
}

std::string describe(const plan::ProtocolRequest& pr) {
  const auto& r = static_cast<const Request&>(pr);
  std::string_view main = std::string_view(r.payload).substr(0, r.payload.find(kSeparator));
  return fmt::format("{} {} {} (database {})", kOpKeys[static_cast<int>(r.op)], r.collection, main,
                     r.database);
}

}  // namespace
}  // namespace spiker::mongo

void spiker_register_mongo() {
  using namespace spiker;
  metrics::StatBlockDef stats;
  stats.name = "mongo";
  stats.title = "MongoDB";
  stats.counters.assign(std::begin(mongo::kCounterNames), std::end(mongo::kCounterNames));
  stats.summary = {"commands", "documents_returned", "documents_written", "server_errors"};
  stats.per_second = {"commands"};
  mongo::g_stats = &metrics::StatBlocks::add(std::move(stats));
  proto::Protocol p;
  p.name = "mongo";
  p.schemes = {"mongodb"};
  p.summary = "MongoDB (mongodb://host:port/db): --collection items --find '{\"id\": 3}'";
  p.label = "mongodb";
  p.default_port = 27017;
  p.flags = {{"collection", "mongo: the collection of find, insert, update and aggregate"},
             {"find", "mongo: find with this filter (JSON; templates allowed)"},
             {"insert", "mongo: insert this document (JSON)"},
             {"update", "mongo: update with this update document (JSON), on --filter's match"},
             {"filter", "mongo: the filter of --update (JSON; default {})"},
             {"aggregate", "mongo: aggregate with this pipeline (a JSON array)"},
             {"command", "mongo: run this command document (JSON), e.g. {\"ping\": 1}"},
             {"limit", "mongo: find returns at most this many documents"}};
  p.actions = {{"mongo", proto::Verb::kExchange, mongo::kKeys, true, true}};
  p.stats = mongo::g_stats;
  p.compile = mongo::compile;
  p.make_session = proto::make_transport_session<mongo::Session>;
  p.describe = mongo::describe;
  proto::Registry::add(std::move(p));
}
