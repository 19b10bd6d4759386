// PostgreSQL (postgres://user:pass@host:port/db?sslmode=...): libpq in non-blocking mode on the
// worker's loop. The connection is started with PQconnectStartParams to the address the worker
// resolved and polled from epoll events (PQconnectPoll); queries go in pipeline mode, each with
// its Sync: a prepared statement is parsed once per connection and then executed with the
// parameters rendered for this request (--mode extended: sent unnamed each time; simple: the
// query as text, out of pipeline mode). --pipeline N sends N at once. Results become the JSON
// rows that checks and extractors read (only when a check or extractor needs them); an error
// result is a refused request whose "error" is its SQLSTATE.
#include <fmt/format.h>
#include <libpq-fe.h>
#include <sys/epoll.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <string>
#include <utility>
#include <vector>

#include "core/socket.h"
#include "metrics/shard.h"
#include "proto/library_session.h"
#include "proto/protocol.h"
#include "proto/sql.h"

namespace spiker::postgres {
namespace {

using metrics::ErrorKind;
using sql::Counter;

const metrics::StatBlock* g_stats = nullptr;

class Session final : public proto::LibrarySession {
 public:
  using LibrarySession::LibrarySession;
  ~Session() override { drop(); }

  void submit(const proto::Exchange& x) noexcept override {
    if (!take(x)) return;  // a close
    if (conn_ == nullptr) {
      connect();
      return;
    }
    if (ready_) send();
  }

  void check_deadline(int64_t now) noexcept override {
    if (conn_ != nullptr && !ready_ && connect_deadline_ns_ != 0 && now >= connect_deadline_ns_) {
      fail(ErrorKind::kConnect);
      return;
    }
    if (busy_ && deadline_ns_ != 0 && now >= deadline_ns_) {
      fail(ErrorKind::kTimeout);  // closed: a late result must not answer the next query
    }
  }

  void close() noexcept override { drop(); }
  bool connected() const noexcept override { return conn_ != nullptr; }

  void on_io(uint32_t events) noexcept override {
    if (conn_ == nullptr) return;
    if (!ready_) {
      poll_connect();
      return;
    }
    if ((events & EPOLLOUT) != 0 && flushing_) flush_output();
    if (conn_ != nullptr && (events & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP)) != 0) {
      read_results();
    }
  }

 private:
  // What the connection still owes us, in the order it will come.
  enum class Due : uint8_t { kPrepare, kQuery, kSync, kSimple };

  const sql::Request& request() const { return static_cast<const sql::Request&>(*request_); }

  void connect() noexcept {
    const SocketAddress& addr = host_.next_address(options_.endpoint);
    std::string ip = addr.ip();
    std::string port = std::to_string(addr.port());
    const sql::Request& r = request();
    std::vector<const char*> keys = {"hostaddr", "host", "port", "client_encoding", "sslmode"};
    // The URL's sslmode, or none (libpq's "prefer" would try TLS first on every connection).
    const char* sslmode = "disable";
    for (const auto& [k, v] : r.url_options) {
      if (k == "sslmode") sslmode = v.c_str();
    }
    std::vector<const char*> values = {ip.c_str(), options_.endpoint.host.c_str(), port.c_str(),
                                       "UTF8", sslmode};
    if (!r.user.empty()) {
      keys.push_back("user");
      values.push_back(r.user.c_str());
    }
    if (r.has_password) {
      keys.push_back("password");
      values.push_back(r.password.c_str());
    }
    if (!r.database.empty()) {
      keys.push_back("dbname");
      values.push_back(r.database.c_str());
    }
    bool named = false;
    for (const auto& [k, v] : r.url_options) {
      if (k == "sslmode") continue;
      if (k == "application_name") named = true;
      keys.push_back(k.c_str());
      values.push_back(v.c_str());
    }
    if (!named) {
      keys.push_back("application_name");
      values.push_back("loadspiker");
    }
    keys.push_back(nullptr);
    values.push_back(nullptr);
    connect_start_ns_ = host_.now();
    connect_deadline_ns_ = connect_start_ns_ + options_.connect_timeout_ns;
    conn_ = PQconnectStartParams(keys.data(), values.data(), 0);
    ++host_.shard().connections_opened;
    host_.shard().add(g_stats->counter(sql::kConnects));
    if (conn_ == nullptr || PQstatus(conn_) == CONNECTION_BAD) {
      connect_failed();
      return;
    }
    PQsetnonblocking(conn_, 1);
    poll_connect();
  }

