// What SQL protocols share (PostgreSQL, MySQL/MariaDB): the request a query compiles to (the
// query, its parameters rendered per send, how it is sent), the connection's settings from the
// URL, result rows as the JSON that checks and extractors read, and server errors counted by
// SQLSTATE class.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "metrics/stat_block.h"
#include "proto/protocol.h"

namespace spiker::sql {

// How a query goes to the server (pgbench's -M): prepared once per connection and then
// executed (the default), sent with its parameters each time (extended), or as text (simple).
enum class Mode : uint8_t { kPrepared, kExtended, kSimple };

// Fields of a rendered payload: the query's parameters, and before them the query itself when
// it has ${...}; separated by kFieldSeparator, pipelined requests by kRecordSeparator.
inline constexpr char kFieldSeparator = '\x1f';
inline constexpr char kRecordSeparator = '\x1e';

struct Request : plan::ProtocolRequest {
  std::string query;       // as written; when `templated`, rendered into the payload instead
  bool templated = false;  // the query has ${...}: it is the payload's first field (unprepared)
  uint16_t params = 0;     // parameters that follow in the payload
  Mode mode = Mode::kPrepared;
  uint32_t id = 0;  // unique per compiled request: names its prepared statement ("ls_<id>")
  // From the URL: postgres://user:pass@host:port/db?sslmode=require&application_name=x
  std::string user, password, database;
  bool has_password = false;
  std::vector<std::pair<std::string, std::string>> url_options;
};

// The step keys, actions and flags an SQL protocol takes: "sql" (a query) and "sql.close"
// (closes the VU's connection; the next query opens another).
inline const std::vector<std::string> kKeys = {"query", "params", "param", "mode"};
std::vector<proto::ActionDef> actions();
std::vector<proto::FlagDef> flags(std::string_view label);

// Compiles a query (--query / query, --param / params, --mode) for `dialect` ("PostgreSQL").
// Throws SetupError naming the input's place.
std::shared_ptr<Request> compile(const proto::RequestInput& in, std::string_view dialect,
                                 std::string_view example);
std::string describe(const plan::ProtocolRequest& r);

// Splits one rendered request into its fields (query when templated, then the params).
// False when the count does not match (a rendered value held a separator).
bool split_fields(std::string_view payload, const Request& r, std::vector<std::string_view>* out);

// A result set as JSON: [{"id":1,"name":"a"},...]; numbers bare, NULL as null.
class RowsJson {
 public:
  void begin() {
    out_.clear();
    out_ += '[';
    rows_ = 0;
  }
  void row() {
    out_ += rows_++ == 0 ? "{" : "},{";
    cols_ = 0;
  }
  void column(std::string_view name, std::string_view value, bool null, bool numeric);
  std::string_view end() {
    out_ += rows_ == 0 ? "]" : "}]";
    return out_;
  }

 private:
  std::string out_;
  size_t rows_ = 0, cols_ = 0;
};

// Counters every SQL protocol's stat block starts with, in this order.
enum Counter : uint32_t {
  kQueries,
  kRowsReturned,
  kRowsAffected,
  kPrepared,
  kConnects,
  kPipelines,
  kErrors,
  kErrIntegrity,   // SQLSTATE class 23
  kErrSyntax,      // 42: syntax error or access rule violation (unknown table, ...)
  kErrAuth,        // 28: invalid authorization
  kErrConnection,  // 08
  kErrRollback,    // 40: serialization failure, deadlock
  kErrResources,   // 53, 54, 57: insufficient resources, limits, operator intervention
  kErrOther,
  kProtocolErrors,  // the server's bytes broke the wire protocol (not an SQL error)
  kCounterCount
};
// A stat block for an SQL protocol ("postgres", "PostgreSQL").
metrics::StatBlockDef stat_block(std::string name, std::string title);
// A Protocol with what SQL protocols share filled in (label = name, flags, actions, its stat
// block, registered now and stored in `*stats`, describe); the caller adds its schemes, summary,
// port, compile and session factory.
proto::Protocol protocol(const std::string& name, const std::string& title,
                         const metrics::StatBlock** stats);
// The counter of a SQLSTATE's class.
Counter error_counter(std::string_view sqlstate);

}  // namespace spiker::sql
