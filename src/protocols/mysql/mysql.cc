// MySQL and MariaDB (mysql://user:pass@host:port/db, mariadb://): libmariadb's non-blocking API
// on the worker's loop. Each client call starts with its *_start function and goes on with
// *_cont when the socket is ready (libmariadb runs it on a small stack of its own and says what
// it waits for: MYSQL_WAIT_READ / WRITE). A query is a server-side prepared statement, prepared
// once per connection and executed with the parameters rendered for this request (--mode
// extended: prepared and closed each time; simple: the query as text). Results are stored,
// counted, and turned into the JSON rows checks and extractors read only when one needs them;
// a server error is a refused request whose "error" is its SQLSTATE.
#include <fmt/format.h>
#include <mysql.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "core/socket.h"
#include "metrics/shard.h"
#include "proto/library_session.h"
#include "proto/protocol.h"
#include "proto/sql.h"

namespace spiker::mysql {
namespace {

using metrics::ErrorKind;

const metrics::StatBlock* g_stats = nullptr;

// A statement prepared on one connection, for one compiled request.
struct Prepared {
  uint32_t id = 0;
  MYSQL_STMT* stmt = nullptr;
};

class Session final : public proto::LibrarySession {
 public:
  using LibrarySession::LibrarySession;
  ~Session() override { drop(); }

  void submit(const proto::Exchange& x) noexcept override {
    if (!take(x)) return;  // a close
    if (db_ == nullptr) {
      connect();
      return;
    }
    if (step_ == Step::kIdle) begin_query();
  }

  void check_deadline(int64_t now) noexcept override {
    if (db_ != nullptr && step_ == Step::kConnect && connect_deadline_ns_ != 0 &&
        now >= connect_deadline_ns_) {
      fail(ErrorKind::kConnect);
      return;
    }
    if (busy_ && deadline_ns_ != 0 && now >= deadline_ns_) {
      fail(ErrorKind::kTimeout);  // closed: a late result must not answer the next query
    }
  }

  void close() noexcept override { drop(); }
  bool connected() const noexcept override { return db_ != nullptr; }

  void on_io(uint32_t events) noexcept override {
    if (db_ == nullptr) return;
    if (step_ == Step::kIdle) {
      // Between queries: the server closed the connection (killed, wait_timeout).
      if ((events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0) drop();
      return;
    }
    int ready = 0;
    if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0) ready |= MYSQL_WAIT_READ;
    if ((events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) != 0) ready |= MYSQL_WAIT_WRITE;
    if ((ready & waiting_) == 0) return;
    resume(ready);
  }

 private:
  const sql::Request& request() const { return static_cast<const sql::Request&>(*request_); }

  enum class Step : uint8_t {
    kIdle,
    kConnect,
    kPrepare,
    kExecute,
    kStore,
    kFreeResult,
    kCloseStmt,
    kQuery,
    kStoreText,
  };