  void poll_connect() noexcept {
    PostgresPollingStatusType st = PQconnectPoll(conn_);
    if (st == PGRES_POLLING_FAILED || PQsocket(conn_) < 0) {
      connect_failed();
      return;
    }
    // libpq may open a new socket while connecting (another address, TLS refused).
    watch(PQsocket(conn_), st == PGRES_POLLING_WRITING ? EPOLLOUT : EPOLLIN);
    if (st != PGRES_POLLING_OK) return;  // the next event polls on
    ready_ = true;
    connect_deadline_ns_ = 0;
    host_.shard().connect_us.record((host_.now() - connect_start_ns_) / 1000);
    if (busy_) send();
  }

  // libpq's words for a server whose bytes are not PostgreSQL's protocol.
  static bool protocol_violation(std::string_view message) noexcept {
    for (std::string_view text : {"expected authentication request", "invalid response to SSL",
                                  "unexpected message", "lost synchronization", "invalid message",
                                  "message contents do not agree", "message type 0x"}) {
      if (message.find(text) != std::string_view::npos) return true;
    }
    return false;
  }

  // The server refused the connection (password, database) or could not be reached.
  void connect_failed() noexcept {
    std::string message = conn_ != nullptr ? PQerrorMessage(conn_) : "out of memory";
    ErrorKind kind = ErrorKind::kConnect;
    std::string code;
    auto has = [&](const char* text) { return message.find(text) != std::string::npos; };
    if (has("Connection refused")) {
      kind = ErrorKind::kRefused;
    } else if (protocol_violation(message)) {
      kind = ErrorKind::kProtocol;  // something answered, but not PostgreSQL
      host_.shard().add(g_stats->counter(sql::kProtocolErrors));
    } else if (has("timeout")) {
      kind = ErrorKind::kTimeout;
    } else if (has("authentication failed") || has("no password supplied") ||
               has("no pg_hba.conf entry")) {
      code = "28P01";
    } else if (has("role") && has("does not exist")) {
      code = "28000";
    } else if (has("does not exist")) {
      code = "3D000";
    } else if (has("too many")) {
      code = "53300";
    }
    drop();
    if (code.empty()) {
      fail_remaining(kind);
      return;
    }
    // The server answered and said no: each request of the exchange is refused with the code.
    metrics::Shard& s = host_.shard();
    for (int left = count_ - reported_; busy_ && left > 0; --left) {
      s.add(g_stats->counter(sql::kErrors));
      s.add(g_stats->counter(sql::error_counter(code)));
      report_refused(code, message);
    }
  }

  void send() noexcept {
    const sql::Request& r = request();
    started();
    metrics::Shard& s = host_.shard();
    std::string_view batch = payload_;
    bool simple = r.mode == sql::Mode::kSimple;
    if (simple != !in_pipeline_) {
      if (simple ? PQexitPipelineMode(conn_) != 1 : PQenterPipelineMode(conn_) != 1) {
        fail(ErrorKind::kOther);
        return;
      }
      in_pipeline_ = !simple;
    }
    if (count_ > 1) s.add(g_stats->counter(sql::kPipelines));
    s.add(g_stats->counter(sql::kQueries), count_);
    for (uint16_t i = 0; i < count_; ++i) {
      size_t end = count_ > 1 ? batch.find(sql::kRecordSeparator) : std::string_view::npos;
      std::string_view one = batch.substr(0, end);
      batch = end == std::string_view::npos ? std::string_view() : batch.substr(end + 1);
      if (!sql::split_fields(one, r, &fields_)) {
        fail(ErrorKind::kOther);  // a rendered value held a separator: nothing sent
        return;
      }
      if (!queue_query(r)) return;
    }
    flushing_ = true;
    flush_output();
  }

