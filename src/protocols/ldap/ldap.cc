// LDAP (ldap://host:port, default 389): libldap's asynchronous operations on the worker's loop.
// The TCP connection is ours (a non-blocking connect on the loop), handed to libldap with
// ldap_init_fd; each operation is started with its message id (ldap_search_ext, ldap_sasl_bind,
// ldap_add_ext, ldap_modify_ext, ldap_delete_ext) and its result collected with ldap_result and
// a zero timeout when the socket is readable. --bind-dn / --bind-password bind each new
// connection first. Search entries become JSON ([{"dn": ..., "cn": "..."}]) for checks and
// extraction, only when one reads them; a result code other than success is a refused request
// whose "error" is the code ("32": no such object, "49": invalid credentials).
#include <fmt/format.h>
#include <ldap.h>
#include <openldap.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/socket.h"
#include "core/strings.h"
#include "metrics/shard.h"
#include "proto/library_session.h"
#include "proto/payload.h"
#include "proto/protocol.h"

namespace spiker::ldapp {
namespace {

using metrics::ErrorKind;

constexpr char kSeparator = '\x1f';  // between a rendered request's fields

const metrics::StatBlock* g_stats = nullptr;
enum Counter : uint32_t {
  kOperations,
  kSearches,
  kEntries,
  kBinds,
  kAdds,
  kModifies,
  kDeletes,
  kErrors,
  kErrNoSuchObject,
  kErrInvalidCredentials,
  kErrAlreadyExists,
  kErrOther,
  kCounterCount
};
constexpr const char* kCounterNames[] = {"operations",
                                         "searches",
                                         "entries",
                                         "binds",
                                         "adds",
                                         "modifies",
                                         "deletes",
                                         "result_errors",
                                         "errors_32_no_such_object",
                                         "errors_49_invalid_credentials",
                                         "errors_68_already_exists",
                                         "errors_other"};
static_assert(std::size(kCounterNames) == kCounterCount, "a name per counter");

enum class Op : uint8_t { kSearch, kBind, kAdd, kModify, kDelete };
constexpr const char* kOpNames[] = {"search", "bind", "add", "modify", "delete"};

struct Request : plan::ProtocolRequest {
  Op op = Op::kSearch;
  int scope = LDAP_SCOPE_SUBTREE;
  std::vector<std::string> attributes;  // search: the attributes to return (empty: all)
  std::vector<std::string> attr_names;  // add / modify: each value's attribute, in order
  std::string bind_dn, bind_password;   // bound on each new connection (empty: anonymous)
  // The payload: base (or dn), then filter (or password), then the add/modify values.
};

class Session final : public proto::LibrarySession {
 public:
  using LibrarySession::LibrarySession;
  ~Session() override { drop(); }

  void submit(const proto::Exchange& x) noexcept override {
    if (!take(x)) return;  // a close
    if (fd_ < 0) {
      connect();
      return;
    }
    if (ld_ != nullptr) start();
  }

  void check_deadline(int64_t now) noexcept override {
    if (fd_ >= 0 && ld_ == nullptr && connect_deadline_ns_ != 0 && now >= connect_deadline_ns_) {
      fail(ErrorKind::kConnect);
      return;
    }
    if (busy_ && deadline_ns_ != 0 && now >= deadline_ns_) fail(ErrorKind::kTimeout);
  }

  void close() noexcept override { drop(); }
  bool connected() const noexcept override { return fd_ >= 0; }

