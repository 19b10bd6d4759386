// The parts of a journey file before they become plan steps: raw steps as written, file-wide
// defaults, the readers of a step's request keys and the compiler that turns a raw step into a
// plan::Step. Internal to src/config (journey_reader.cc, step_reader.cc, step_compiler.cc).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config_file.h"
#include "config/section.h"
#include "core/url.h"
#include "plan/journey.h"
#include "plan/template.h"

namespace spiker::config::detail {

using Pairs = std::vector<std::pair<std::string, std::string>>;

// A piece of a body: template text, or bytes taken as they are (an uploaded file).
struct BodyPart {
  bool literal = false;
  std::string text;
};

struct Auth {
  std::optional<std::string> header_name, header_value, query_name, query_value;
};

struct RawStep {
  std::string name, where;
  std::optional<std::string> method, url, action, match;
  std::optional<std::string> connection;  // a [connections] name instead of url
  bool graphql = false;                   // action = "graphql": an HTTP POST of the query
  std::string connection_where;
  std::optional<bool> binary;
  std::string match_where;
  Pairs headers, query, extracts, tags;
  std::vector<std::string> extract_where;
  std::vector<BodyPart> body;
  bool has_body = false;
  std::string content_type;
  std::vector<plan::Check> checks;
  std::vector<std::string> depends_on;
  bool explicit_deps = false;
  std::string if_text;
  bool once = false;
  std::optional<std::string> think, timeout;
  Auth auth;
  // A registered protocol's step (tcp.send, ...): its own keys as written.
  struct ProtoKey {
    std::string key, value, where;
  };
  std::vector<ProtoKey> proto_keys;
};

struct RawScenario {
  std::optional<plan::ScenarioLoad> load;
  std::string name, where;
  uint32_t weight = 1;
  bool kaioken = false;  // one request, depends_on names other scenarios
  std::optional<std::string> think;
  Pairs tags;
  std::vector<RawStep> steps;
};

struct Defaults {
  std::optional<std::string> base_url, timeout, think;
  Pairs headers;
  Auth auth;
  bool cookie_jar = false;
  int max_redirects = 10;
  // [connections]: name -> URL (db = "postgres://..." or [connections.db] url = "..."), for
  // steps' `connection = "db"`.
  Pairs connections;
};

// Names of variables: lower case, digits and '_' (upper case names are environment variables).
bool is_var_name(std::string_view s);
// `file` relative to the config file's folder (absolute paths stay).
std::string resolve_path(const std::string& file, const std::string& config_path);
// The whole file; throws ConfigError naming `where`.
std::string read_whole(const std::string& path, const std::string& where);
// A table of strings ({ k = "v" }), in file order.
Pairs read_string_table(Section& s, std::string_view key);
// Percent-encodes a query name or value.
std::string query_encode(std::string_view s);
// [defaults] auth or a step's auth: basic, bearer or api_key (header or query).
Auth read_auth(Section& s);
// The request keys shared by a Kaioken scenario and a native step.
void read_request(Section& s, RawStep& r, const std::string& path);
// Kaioken's [target] request sources (urls_from_file, body_lines_file, rand_regex_url,
// form_data) into the target step and the journey's data tables (request_sources.cc).
void kaioken_sources(const TargetSection& target, const std::string& path, plan::Journey& j,
                     RawStep& st);
// name = "value" | "@path;filename=x;type=mime" fields as the step's multipart/form-data body.
void add_multipart(const Pairs& fields, RawStep& r, const std::string& path);
// [defaults] (with [target]'s host as the base for relative urls) (journey_sections.cc).
Defaults read_defaults(const toml::table& root, Section& top, const TargetSection& target,
                       const std::string& path);
// [data.NAME] tables into the journey.
void read_data(Section& top, plan::Journey& j, const std::string& path);
// k6's per-scenario load: executor plus its keys, or nothing.
std::optional<plan::ScenarioLoad> read_scenario_load(Section& s, const std::string& path);

// Turns raw steps into plan steps: URLs into origins and targets, templates compiled against
// the journey's variables, defaults applied, WebSocket actions tied to their scenario's
// ws.connect.
class StepCompiler {
 public:
  StepCompiler(plan::Journey& j, const Defaults& d, const std::string& path)
      : j_(j), d_(d), path_(path) {}
  void set_scope(const plan::Scope& scope) { scope_ = scope; }
  int var_slot(std::string_view name) const;
  // Steps of a new scenario: ws.send/receive/close use its own ws.connect's host.
  void begin_scenario() {
    ws_origin_.reset();
    proto_origin_.clear();
  }
  plan::Step compile(const RawStep& r, uint16_t id);
  uint64_t tables_used(const plan::Step& st) const;

 private:
  static plan::Action action_of(const RawStep& r);
  plan::Step compile_ws_use(const RawStep& r, plan::Step& st);
  // tcp.send, udp.receive, ...: compiled by the protocol registered for the action.
  plan::Step compile_protocol_step(const RawStep& r, plan::Step& st);
  // The body's templates (with the journey's variables).
  void compile_body(const RawStep& r, plan::Step& st);
  // What every step has after its request: extracts, checks, once, think time, timeout.
  void compile_outcome(const RawStep& r, plan::Step& st);
  void split_url(const std::string& url, const RawStep& r, std::string* origin,
                 std::string* target);
  uint16_t origin_index(const Url& u);

  plan::Journey& j_;
  const Defaults& d_;
  const std::string& path_;
  plan::Scope scope_;
  std::optional<uint16_t> ws_origin_;  // the current scenario's ws.connect host
  // Per registered protocol: the host its last step in this scenario named.
  std::vector<std::pair<uint16_t, uint16_t>> proto_origin_;
};

}  // namespace spiker::config::detail