  // Queues one query (and its Prepare, once per connection) with its Sync.
  bool queue_query(const sql::Request& r) noexcept {
    // libpq reads C strings: each field ends where its separator was (payload_ is our copy),
    // so the values point into it, nothing copied.
    values_.clear();
    for (std::string_view f : fields_) {
      payload_[static_cast<size_t>(f.data() - payload_.data()) + f.size()] = '\0';
    }
    size_t first = r.templated ? 1 : 0;
    for (size_t i = first; i < fields_.size(); ++i) values_.push_back(fields_[i].data());
    int n = static_cast<int>(r.params);
    const char* query = r.templated ? fields_[0].data() : r.query.c_str();
    int ok = 1;
    if (r.mode == sql::Mode::kSimple) {
      ok = PQsendQuery(conn_, query);
      if (ok == 1) due_.push_back(Due::kSimple);
    } else if (r.mode == sql::Mode::kExtended) {
      ok = PQsendQueryParams(conn_, query, n, nullptr, values_.data(), nullptr, nullptr, 0);
      if (ok == 1) due_.push_back(Due::kQuery);
    } else {
      char name[24];
      std::snprintf(name, sizeof name, "ls_%u", r.id);
      if (std::find(prepared_.begin(), prepared_.end(), r.id) == prepared_.end()) {
        ok = PQsendPrepare(conn_, name, query, n, nullptr);
        if (ok == 1) {
          due_.push_back(Due::kPrepare);
          prepared_.push_back(r.id);
          host_.shard().add(g_stats->counter(sql::kPrepared));
        }
      }
      if (ok == 1) ok = PQsendQueryPrepared(conn_, name, n, values_.data(), nullptr, nullptr, 0);
      if (ok == 1) due_.push_back(Due::kQuery);
    }
    if (ok == 1 && r.mode != sql::Mode::kSimple) {
      ok = PQpipelineSync(conn_);
      if (ok == 1) due_.push_back(Due::kSync);
    }
    if (ok != 1) {
      fail(ErrorKind::kReset);
      return false;
    }
    return true;
  }

  void flush_output() noexcept {
    int r = PQflush(conn_);
    if (r < 0) {
      fail(ErrorKind::kReset);
      return;
    }
    flushing_ = r == 1;
    watch(fd_, flushing_ ? EPOLLIN | EPOLLOUT : EPOLLIN);
  }

  void read_results() noexcept {
    if (PQconsumeInput(conn_) == 0) {
      fail(ErrorKind::kReset);
      return;
    }
    int nulls = 0;
    while (conn_ != nullptr && !due_.empty() && PQisBusy(conn_) == 0) {
      PGresult* res = PQgetResult(conn_);
      if (due_.front() == Due::kSimple) {
        // Out of pipeline mode the query is over (and the next may be sent) only at the null
        // after its results: keep its result (an error before a later success) until then.
        if (res != nullptr) {
          bool keep = simple_ == nullptr || PQresultStatus(simple_) != PGRES_FATAL_ERROR;
          PGresult* drop_it = keep ? simple_ : res;
          if (keep) simple_ = res;
          if (drop_it != nullptr) PQclear(drop_it);
          continue;
        }
        due_.pop_front();
        PGresult* done = std::exchange(simple_, nullptr);
        if (done != nullptr) {
          handle(Due::kSimple, done);
          PQclear(done);
        }
        continue;
      }
      if (res == nullptr) {  // the end of one command's results (pipeline mode)
        if (++nulls > 1) break;
        continue;
      }
      nulls = 0;
      Due due = due_.front();
      due_.pop_front();
      handle(due, res);
      PQclear(res);
    }
  }

