// Redis (redis://host:port, rediss:// over TLS): a command line per exchange (`--command 'GET
// key:${RANDOM_INT:1:100}'`, or a journey's `action = "redis.command"` with `command = "..."`),
// rendered per send, split as redis-cli splits it, written as RESP, and its reply read: the
// reply's value (a string, a number, arrays as JSON) is what checks and extractors read; an
// error reply fails the request (the connection stays) and is counted by its prefix.
// --pipeline N writes N commands at once and reads their N replies.
#include <fmt/format.h>
#include <sys/epoll.h>

#include <algorithm>
#include <iterator>

#include "core/error.h"
#include "metrics/shard.h"
#include "proto/payload.h"
#include "proto/protocol.h"
#include "proto/transport_session.h"
#include "protocols/redis/resp.h"

namespace spiker::redis {
namespace {

using metrics::ErrorKind;
using proto::Verb;

constexpr size_t kMaxBuffered = 64u << 20;  // a reply larger than this is refused
constexpr size_t kKeepBuffer = 1u << 20;    // larger buffers are freed with their connection

const metrics::StatBlock* g_stats = nullptr;
enum Counter : uint32_t {
  kCommands,
  kReplies,
  kNil,
  kErrors,
  kErrErr,
  kErrWrongType,
  kErrNoAuth,
  kErrOther,
  kStray,
  kErrWrongPass,
  kMalformed,
  kCounterCount
};
// By Counter, in its order.
constexpr const char* kCounterNames[] = {"commands",         "replies",          "nil_replies",
                                         "error_replies",    "errors_ERR",       "errors_WRONGTYPE",
                                         "errors_NOAUTH",    "errors_other",     "stray_replies",
                                         "errors_WRONGPASS", "malformed_replies"};
static_assert(std::size(kCounterNames) == kCounterCount, "a name per counter");

// A command and how each new connection is prepared: HELLO 3 (RESP3), AUTH, SELECT.
struct Request : plan::ProtocolRequest {
  std::string user, password;  // AUTH (password empty: none)
  bool resp3 = false;
  int64_t db = -1;  // SELECT (-1: none)
};

class Session final : public proto::TransportSession {
 public:
  using TransportSession::TransportSession;

  void close() noexcept override {
    greeted_ = false;
    forget();
    TransportSession::close();
  }

 protected:
  void on_failure(ErrorKind) noexcept override {
    greeted_ = false;
    forget();
  }

  // A connection's unread bytes and half-read reply go with it (the next one starts clean).
  void forget() noexcept {
    in_.clear();
    reader_.reset();
    if (in_.capacity() > kKeepBuffer) std::string().swap(in_);
    if (reply_.text.capacity() > kKeepBuffer) std::string().swap(reply_.text);
  }

  // The commands that prepare a new connection, before the first exchange's.
  void greet(const Request& r) noexcept {
    std::vector<std::string> cmd;
    if (r.resp3) {
      cmd = {"HELLO", "3"};
      if (!r.password.empty()) {
        cmd.insert(cmd.end(), {"AUTH", r.user.empty() ? "default" : r.user, r.password});
      }
      encode_command(cmd, wire_);
      ++prelude_;
    } else if (!r.password.empty()) {
      cmd = r.user.empty() ? std::vector<std::string>{"AUTH", r.password}
                           : std::vector<std::string>{"AUTH", r.user, r.password};
      encode_command(cmd, wire_);
      ++prelude_;
    }
    if (r.db >= 0) {
      encode_command({"SELECT", std::to_string(r.db)}, wire_);
      ++prelude_;
    }
    greeted_ = true;
  }

  void start() noexcept override {
    // One command per line (--pipeline N: N of them), encoded as RESP and written at once.
    wire_.clear();
    prelude_ = 0;
    if (!greeted_ && exchange_.request != nullptr) {
      greet(static_cast<const Request&>(*exchange_.request));
    }
    std::string_view text = out_;
    uint16_t commands = 0;
    while (commands < exchange_.count) {
      size_t nl = exchange_.count > 1 ? text.find('\n') : std::string_view::npos;
      std::string_view line = text.substr(0, nl);
      text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
      if (encode_line(line, wire_, &args_) <= 0) {
        give_up(ErrorKind::kOther);  // a rendered command that does not split: nothing sent
        return;
      }
      ++commands;
    }
    waiting_ = commands;
    out_ = wire_;
    out_off_ = 0;
    host_.shard().add(g_stats->counter(kCommands), commands);
    if (!write_payload()) return;
    try_reply();
  }