  void connect() noexcept {
    const SocketAddress& addr = host_.next_address(options_.endpoint);
    std::string ip = addr.ip();
    uint16_t port = addr.port();
    db_ = mysql_init(nullptr);
    if (db_ == nullptr) {
      fail(ErrorKind::kOther);
      return;
    }
    mysql_options(db_, MYSQL_OPT_NONBLOCK, nullptr);
    mysql_options(db_, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    unsigned int protocol = MYSQL_PROTOCOL_TCP;
    mysql_options(db_, MYSQL_OPT_PROTOCOL, &protocol);
    my_bool no = 0;
    mysql_options(db_, MYSQL_OPT_RECONNECT, &no);
    for (const auto& [k, v] : request().url_options) {
      if (k == "ssl" || k == "sslmode" || k == "ssl-mode") {
        my_bool want = v != "disable" && v != "false" && v != "0" && v != "DISABLED";
        mysql_options(db_, MYSQL_OPT_SSL_ENFORCE, &want);
      }
    }
    const sql::Request& r = request();
    connect_start_ns_ = host_.now();
    connect_deadline_ns_ = connect_start_ns_ + options_.connect_timeout_ns;
    ++host_.shard().connections_opened;
    host_.shard().add(g_stats->counter(sql::kConnects));
    step_ = Step::kConnect;
    MYSQL* ret = nullptr;
    int status = mysql_real_connect_start(
        &ret, db_, ip.c_str(), r.user.empty() ? nullptr : r.user.c_str(),
        r.has_password ? r.password.c_str() : nullptr,
        r.database.empty() ? nullptr : r.database.c_str(), port, nullptr, CLIENT_FOUND_ROWS);
    after(status);
  }

  // What happens after a *_start / *_cont call: wait on the socket, or go on.
  void after(int status) noexcept {
    if (db_ == nullptr) return;
    if (status != 0) {
      waiting_ = status;
      watch_for(status);
      return;
    }
    waiting_ = 0;
    done_step();
  }

  void resume(int ready) noexcept {
    int status = 0;
    switch (step_) {
      case Step::kConnect: {
        MYSQL* ret = nullptr;
        status = mysql_real_connect_cont(&ret, db_, ready);
        break;
      }
      case Step::kPrepare:
        status = mysql_stmt_prepare_cont(&int_ret_, stmt_, ready);
        break;
      case Step::kExecute:
        status = mysql_stmt_execute_cont(&int_ret_, stmt_, ready);
        break;
      case Step::kStore:
        status = mysql_stmt_store_result_cont(&int_ret_, stmt_, ready);
        break;
      case Step::kFreeResult:
        status = mysql_stmt_free_result_cont(&bool_ret_, stmt_, ready);
        break;
      case Step::kCloseStmt:
        status = mysql_stmt_close_cont(&bool_ret_, stmt_, ready);
        break;
      case Step::kQuery:
        status = mysql_real_query_cont(&int_ret_, db_, ready);
        break;
      case Step::kStoreText:
        status = mysql_store_result_cont(&result_, db_, ready);
        break;
      case Step::kIdle:
        return;
    }
    after(status);
  }

  // The current call finished: its result decides the next one.
  void done_step() noexcept {
    switch (step_) {
      case Step::kConnect:
        connected_now();
        return;
      case Step::kPrepare:
        if (int_ret_ != 0) {
          refuse_stmt();
          return;
        }
        host_.shard().add(g_stats->counter(sql::kPrepared));
        if (request().mode == sql::Mode::kPrepared) prepared_.push_back({request().id, stmt_});
        execute();
        return;
      case Step::kExecute:
        if (int_ret_ != 0) {
          refuse_stmt();
          return;
        }
        if (mysql_stmt_field_count(stmt_) == 0) {
          rows_ = static_cast<int64_t>(mysql_stmt_affected_rows(stmt_));
          host_.shard().add(g_stats->counter(sql::kRowsAffected), static_cast<uint64_t>(rows_));
          statement_done();
          return;
        }
        {
          my_bool update = capture_ ? 1 : 0;
          mysql_stmt_attr_set(stmt_, STMT_ATTR_UPDATE_MAX_LENGTH, &update);
        }
        step_ = Step::kStore;
        after(mysql_stmt_store_result_start(&int_ret_, stmt_));
        return;
      case Step::kStore:
        if (int_ret_ != 0) {
          refuse_stmt();
          return;
        }
        rows_ = static_cast<int64_t>(mysql_stmt_num_rows(stmt_));
        host_.shard().add(g_stats->counter(sql::kRowsReturned), static_cast<uint64_t>(rows_));
        if (capture_) stmt_rows_json();
        step_ = Step::kFreeResult;
        after(mysql_stmt_free_result_start(&bool_ret_, stmt_));
        return;
      case Step::kFreeResult:
        statement_done();
        return;
      case Step::kCloseStmt:
        stmt_ = nullptr;
        step_ = Step::kIdle;
        done();
        return;
      case Step::kQuery:
        if (int_ret_ != 0) {
          refuse(mysql_sqlstate(db_), mysql_errno(db_), mysql_error(db_));
          return;
        }
        step_ = Step::kStoreText;
        after(mysql_store_result_start(&result_, db_));
        return;
      case Step::kStoreText:
        text_result();
        return;
      case Step::kIdle:
        return;
    }
  }

  void connected_now() noexcept {
    if (mysql_errno(db_) != 0) {
      connect_failed();
      return;
    }
    connect_deadline_ns_ = 0;
    host_.shard().connect_us.record((host_.now() - connect_start_ns_) / 1000);
    step_ = Step::kIdle;
    watch_for(0);
    if (busy_) begin_query();
  }

  void connect_failed() noexcept {
    unsigned int err = mysql_errno(db_);
    std::string state = mysql_sqlstate(db_);
    std::string message = mysql_error(db_);
    drop();
    if (!busy_) return;
    if (err < 2000) {  // the server answered and said no (1045 access denied, 1049 no database)
      refused_report(state, fmt::format("{}: {}", err, message));
      return;
    }
    fail_remaining(err == 2003 || err == 2002   ? ErrorKind::kRefused
                   : err == 2013 || err == 2006 ? ErrorKind::kReset
                                                : ErrorKind::kConnect);
  }

  void begin_query() noexcept {
    const sql::Request& r = request();
    started();
    host_.shard().add(g_stats->counter(sql::kQueries));
    if (!sql::split_fields(payload_, r, &fields_)) {
      fail(ErrorKind::kOther);  // a rendered value held a separator: nothing sent
      return;
    }
    rows_ = -1;
    body_ = {};
    if (r.templated) {
      query_.assign(fields_[0]);
    }
    const std::string& query = r.templated ? query_ : r.query;
    if (r.mode == sql::Mode::kSimple) {
      step_ = Step::kQuery;
      after(mysql_real_query_start(&int_ret_, db_, query.data(), query.size()));
      return;
    }
    auto found = std::find_if(prepared_.begin(), prepared_.end(),
                              [&](const Prepared& p) { return p.id == r.id; });
    if (r.mode == sql::Mode::kPrepared && found != prepared_.end()) {
      stmt_ = found->stmt;
      execute();
      return;
    }
    stmt_ = mysql_stmt_init(db_);
    if (stmt_ == nullptr) {
      fail(ErrorKind::kOther);
      return;
    }
    step_ = Step::kPrepare;
    after(mysql_stmt_prepare_start(&int_ret_, stmt_, query.data(), query.size()));
  }

  void execute() noexcept {
    const sql::Request& r = request();
    size_t first = r.templated ? 1 : 0;
    binds_.assign(r.params, MYSQL_BIND{});
    lengths_.assign(r.params, 0);
    for (size_t i = 0; i < r.params; ++i) {
      std::string_view v = fields_[first + i];
      MYSQL_BIND& b = binds_[i];
      b.buffer_type = MYSQL_TYPE_STRING;
      b.buffer = const_cast<char*>(v.data());
      b.buffer_length = v.size();
      lengths_[i] = v.size();
      b.length = &lengths_[i];
    }
    if (mysql_stmt_param_count(stmt_) != r.params) {
      refuse("07001", 1210,
             fmt::format("the statement takes {} parameters; {} given",
                         mysql_stmt_param_count(stmt_), r.params));
      return;
    }
    if (r.params > 0 && mysql_stmt_bind_param(stmt_, binds_.data()) != 0) {
      refuse_stmt();
      return;
    }
    step_ = Step::kExecute;
    after(mysql_stmt_execute_start(&int_ret_, stmt_));
  }

  // The statement's rows, read from the stored result (no I/O) into JSON.
  void stmt_rows_json() noexcept {
    MYSQL_RES* meta = mysql_stmt_result_metadata(stmt_);
    if (meta == nullptr) return;
    unsigned int cols = mysql_num_fields(meta);
    MYSQL_FIELD* fields = mysql_fetch_fields(meta);
    out_binds_.assign(cols, MYSQL_BIND{});
    out_lengths_.assign(cols, 0);
    out_nulls_.assign(cols, 0);
    cells_.resize(cols);
    for (unsigned int c = 0; c < cols; ++c) {
      cells_[c].resize(std::max<size_t>(fields[c].max_length, 64) + 1);
      MYSQL_BIND& b = out_binds_[c];
      b.buffer_type = MYSQL_TYPE_STRING;
      b.buffer = cells_[c].data();
      b.buffer_length = cells_[c].size();
      b.length = &out_lengths_[c];
      b.is_null = &out_nulls_[c];
    }
    json_.begin();
    if (mysql_stmt_bind_result(stmt_, out_binds_.data()) == 0) {
      for (;;) {
        int f = mysql_stmt_fetch(stmt_);
        if (f != 0 && f != MYSQL_DATA_TRUNCATED) break;
        json_.row();
        for (unsigned int c = 0; c < cols; ++c) {
          if (out_lengths_[c] >= cells_[c].size()) {  // longer than its buffer: fetch it whole
            cells_[c].resize(out_lengths_[c] + 1);
            out_binds_[c].buffer = cells_[c].data();
            out_binds_[c].buffer_length = cells_[c].size();
            mysql_stmt_fetch_column(stmt_, &out_binds_[c], c, 0);
          }
          json_.column(fields[c].name, std::string_view(cells_[c].data(), out_lengths_[c]),
                       out_nulls_[c] != 0, numeric(fields[c].type));
        }
      }
    }
    body_ = json_.end();
    mysql_free_result(meta);
  }

  void text_result() noexcept {
    if (result_ == nullptr) {
      if (mysql_errno(db_) != 0) {
        refuse(mysql_sqlstate(db_), mysql_errno(db_), mysql_error(db_));
        return;
      }
      rows_ = static_cast<int64_t>(mysql_affected_rows(db_));
      host_.shard().add(g_stats->counter(sql::kRowsAffected), static_cast<uint64_t>(rows_));
    } else {
      rows_ = static_cast<int64_t>(mysql_num_rows(result_));
      host_.shard().add(g_stats->counter(sql::kRowsReturned), static_cast<uint64_t>(rows_));
      if (capture_) {
        unsigned int cols = mysql_num_fields(result_);
        MYSQL_FIELD* fields = mysql_fetch_fields(result_);
        json_.begin();
        while (MYSQL_ROW row = mysql_fetch_row(result_)) {
          unsigned long* len = mysql_fetch_lengths(result_);
          json_.row();
          for (unsigned int c = 0; c < cols; ++c) {
            json_.column(fields[c].name, row[c] != nullptr ? std::string_view(row[c], len[c]) : "",
                         row[c] == nullptr, numeric(fields[c].type));
          }
        }
        body_ = json_.end();
      }
      mysql_free_result(result_);  // stored: no I/O left
      result_ = nullptr;
    }
    step_ = Step::kIdle;
    done();
  }

  static bool numeric(enum_field_types t) {
    switch (t) {
      case MYSQL_TYPE_TINY:
      case MYSQL_TYPE_SHORT:
      case MYSQL_TYPE_LONG:
      case MYSQL_TYPE_LONGLONG:
      case MYSQL_TYPE_INT24:
      case MYSQL_TYPE_FLOAT:
      case MYSQL_TYPE_DOUBLE:
      case MYSQL_TYPE_DECIMAL:
      case MYSQL_TYPE_NEWDECIMAL:
      case MYSQL_TYPE_YEAR:
        return true;
      default:
        return false;
    }
  }

  // The statement ran: kept (prepared mode) or closed (extended).
  void statement_done() noexcept {
    if (request().mode == sql::Mode::kExtended) {
      step_ = Step::kCloseStmt;
      after(mysql_stmt_close_start(&bool_ret_, stmt_));
      return;
    }
    step_ = Step::kIdle;
    done();
  }

  void refuse_stmt() noexcept {
    refuse(mysql_stmt_sqlstate(stmt_), mysql_stmt_errno(stmt_), mysql_stmt_error(stmt_));
  }

  void refuse(std::string_view state, unsigned int err, std::string_view message) noexcept {
    if (err >= 2000) {  // a client error: the connection is lost or unusable
      fail(err == 2013 || err == 2006 ? ErrorKind::kReset : ErrorKind::kOther);
      return;
    }
    std::string code(state), text = fmt::format("{}: {}", err, message);
    if (stmt_ != nullptr && step_ == Step::kPrepare) {
      mysql_stmt_close(stmt_);  // never prepared on the server: no I/O
    } else if (stmt_ != nullptr && request().mode == sql::Mode::kExtended) {
      mysql_stmt_close(stmt_);  // a short COM_STMT_CLOSE (no reply) on a blocking write
    }
    stmt_ = nullptr;
    step_ = Step::kIdle;
    watch_for(0);
    refused_report(code, text);
  }

  void refused_report(const std::string& code, const std::string& message) {
    metrics::Shard& s = host_.shard();
    s.add(g_stats->counter(sql::kErrors));
    s.add(g_stats->counter(sql::error_counter(code)));
    report_refused(code, message);
  }

  // The query is answered: back to watching for the peer closing only.
  void done() noexcept {
    watch_for(0);
    report_ok(rows_, body_);
  }

  void fail(ErrorKind kind) noexcept {
    drop();
    fail_remaining(kind);
  }

  // Waits for what libmariadb asked (MYSQL_WAIT_*), or (0) only for the peer closing.
  void watch_for(int wait) noexcept {
    int fd = static_cast<int>(mysql_get_socket(db_));
    if (fd < 0) return;
    watch(fd, ((wait & MYSQL_WAIT_READ) != 0 ? EPOLLIN : 0u) |
                  ((wait & MYSQL_WAIT_WRITE) != 0 ? EPOLLOUT : 0u));
  }

  void drop() noexcept {
    if (db_ == nullptr) return;
    account();
    watch(-1, 0);
    if (result_ != nullptr) mysql_free_result(result_);
    result_ = nullptr;
    // Statements and the connection are freed without a goodbye on the wire (a blocking call
    // could stall the loop): closing the socket ends them on the server.
    int fd = static_cast<int>(mysql_get_socket(db_));
    if (fd >= 0) ::shutdown(fd, SHUT_RDWR);
    for (Prepared& p : prepared_) mysql_stmt_close(p.stmt);
    if (stmt_ != nullptr && std::none_of(prepared_.begin(), prepared_.end(),
                                         [&](const Prepared& p) { return p.stmt == stmt_; })) {
      mysql_stmt_close(stmt_);
    }
    prepared_.clear();
    stmt_ = nullptr;
    mysql_close(db_);
    db_ = nullptr;
    waiting_ = 0;
    step_ = Step::kIdle;
    connect_deadline_ns_ = 0;
  }

  MYSQL* db_ = nullptr;
  MYSQL_STMT* stmt_ = nullptr;
  MYSQL_RES* result_ = nullptr;
  int waiting_ = 0;
  Step step_ = Step::kIdle;
  int int_ret_ = 0;
  my_bool bool_ret_ = 0;
  std::string query_;
  int64_t connect_start_ns_ = 0, connect_deadline_ns_ = 0;
  int64_t rows_ = -1;
  std::string_view body_;
  std::vector<Prepared> prepared_;
  std::vector<std::string_view> fields_;
  std::vector<MYSQL_BIND> binds_, out_binds_;
  std::vector<unsigned long> lengths_, out_lengths_;
  std::vector<my_bool> out_nulls_;
  std::vector<std::vector<char>> cells_;
  sql::RowsJson json_;
};

std::shared_ptr<plan::ProtocolRequest> compile(const proto::RequestInput& in) {
  return sql::compile(in, "MySQL", "--query 'SELECT * FROM items WHERE id = ?'");
}

}  // namespace
}  // namespace spiker::mysql

void spiker_register_mysql() {
  using namespace spiker;
  proto::Protocol p = sql::protocol("mysql", "MySQL", &mysql::g_stats);
  p.schemes = {"mysql", "mariadb"};
  p.summary = "MySQL/MariaDB (mysql://user:pass@host:port/db): --query 'SELECT ... ?' --param";
  p.default_port = 3306;
  p.compile = mysql::compile;
  p.make_session = proto::make_library_session<mysql::Session>;
  mysql_library_init(0, nullptr, nullptr);
  proto::Registry::add(std::move(p));
}