  void handle(Due due, PGresult* res) noexcept {
    ExecStatusType st = PQresultStatus(res);
    metrics::Shard& s = host_.shard();
    if (due == Due::kSync) return;  // PGRES_PIPELINE_SYNC (or an error already counted)
    if (due == Due::kPrepare) {
      if (st != PGRES_COMMAND_OK) {
        prepare_error_.assign(sqlstate(res));
        std::erase(prepared_, request().id);  // prepared again on the next try
      }
      return;
    }
    if (!busy_) return;
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK || st == PGRES_SINGLE_TUPLE) {
      int64_t rows = 0;
      std::string_view body;
      if (st == PGRES_TUPLES_OK) {
        rows = PQntuples(res);
        s.add(g_stats->counter(sql::kRowsReturned), static_cast<uint64_t>(rows));
        if (capture_) body = rows_json(res);
      } else {
        const char* affected = PQcmdTuples(res);
        rows = affected != nullptr && *affected != '\0' ? std::atoll(affected) : 0;
        s.add(g_stats->counter(sql::kRowsAffected), static_cast<uint64_t>(rows));
      }
      prepare_error_.clear();
      report_ok(rows, body);
      return;
    }
    // A server error (or the query skipped after its Prepare failed: that error's code).
    std::string code = st == PGRES_PIPELINE_ABORTED && !prepare_error_.empty()
                           ? prepare_error_
                           : std::string(sqlstate(res));
    prepare_error_.clear();
    s.add(g_stats->counter(sql::kErrors));
    s.add(g_stats->counter(sql::error_counter(code)));
    const char* message = PQresultErrorMessage(res);
    report_refused(code, message != nullptr ? message : "");
  }

  static std::string_view sqlstate(const PGresult* res) {
    const char* code = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    return code != nullptr ? code : "XX000";
  }

  std::string_view rows_json(const PGresult* res) {
    json_.begin();
    int rows = PQntuples(res), cols = PQnfields(res);
    numeric_.assign(static_cast<size_t>(cols), false);
    for (int c = 0; c < cols; ++c) {
      Oid t = PQftype(res, c);
      // int8, int2, int4, oid, float4, float8, numeric
      numeric_[static_cast<size_t>(c)] =
          t == 20 || t == 21 || t == 23 || t == 26 || t == 700 || t == 701 || t == 1700;
    }
    for (int r = 0; r < rows; ++r) {
      json_.row();
      for (int c = 0; c < cols; ++c) {
        bool null = PQgetisnull(res, r, c) != 0;
        std::string_view v(PQgetvalue(res, r, c), static_cast<size_t>(PQgetlength(res, r, c)));
        json_.column(PQfname(res, c), v, null, numeric_[static_cast<size_t>(c)]);
      }
    }
    return json_.end();
  }

  // Every request of the exchange fails with `kind`; the connection is closed.
  void fail(ErrorKind kind) noexcept {
    drop();
    fail_remaining(kind);
  }

  void drop() noexcept {
    if (conn_ == nullptr) return;
    account();
    watch(-1, 0);
    PQfinish(conn_);
    conn_ = nullptr;
    ready_ = false;
    flushing_ = false;
    in_pipeline_ = false;
    due_.clear();
    if (simple_ != nullptr) PQclear(std::exchange(simple_, nullptr));
    prepared_.clear();
    prepare_error_.clear();
    connect_deadline_ns_ = 0;
  }

  PGconn* conn_ = nullptr;
  bool ready_ = false;
  bool flushing_ = false;
  bool in_pipeline_ = false;
  int64_t connect_start_ns_ = 0, connect_deadline_ns_ = 0;
  std::deque<Due> due_;
  PGresult* simple_ = nullptr;      // a simple query's result, until its end
  std::vector<uint32_t> prepared_;  // requests prepared on this connection
  std::string prepare_error_;       // the SQLSTATE of a failed Prepare, for its aborted query
  std::vector<std::string_view> fields_;
  std::vector<const char*> values_;
  std::vector<bool> numeric_;
  sql::RowsJson json_;
};

std::shared_ptr<plan::ProtocolRequest> compile(const proto::RequestInput& in) {
  return sql::compile(in, "PostgreSQL", "--query 'SELECT * FROM items WHERE id = $1'");
}

}  // namespace
}  // namespace spiker::postgres

void spiker_register_postgres() {
  using namespace spiker;
  proto::Protocol p = sql::protocol("postgres", "PostgreSQL", &postgres::g_stats);
  p.schemes = {"postgres", "postgresql"};
  p.summary =
      "PostgreSQL (postgres://user:pass@host:port/db): --query 'SELECT ... $1' --param '${...}'";
  p.pipelines = true;
  p.pipeline_separator = sql::kRecordSeparator;
  p.default_port = 5432;
  p.compile = postgres::compile;
  p.make_session = proto::make_library_session<postgres::Session>;
  proto::Registry::add(std::move(p));
}