  uint16_t unanswered() const noexcept override { return waiting_ > 0 ? waiting_ : 1; }

  void on_events(uint32_t events) noexcept override {
    if ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) != 0 && busy() && out_off_ < out_.size()) {
      if (!write_payload()) return;
      if (!transport_.is_open()) return;
    }
    if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP)) != 0) read();
  }

 private:
  void read() noexcept {
    read_stream(in_, true, [this] {
      if (in_.size() > kMaxBuffered) {
        in_.clear();
        reader_.reset();
        host_.shard().add(g_stats->counter(kMalformed));
        fail(ErrorKind::kProtocol);
        return;
      }
      try_reply();
    });
  }

  // Reads the replies in in_ (from its start: what was consumed is dropped once, at the end,
  // so a flood of small replies costs no copy per reply).
  void try_reply() noexcept {
    size_t at = 0;
    consume(at);
    in_.erase(0, std::min(at, in_.size()));
  }

  void consume(size_t& at) noexcept {
    while (at < in_.size()) {
      size_t used = 0;
      ReplyReader::Status st = reader_.next(std::string_view(in_).substr(at), &used, &reply_);
      at += used;
      if (st == ReplyReader::Status::kMore) return;
      if (st == ReplyReader::Status::kBad) {  // not RESP: the connection cannot be trusted
        in_.clear();
        at = 0;
        reader_.reset();
        host_.shard().add(g_stats->counter(kMalformed));
        fail(ErrorKind::kProtocol);
        return;
      }
      metrics::Shard& s = host_.shard();
      if (!busy() || waiting_ == 0) {
        s.add(g_stats->counter(kStray));  // nobody asked (a late reply after a timeout)
        continue;
      }
      if (prelude_ > 0) {  // HELLO / AUTH / SELECT on a new connection
        --prelude_;
        if (reply_.kind == Reply::Kind::kError) {
          count_error(s);
          in_.clear();
          at = 0;
          reader_.reset();
          // The connection is unusable (a wrong password, a missing database): every command
          // of the exchange is refused with the server's own error, and the next one connects
          // again.
          std::string code(error_prefix());
          std::string message = reply_.text;
          close();
          for (uint16_t left = waiting_; left > 0; --left) refuse(code, message, left == 1);
          waiting_ = 0;
          return;
        }
        continue;
      }
      s.add(g_stats->counter(kReplies));
      if (reply_.kind == Reply::Kind::kNull) s.add(g_stats->counter(kNil));
      if (reply_.kind == Reply::Kind::kError) count_error(s);
      proto::Outcome o;
      o.refused = reply_.kind == Reply::Kind::kError;  // a failed request; the connection stays
      o.done_ns = host_.now();
      plan::CapturedResponse parts;
      parts.body = reply_.text;
      if (o.refused) parts.headers.emplace_back("error", error_prefix());
      o.parts = &parts;
      bool last = --waiting_ == 0;
      if (last) {
        // The engine may start the next exchange from inside complete_one, and read in_ again
        // from its start: what is consumed goes first.
        in_.erase(0, at);
        at = 0;
      }
      complete_one(o, last);
      if (last) return;
    }
  }

  std::string_view error_prefix() const noexcept {
    return std::string_view(reply_.text).substr(0, reply_.text.find(' '));
  }

  void count_error(metrics::Shard& s) noexcept {
    s.add(g_stats->counter(kErrors));
    std::string_view prefix = error_prefix();
    s.add(g_stats->counter(prefix == "ERR"         ? kErrErr
                           : prefix == "WRONGTYPE" ? kErrWrongType
                           : prefix == "NOAUTH"    ? kErrNoAuth
                           : prefix == "WRONGPASS" ? kErrWrongPass
                                                   : kErrOther));
  }

  void timed_out() noexcept override {
    forget();
    fail(ErrorKind::kTimeout);  // closes: a late reply must not answer the next command
  }

  uint16_t waiting_ = 0;  // replies still due for this exchange
  uint16_t prelude_ = 0;  // replies due to the connection's HELLO / AUTH / SELECT
  bool greeted_ = false;  // this connection got them
  std::vector<std::string> args_;
  std::string wire_;
  std::string in_;
  ReplyReader reader_;
  Reply reply_;
};

