#include "proto/sql.h"

#include <fmt/format.h>

#include <atomic>
#include <charconv>

#include "core/error.h"
#include "core/strings.h"
#include "core/url.h"
#include "proto/payload.h"

namespace spiker::sql {

std::vector<proto::FlagDef> flags(std::string_view label) {
  return {
      {"query", fmt::format("{}: the SQL query ($1, ? placeholders; templates allowed)", label)},
      {"param", "SQL: a query parameter, in order; repeat for each (templates allowed)", true},
      {"mode", "SQL: prepared (once per connection, the default), extended or simple"}};
}

std::vector<proto::ActionDef> actions() {
  return {{"sql", proto::Verb::kExchange, kKeys, true, true},
          {"sql.close", proto::Verb::kClose, {}, false, false}};
}

std::shared_ptr<Request> compile(const proto::RequestInput& in, std::string_view dialect,
                                 std::string_view example) {
  auto r = std::make_shared<Request>();
  if (in.action == 1) {  // sql.close
    proto::reject_unknown(in, {});
    r->verb = static_cast<uint8_t>(proto::Verb::kClose);
    r->action = 1;
    r->action_name = "sql.close";
    return r;
  }
  proto::reject_unknown(in, kKeys);
  const proto::Option* query = proto::find_option(in, "query");
  if (query != nullptr && in.payload_given) {
    throw SetupError(
        fmt::format("{}: give the query once: {} or the body, not both", query->where, query->key));
  }
  r->query = query != nullptr ? query->value : in.payload;
  if (trim(r->query).empty()) {
    throw SetupError(fmt::format("{}: no {} query: give {} (a step: query = \"...\")", in.where,
                                 dialect, example));
  }
  r->templated = r->query.find("${") != std::string::npos;
  std::vector<const proto::Option*> params = proto::find_all(in, "params");
  for (const proto::Option* o : proto::find_all(in, "param")) params.push_back(o);
  if (params.size() > 65535) throw SetupError(fmt::format("{}: too many parameters", in.where));
  r->params = static_cast<uint16_t>(params.size());
  r->mode = r->templated ? Mode::kExtended : Mode::kPrepared;
  if (const proto::Option* mode = proto::find_option(in, "mode")) {
    if (mode->value == "prepared") {
      r->mode = Mode::kPrepared;
    } else if (mode->value == "extended") {
      r->mode = Mode::kExtended;
    } else if (mode->value == "simple") {
      r->mode = Mode::kSimple;
    } else {
      throw SetupError(fmt::format("{}: {} is prepared, extended or simple (got '{}')", mode->where,
                                   mode->key, mode->value));
    }
    if (r->mode == Mode::kPrepared && r->templated) {
      throw SetupError(fmt::format(
          "{}: a query with ${{...}} changes per request and cannot be prepared once; pass the "
          "changing values as parameters ($1 / ?) or use mode extended",
          mode->where));
    }
    if (r->mode == Mode::kSimple && r->params > 0) {
      throw SetupError(fmt::format(
          "{}: mode simple sends the query as text, without parameters; use prepared or "
          "extended",
          mode->where));
    }
  }
  std::string payload = r->templated ? r->query : std::string();
  for (size_t i = 0; i < params.size(); ++i) {
    if (params[i]->value.find(kFieldSeparator) != std::string::npos ||
        params[i]->value.find(kRecordSeparator) != std::string::npos) {
      throw SetupError(
          fmt::format("{}: a parameter cannot hold the bytes 0x1e or 0x1f", params[i]->where));
    }
    if (r->templated || i > 0) payload += kFieldSeparator;
    payload += params[i]->value;
  }
  r->payload = std::move(payload);
  const Url& u = in.url;
  r->user = u.user;
  r->password = u.password;
  r->has_password = u.has_password;
  std::string_view path = u.target;
  size_t q = path.find('?');
  std::string_view db = path.substr(0, q);
  while (db.starts_with("/")) db.remove_prefix(1);
  r->database = percent_decode(db);
  if (q != std::string_view::npos) {
    std::string_view opts = path.substr(q + 1);
    while (!opts.empty()) {
      size_t amp = opts.find('&');
      std::string_view kv = opts.substr(0, amp);
      opts = amp == std::string_view::npos ? std::string_view() : opts.substr(amp + 1);
      if (kv.empty()) continue;
      size_t eq = kv.find('=');
      r->url_options.emplace_back(
          percent_decode(kv.substr(0, eq)),
          eq == std::string_view::npos ? "" : percent_decode(kv.substr(eq + 1)));
    }
  }
  static std::atomic<uint32_t> next_id{0};
  r->id = ++next_id;
  r->verb = static_cast<uint8_t>(proto::Verb::kExchange);
  r->action = 0;
  r->action_name = "sql";
  return r;
}

std::string describe(const plan::ProtocolRequest& pr) {
  const auto& r = static_cast<const Request&>(pr);
  if (r.action == 1) return "close the connection";
  const char* mode = r.mode == Mode::kPrepared   ? "prepared"
                     : r.mode == Mode::kExtended ? "extended"
                                                 : "simple";
  return fmt::format("query {} ({}, {} parameter{}{})", r.query, mode, r.params,
                     r.params == 1 ? "" : "s",
                     r.database.empty() ? "" : ", database " + r.database);
}

bool split_fields(std::string_view payload, const Request& r, std::vector<std::string_view>* out) {
  out->clear();
  size_t want = r.params + (r.templated ? 1u : 0u);
  if (want == 0) return payload.empty();
  for (;;) {
    size_t sep = payload.find(kFieldSeparator);
    out->push_back(payload.substr(0, sep));
    if (sep == std::string_view::npos) break;
    payload.remove_prefix(sep + 1);
  }
  return out->size() == want;
}

void RowsJson::column(std::string_view name, std::string_view value, bool null, bool numeric) {
  if (cols_++ > 0) out_ += ',';
  append_json_string(out_, name);
  out_ += ':';
  if (null) {
    out_ += "null";
  } else if (numeric && !value.empty() && value != "NaN" && value != "Infinity" &&
             value != "-Infinity") {
    out_ += value;
  } else {
    append_json_string(out_, value);
  }
}

metrics::StatBlockDef stat_block(std::string name, std::string title) {
  metrics::StatBlockDef d;
  d.name = std::move(name);
  d.title = std::move(title);
  d.counters = {"queries",
                "rows_returned",
                "rows_affected",
                "prepared_statements",
                "connects",
                "pipelines",
                "server_errors",
                "errors_23_integrity",
                "errors_42_syntax",
                "errors_28_auth",
                "errors_08_connection",
                "errors_40_rollback",
                "errors_53_resources",
                "errors_other",
                "protocol_errors"};
  d.summary = {"queries", "rows_returned", "rows_affected", "server_errors"};
  d.per_second = {"queries"};
  d.derive = [](const uint64_t* c, double) {
    std::vector<std::pair<std::string, double>> out;
    if (c[kPipelines] > 0) {
      out.emplace_back("pipeline_depth",
                       static_cast<double>(c[kQueries]) / static_cast<double>(c[kPipelines]));
    }
    return out;
  };
  return d;
}

proto::Protocol protocol(const std::string& name, const std::string& title,
                         const metrics::StatBlock** stats) {
  *stats = &metrics::StatBlocks::add(stat_block(name, title));
  proto::Protocol p;
  p.name = name;
  p.label = name;
  p.flags = flags("PostgreSQL/MySQL");
  p.actions = actions();
  p.stats = *stats;
  p.describe = describe;
  return p;
}

Counter error_counter(std::string_view s) {
  std::string_view cls = s.substr(0, 2);
  if (cls == "23") return kErrIntegrity;
  if (cls == "42") return kErrSyntax;
  if (cls == "28") return kErrAuth;
  if (cls == "08") return kErrConnection;
  if (cls == "40") return kErrRollback;
  if (cls == "53" || cls == "54" || cls == "57") return kErrResources;
  return kErrOther;
}

}  // namespace spiker::sql