  void on_io(uint32_t events) noexcept override {
    if (fd_ < 0) return;
    if (ld_ == nullptr) {  // connecting
      int err = socket_error(fd_);
      if (err != 0 || (events & (EPOLLERR | EPOLLHUP)) != 0) {
        fail(proto::classify_errno(err != 0 ? err : ECONNREFUSED));
        return;
      }
      if ((events & EPOLLOUT) == 0) return;
      opened();
      return;
    }
    if (msgid_ < 0) {  // idle: the server closed the connection
      if ((events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0) drop();
      return;
    }
    collect();
  }

 private:
  const Request& request() const { return static_cast<const Request&>(*request_); }

  void connect() noexcept {
    const SocketAddress& addr = host_.next_address(options_.endpoint);
    int fd = start_connect(addr);
    connect_start_ns_ = host_.now();
    if (fd < 0) {
      fail_remaining(proto::classify_errno(-fd));
      return;
    }
    url_ = fmt::format("ldap://{}", addr.to_string());
    ++host_.shard().connections_opened;
    connect_deadline_ns_ = connect_start_ns_ + options_.connect_timeout_ns;
    watch(fd, EPOLLOUT);
  }

  void opened() noexcept {
    if (ldap_init_fd(fd_, LDAP_PROTO_TCP, url_.c_str(), &ld_) != LDAP_SUCCESS) {
      ld_ = nullptr;
      fail(ErrorKind::kOther);
      return;
    }
    int version = LDAP_VERSION3;
    ldap_set_option(ld_, LDAP_OPT_PROTOCOL_VERSION, &version);
    ldap_set_option(ld_, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
    connect_deadline_ns_ = 0;
    host_.shard().connect_us.record((host_.now() - connect_start_ns_) / 1000);
    bound_ = false;
    watch(fd_, EPOLLIN);
    if (busy_) start();
  }

  // The exchange's operation (after the connection's bind, when it has one).
  void start() noexcept {
    const Request& r = request();
    if (started_ns_ == 0) started();
    if (!bound_ && !r.bind_dn.empty()) {
      binding_ = true;
      berval cred{r.bind_password.size(), const_cast<char*>(r.bind_password.c_str())};
      if (ldap_sasl_bind(ld_, r.bind_dn.c_str(), LDAP_SASL_SIMPLE, &cred, nullptr, nullptr,
                         &msgid_) != LDAP_SUCCESS) {
        fail(ErrorKind::kReset);
      }
      return;
    }
    binding_ = false;
    fields_.clear();
    std::string_view rest = payload_;
    for (;;) {
      size_t sep = rest.find(kSeparator);
      fields_.emplace_back(rest.substr(0, sep));
      if (sep == std::string_view::npos) break;
      rest.remove_prefix(sep + 1);
    }
    if (fields_.size() != 2 + r.attr_names.size()) {
      fail(ErrorKind::kOther);  // a rendered value held the separator: nothing sent
      return;
    }
    metrics::Shard& s = host_.shard();
    s.add(g_stats->counter(kOperations));
    int rc = LDAP_OTHER;
    const char* dn = fields_[0].c_str();
    switch (r.op) {
      case Op::kSearch: {
        s.add(g_stats->counter(kSearches));
        attrs_.clear();
        for (const std::string& a : r.attributes) attrs_.push_back(const_cast<char*>(a.c_str()));
        attrs_.push_back(nullptr);
        rc = ldap_search_ext(ld_, dn, r.scope, fields_[1].empty() ? nullptr : fields_[1].c_str(),
                             r.attributes.empty() ? nullptr : attrs_.data(), 0, nullptr, nullptr,
                             nullptr, LDAP_NO_LIMIT, &msgid_);
        break;
      }
      case Op::kBind: {
        s.add(g_stats->counter(kBinds));
        berval cred{fields_[1].size(), fields_[1].data()};
        rc = ldap_sasl_bind(ld_, dn, LDAP_SASL_SIMPLE, &cred, nullptr, nullptr, &msgid_);
        break;
      }
      case Op::kAdd:
      case Op::kModify: {
        s.add(g_stats->counter(r.op == Op::kAdd ? kAdds : kModifies));
        build_mods(r);
        rc = r.op == Op::kAdd
                 ? ldap_add_ext(ld_, dn, mod_ptrs_.data(), nullptr, nullptr, &msgid_)
                 : ldap_modify_ext(ld_, dn, mod_ptrs_.data(), nullptr, nullptr, &msgid_);
        break;
      }
      case Op::kDelete:
        s.add(g_stats->counter(kDeletes));
        rc = ldap_delete_ext(ld_, dn, nullptr, nullptr, &msgid_);
        break;
    }
    if (rc != LDAP_SUCCESS) {
      msgid_ = -1;
      fail(ErrorKind::kReset);  // the request could not be written: the connection is gone
    }
  }

  // add / modify: one LDAPMod per attribute name, its values in order.
  void build_mods(const Request& r) {
    mods_.clear();
    values_.clear();
    for (size_t i = 0; i < r.attr_names.size(); ++i) {
      auto at = std::find_if(mods_.begin(), mods_.end(),
                             [&](const auto& m) { return m.first == r.attr_names[i]; });
      if (at == mods_.end()) {
        mods_.push_back({r.attr_names[i], {}});
        at = mods_.end() - 1;
      }
      at->second.push_back(const_cast<char*>(fields_[2 + i].c_str()));
    }
    mod_structs_.assign(mods_.size(), LDAPMod{});
    mod_ptrs_.clear();
    for (size_t i = 0; i < mods_.size(); ++i) {
      mods_[i].second.push_back(nullptr);
      LDAPMod& m = mod_structs_[i];
      m.mod_op = r.op == Op::kAdd ? LDAP_MOD_ADD : LDAP_MOD_REPLACE;
      m.mod_type = const_cast<char*>(mods_[i].first.c_str());
      m.mod_values = mods_[i].second.data();
      mod_ptrs_.push_back(&m);
    }
    mod_ptrs_.push_back(nullptr);
  }

  // Reads what has come; the whole result (a search's entries and its done message) ends it.
  void collect() noexcept {
    timeval zero{0, 0};
    LDAPMessage* res = nullptr;
    int type = ldap_result(ld_, msgid_, LDAP_MSG_ALL, &zero, &res);
    if (type == 0) return;  // not complete yet
    if (type < 0) {
      if (res != nullptr) ldap_msgfree(res);
      fail(ErrorKind::kReset);
      return;
    }
    msgid_ = -1;
    int rc = LDAP_OTHER;
    char* message = nullptr;
    int64_t entries = 0;
    std::string_view body;
    if (type == LDAP_RES_SEARCH_ENTRY || type == LDAP_RES_SEARCH_RESULT) {
      entries = ldap_count_entries(ld_, res);
      if (capture_ && entries > 0) body = entries_json(res);
      if (capture_ && entries == 0) body = "[]";
    }
    LDAPMessage* done = type == LDAP_RES_SEARCH_ENTRY || type == LDAP_RES_SEARCH_REFERENCE
                            ? ldap_first_message(ld_, res)
                            : res;
    for (LDAPMessage* m = done; m != nullptr; m = ldap_next_message(ld_, m)) {
      int t = ldap_msgtype(m);
      if (t != LDAP_RES_SEARCH_ENTRY && t != LDAP_RES_SEARCH_REFERENCE) {
        ldap_parse_result(ld_, m, &rc, nullptr, &message, nullptr, nullptr, 0);
        break;
      }
    }
    std::string text = message != nullptr ? message : "";
    if (message != nullptr) ldap_memfree(message);
    ldap_msgfree(res);
    if (binding_) {  // the connection's own bind
      if (rc != LDAP_SUCCESS) {
        refuse(rc, text);
        return;
      }
      bound_ = true;
      start();
      return;
    }
    if (rc != LDAP_SUCCESS) {
      refuse(rc, text);
      return;
    }
    if (request().op == Op::kSearch) {
      host_.shard().add(g_stats->counter(kEntries), static_cast<uint64_t>(entries));
    }
    report_ok(request().op == Op::kSearch ? entries : 1, body);
  }

  std::string_view entries_json(LDAPMessage* res) {
    json_.assign("[");
    bool first_entry = true;
    for (LDAPMessage* e = ldap_first_entry(ld_, res); e != nullptr; e = ldap_next_entry(ld_, e)) {
      json_ += first_entry ? "{" : ",{";
      first_entry = false;
      char* dn = ldap_get_dn(ld_, e);
      json_ += "\"dn\":";
      append_json_string(json_, dn != nullptr ? dn : "");
      if (dn != nullptr) ldap_memfree(dn);
      BerElement* ber = nullptr;
      for (char* a = ldap_first_attribute(ld_, e, &ber); a != nullptr;
           a = ldap_next_attribute(ld_, e, ber)) {
        berval** vals = ldap_get_values_len(ld_, e, a);
        int n = vals != nullptr ? ldap_count_values_len(vals) : 0;
        json_ += ',';
        append_json_string(json_, a);
        json_ += ':';
        if (n != 1) json_ += '[';
        for (int i = 0; i < n; ++i) {
          if (i > 0) json_ += ',';
          append_json_string(json_, std::string_view(vals[i]->bv_val, vals[i]->bv_len));
        }
        if (n != 1) json_ += ']';
        if (vals != nullptr) ldap_value_free_len(vals);
        ldap_memfree(a);
      }
      if (ber != nullptr) ber_free(ber, 0);
      json_ += '}';
    }
    json_ += ']';
    return json_;
  }

  void refuse(int rc, const std::string& message) {
    metrics::Shard& s = host_.shard();
    s.add(g_stats->counter(kErrors));
    s.add(g_stats->counter(rc == LDAP_NO_SUCH_OBJECT        ? kErrNoSuchObject
                           : rc == LDAP_INVALID_CREDENTIALS ? kErrInvalidCredentials
                           : rc == LDAP_ALREADY_EXISTS      ? kErrAlreadyExists
                                                            : kErrOther));
    std::string text =
        fmt::format("{}: {}{}{}", rc, ldap_err2string(rc), message.empty() ? "" : ": ", message);
    report_refused(std::to_string(rc), text);
  }

  void fail(ErrorKind kind) noexcept {
    drop();
    fail_remaining(kind);
  }

  void drop() noexcept {
    if (fd_ < 0) return;
    account();
    int fd = fd_;
    watch(-1, 0);
    if (ld_ != nullptr) {
      ldap_unbind_ext(ld_, nullptr, nullptr);  // closes the socket
      ld_ = nullptr;
    } else {
      ::close(fd);
    }
    msgid_ = -1;
    bound_ = binding_ = false;
    connect_deadline_ns_ = 0;
  }

  LDAP* ld_ = nullptr;
  int msgid_ = -1;
  bool bound_ = false, binding_ = false;
  std::string url_, json_;
  int64_t connect_start_ns_ = 0, connect_deadline_ns_ = 0;
  std::vector<std::string> fields_;
  std::vector<char*> attrs_;
  std::vector<std::pair<std::string, std::vector<char*>>> mods_;
  std::vector<LDAPMod> mod_structs_;
  std::vector<LDAPMod*> mod_ptrs_;
  std::vector<std::string> values_;
};

const std::vector<std::string> kKeys = {"operation",  "base",         "filter",   "scope",
                                        "attributes", "dn",           "password", "attribute",
                                        "bind_dn",    "bind_password"};

std::shared_ptr<plan::ProtocolRequest> compile(const proto::RequestInput& in) {
  auto r = std::make_shared<Request>();
  r->verb = static_cast<uint8_t>(proto::Verb::kExchange);
  r->action = static_cast<uint8_t>(in.action < 0 ? 0 : in.action);
  r->action_name = in.action == 1 ? "ldap.close" : "ldap";
  if (in.action == 1) {
    proto::reject_unknown(in, {});
    r->verb = static_cast<uint8_t>(proto::Verb::kClose);
    return r;
  }
  // Flags are spelled with '-', step keys with '_'.
  proto::RequestInput norm = in;
  for (proto::Option& o : norm.options) std::replace(o.key.begin(), o.key.end(), '-', '_');
  proto::reject_unknown(norm, kKeys);
  if (in.payload_given) {
    throw SetupError(
        fmt::format("{}: LDAP takes no body; give base/filter, or dn and attributes", in.where));
  }
  auto value = [&](const char* key) -> std::string {
    const proto::Option* o = proto::find_option(norm, key);
    return o != nullptr ? o->value : std::string();
  };
  std::string op = value("operation");
  if (op.empty()) op = "search";
  auto known = std::find(std::begin(kOpNames), std::end(kOpNames), op);
  if (known == std::end(kOpNames)) {
    throw SetupError(
        fmt::format("{}: operation '{}': use search, bind, add, modify or delete", in.where, op));
  }
  r->op = static_cast<Op>(known - std::begin(kOpNames));
  std::string first, second;
  auto need = [&](const std::string& v, const char* what) {
    if (v.empty()) {
      throw SetupError(fmt::format("{}: LDAP {} needs {}", in.where, op, what));
    }
  };
  if (r->op == Op::kSearch) {
    first = value("base");
    need(first, "a base (--base 'dc=example,dc=org'; a step: base = \"...\")");
    second = value("filter");
    if (second.empty()) second = "(objectClass=*)";
    std::string scope = value("scope");
    if (scope == "base") {
      r->scope = LDAP_SCOPE_BASE;
    } else if (scope == "one" || scope == "onelevel") {
      r->scope = LDAP_SCOPE_ONELEVEL;
    } else if (scope.empty() || scope == "sub" || scope == "subtree") {
      r->scope = LDAP_SCOPE_SUBTREE;
    } else {
      throw SetupError(fmt::format("{}: scope '{}': use base, one or sub", in.where, scope));
    }
    for (const proto::Option* o : proto::find_all(norm, "attributes")) {
      std::string_view list = o->value;
      while (!list.empty()) {
        size_t comma = list.find(',');
        std::string_view a = trim(list.substr(0, comma));
        if (!a.empty()) r->attributes.emplace_back(a);
        list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
      }
    }
  } else {
    first = value("dn");
    need(first, "a dn (--dn 'uid=u1,ou=people,dc=example'; a step: dn = \"...\")");
    if (r->op == Op::kBind) second = value("password");
  }
  std::vector<std::string> values;
  for (const proto::Option* o : proto::find_all(norm, "attribute")) {
    size_t eq = o->value.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw SetupError(fmt::format("{}: {} is NAME=VALUE (cn=Jane Doe)", o->where, o->key));
    }
    if (r->op != Op::kAdd && r->op != Op::kModify) {
      throw SetupError(fmt::format("{}: {} applies to add and modify", o->where, o->key));
    }
    r->attr_names.push_back(o->value.substr(0, eq));
    values.push_back(o->value.substr(eq + 1));
  }
  if ((r->op == Op::kAdd || r->op == Op::kModify) && values.empty()) {
    throw SetupError(
        fmt::format("{}: LDAP {} needs attributes (--attribute NAME=VALUE, "
                    "repeated; a step: attribute = [\"cn=Jane\", ...])",
                    in.where, op));
  }
  r->bind_dn = value("bind_dn");
  r->bind_password = value("bind_password");
  std::string payload = first + kSeparator + second;
  for (const std::string& v : values) payload += kSeparator + v;
  for (const std::string& part : {first, second}) {
    if (part.find(kSeparator) != std::string::npos) {
      throw SetupError(fmt::format("{}: a value cannot hold the byte 0x1f", in.where));
    }
  }
  r->payload = std::move(payload);
  return r;
}

std::string describe(const plan::ProtocolRequest& pr) {
  const auto& r = static_cast<const Request&>(pr);
  if (r.verb == static_cast<uint8_t>(proto::Verb::kClose)) return "close the connection";
  std::string_view p = r.payload;
  std::string_view first = p.substr(0, p.find(kSeparator));
  if (r.op == Op::kSearch) {
    std::string_view filter = p.substr(first.size() + 1);
    return fmt::format("search {} {}", first, filter.substr(0, filter.find(kSeparator)));
  }
  return fmt::format("{} {}", kOpNames[static_cast<int>(r.op)], first);
}

}  // namespace
}  // namespace spiker::ldapp

void spiker_register_ldap() {
  using namespace spiker;
  metrics::StatBlockDef stats;
  stats.name = "ldap";
  stats.title = "LDAP";
  stats.counters.assign(std::begin(ldapp::kCounterNames), std::end(ldapp::kCounterNames));
  stats.summary = {"operations", "entries", "result_errors"};
  stats.per_second = {"operations"};
  ldapp::g_stats = &metrics::StatBlocks::add(std::move(stats));
  proto::Protocol p;
  p.name = "ldap";
  p.schemes = {"ldap"};
  p.summary = "LDAP (ldap://host:port): --base 'dc=x' --filter '(uid=${...})', or --operation";
  p.label = "ldap";
  p.default_port = 389;
  p.flags = {{"operation", "ldap: search (default), bind, add, modify or delete"},
             {"base", "ldap: the search base (templates allowed)"},
             {"filter", "ldap: the search filter, default (objectClass=*) (templates allowed)"},
             {"scope", "ldap: base, one or sub (default)"},
             {"attributes", "ldap: attributes a search returns, comma-separated (default: all)"},
             {"dn", "ldap: the entry of bind, add, modify or delete (templates allowed)"},
             {"password", "ldap: the password of a bind operation"},
             {"attribute", "ldap: NAME=VALUE for add / modify (replace); repeat for each", true},
             {"bind-dn", "ldap: bind each new connection as this DN first"},
             {"bind-password", "ldap: the password for --bind-dn"}};
  p.actions = {{"ldap", proto::Verb::kExchange, ldapp::kKeys, true, true},
               {"ldap.close", proto::Verb::kClose, {}, false, false}};
  p.stats = ldapp::g_stats;
  p.compile = ldapp::compile;
  p.make_session = proto::make_library_session<ldapp::Session>;
  p.describe = ldapp::describe;
  proto::Registry::add(std::move(p));
}