std::shared_ptr<plan::ProtocolRequest> compile(const proto::RequestInput& in) {
  proto::reject_unknown(in, {"command", "auth", "resp", "db"});
  // command = ["SET", "k", "${v}"]: the arguments as given, quoted for the splitter.
  std::vector<const proto::Option*> parts = proto::find_all(in, "command");
  std::string joined;
  if (parts.size() > 1) {
    for (const proto::Option* o : parts) {
      joined += joined.empty() ? "\"" : " \"";
      for (char c : o->value) {
        if (c == '"' || c == '\\') joined += '\\';
        joined += c;
      }
      joined += '"';
    }
  }
  const proto::Option* cmd = parts.empty() ? nullptr : parts.front();
  if (cmd != nullptr && in.payload_given) {
    throw SetupError(
        fmt::format("{}: give the command once: {} or the body, not both", cmd->where, cmd->key));
  }
  auto r = std::make_shared<Request>();
  // redis://[user]:password@host:port: AUTH as redis-cli -u does (--auth overrides).
  if (in.url.has_password && !in.url.password.empty()) {
    r->user = in.url.user;
    r->password = in.url.password;
  }
  if (const proto::Option* auth = proto::find_option(in, "auth")) {
    size_t colon = auth->value.find(':');
    r->user = colon == std::string::npos ? "" : auth->value.substr(0, colon);
    r->password = colon == std::string::npos ? auth->value : auth->value.substr(colon + 1);
    if (r->password.empty()) {
      throw SetupError(fmt::format("{}: {} is PASSWORD or USER:PASSWORD", auth->where, auth->key));
    }
  }
  if (const proto::Option* resp = proto::find_option(in, "resp")) {
    if (resp->value != "2" && resp->value != "3") {
      throw SetupError(
          fmt::format("{}: {} is 2 or 3 (3: HELLO 3, RESP3 replies)", resp->where, resp->key));
    }
    r->resp3 = resp->value == "3";
  }
  // redis://host:port/N: database N, as redis-cli -u reads it (--db overrides).
  std::string_view path = in.url.target;
  if (path.size() > 1 && path.size() <= 6 && path[0] == '/' &&
      path.find_first_not_of("0123456789", 1) == std::string_view::npos) {
    r->db = std::stoll(std::string(path.substr(1)));
  }
  if (const proto::Option* db = proto::find_option(in, "db")) {
    r->db = static_cast<int64_t>(proto::positive_option(*db)) - 0;
  }
  r->verb = static_cast<uint8_t>(Verb::kExchange);
  r->action = 0;
  r->action_name = "redis.command";
  r->payload = parts.size() > 1 ? joined : cmd != nullptr ? cmd->value : in.payload;
  std::vector<std::string> args;
  if (r->payload.empty() || !split_command(r->payload, &args) || args.empty()) {
    throw SetupError(fmt::format(
        "{}: {}: give a Redis command, e.g. --command 'GET key:${{RANDOM_INT:1:100}}' (a step: "
        "command = \"SET k ${{v}}\"); quotes must close",
        in.where, r->payload.empty() ? "no command" : "the command '" + r->payload + "'"));
  }
  return r;
}

std::string describe(const plan::ProtocolRequest& r) { return "command " + r.payload; }

}  // namespace
}  // namespace spiker::redis

void spiker_register_redis() {
  using namespace spiker;
  metrics::StatBlockDef stats;
  stats.name = "redis";
  stats.title = "Redis";
  stats.counters.assign(std::begin(redis::kCounterNames), std::end(redis::kCounterNames));
  stats.summary = {"commands", "replies", "nil_replies", "error_replies"};
  stats.per_second = {"commands"};
  redis::g_stats = &metrics::StatBlocks::add(std::move(stats));
  proto::Protocol p;
  p.name = "redis";
  p.schemes = {"redis", "rediss"};
  p.tls_schemes = {"rediss"};
  p.summary = "Redis (redis://host:port, rediss:// over TLS): --command 'GET key:${...}'";
  p.label = "redis";
  p.pipelines = true;
  p.flags = {{"command", "redis: the command, split as redis-cli splits it (templates allowed)"},
             {"auth", "redis: AUTH on each new connection: PASSWORD or USER:PASSWORD"},
             {"resp", "redis: 3 for RESP3 (HELLO 3 on each new connection); default 2"},
             {"db", "redis: SELECT this database (1..) on each new connection"}};
  // "redis" is the same action, as journeys and grids spell it (action = "redis").
  p.actions = {
      {"redis.command", proto::Verb::kExchange, {"command", "auth", "resp", "db"}, true, true},
      {"redis", proto::Verb::kExchange, {"command", "auth", "resp", "db"}, true, true}};
  p.stats = redis::g_stats;
  p.compile = redis::compile;
  p.make_session = proto::make_transport_session<redis::Session>;
  p.describe = redis::describe;
  proto::Registry::add(std::move(p));
}
