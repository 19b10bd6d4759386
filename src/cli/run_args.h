// The arguments of `loadspiker run` and how they are completed from a config file and turned
// into the run's requests.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/config_file.h"
#include "core/tls.h"
#include "core/url.h"
#include "plan/request.h"
#include "plan/run_plan.h"
#include "protocols/http1/request_builder.h"
#include "report/run_report.h"

namespace spiker::proto {
struct Protocol;
}
namespace spiker::metrics {
struct LiveState;
}

namespace CLI {
class App;
}

namespace spiker::cli {

// An embedded run (the Python API, cli/embedded_run.h): the config comes as text, progress goes
// to a callback, the result's JSON comes back instead of a summary on stdout, nothing is asked,
// and Ctrl-C stops the run with the caller's signal handlers put back afterwards.
struct RunHooks {
  std::string config_text;  // a TOML config in the file's place (config_name in messages)
  std::string config_name;
  // Flags the front end set for its own names ("--duration" -> "duration="): messages say these.
  std::vector<std::pair<std::string, std::string>> flag_names;
  std::function<void(const metrics::LiveState&)> on_progress;
  std::string json;          // out: the result
  bool interrupted = false;  // out: Ctrl-C stopped the run
};

struct RunArgs {
  RunHooks* hooks = nullptr;  // set: an embedded run
  CLI::App* cmd = nullptr;    // to tell which flags were given (they win over the config file)
  std::string config;
  std::string url;
  int concurrency = 50;
  std::string duration;  // empty: 10s, or unlimited when a count is given
  std::string max_requests = "0";
  std::string iterations = "0";
  std::string per_vu_iterations = "0";
  double rate = 0;
  double arrival_rate = 0;
  int max_vus = 100;
  std::string ramp_up, warmup, think_time;
  std::string executor;  // from the file: must match what the load keys describe
  std::vector<std::string> stages;
  bool no_latency_correction = false;
  std::string segment, segment_sequence;
  int threads = 0;  // 0: one per core
  std::string method = "GET";
  std::vector<std::string> headers;
  std::vector<std::string> redact;  // header / query names whose values outputs hide
  std::string db_url;               // --db-url: the SQLite run history this run is added to
  // Grids (burstgridgo HCL): --var NAME=VALUE, --modules-path DIR, --workers N (workflow runs).
  std::vector<std::string> grid_vars, modules_paths;
  int workers = 100;
  std::string config_text;  // a config's text in the file's place (a grid compiled for load)
  // Kaioken's flags.
  std::string basic_auth;  // -a user:pass
  bool cookie_jar = false, no_follow_redirects = false;
  std::string urls_from_file, rand_regex_url, body_lines_file;
  std::vector<std::string> form;  // -F name=value | name=@path
  std::string proxy, connect_to;
  int burst_rate = 0;
  std::string burst_delay;
  bool fail_fast = false, debug = false, serious = false, yes = false;
  int prometheus_port = 0;
  std::string prometheus_prefix = "loadspiker";  // kaioken: Kaioken's metric and job names
  std::string prometheus_pushgateway;
  std::string body;
  std::string body_file;
  bool body_template = false;  // --body-template: ${...} in --body-file's content are rendered
  std::string grpc_service, grpc_method;  // Kaioken's gRPC form (raw protobuf bodies)
  // GraphQL over HTTP: the query, its variables (a JSON object) and operation name.
  std::string graphql_query, graphql_variables, graphql_operation;
  std::string timeout = "5s";
  std::string connect_timeout = "2s";
  bool insecure = false;
  std::string cacert, cert, key;
  bool disable_keepalive = false;
  bool no_tui = false;
  bool json = false;
  std::vector<std::string> outputs;  // -o, repeatable; the format by extension or --format
  std::string format;
  bool quiet = false;
  bool dry_run = false;
  int pipeline = 1;
  bool http2 = false;  // h2c with prior knowledge for http://; h2 required for https://
  bool http1 = false;  // https:// stays on HTTP/1.1 (no h2 offered by ALPN)
  int max_streams = 1;
  std::string tls_min, tls_max, ciphers, sni;
  std::string ws_message_interval;  // empty: 100ms (Kaioken's default)
  bool ws_fire_and_forget = false;
  bool ws_binary = false;
  bool no_tls_resume = false;
  // Registered protocols' flags ("expect-bytes" -> values in order; none: not given).
  std::vector<std::pair<std::string, std::vector<std::string>>> protocol_flags;
  std::vector<config::ScenarioSection> scenarios;  // from the config file, when no URL is given
  std::shared_ptr<plan::Journey> journey;          // the same, when the file has journeys
  bool journey_from_flags = false;          // the journey is the command line's (--cookie-jar, ...)
  std::vector<plan::Threshold> thresholds;  // [thresholds]
  // Flags whose value came from the file, with the key that set it ("--ramp-up" ->
  // "[load] ramp_up"): errors name what the user wrote (and the file).
  std::vector<std::pair<std::string, std::string>> from_file;
  std::vector<std::string> notes;  // printed to stderr before the run ("note: ...")
};

// TLS, timeouts, keep-alive, --connect-to and -x/--proxy for the run's origins
// (run_network.cc). Throws SetupError.
plan::TransportOptions transport_options(const RunArgs& a, const std::vector<Url>& origins);
// Through an HTTP proxy: http:// requests and steps get absolute-form targets (run_network.cc).
void absolute_form(plan::RunPlan& p);

// `message` with each flag that came from the file replaced by the file's key.
std::string name_file_keys(const RunArgs& a, std::string_view message);

// `loadspiker run` (and `validate`, with dry_run): compile -> prepare -> run -> report.
int run(RunArgs args);
// A grid (a .hcl file or a directory): once as a workflow, or compiled to a journey and run
// under the load flags (grid_command.cc).
int run_grid(RunArgs args);
// The arguments (completed from the config file) as a run plan; throws SetupError
// (run_compile.cc).
plan::RunPlan compile_run(RunArgs& a);
// A duration flag that must be > 0, in nanoseconds.
int64_t positive_ns(const std::string& text, const char* flag);
// Whether `flag` was given on the command line.
bool flag_given(const RunArgs& a, const char* flag);

// A ws:// target: rejects flags that do not apply and makes --ws-message-interval the think
// time; returns the interval (0 for other targets, which must not carry WebSocket flags).
int64_t websocket_target(RunArgs& a, const Url& url);
// The upgrade's head and the message (-b) of a ws:// target's one request.
void websocket_variant(const RunArgs& a, const http1::RequestSpec& spec,
                       std::vector<plan::Request>& requests);
// A tcp://, udp://, ... URL: its protocol's request compiled from -b/--body-file and the
// protocol's flags into the run's one variant (run_protocol.cc). Returns the protocol.
const proto::Protocol* protocol_target(const RunArgs& a, const Url& url,
                                       std::vector<plan::Request>& requests);
// Throws unless `url` is http(s)/ws(s) or a registered protocol's scheme.
void check_scheme(const Url& url, std::string_view what);

// Reads a file named by `flag` (a body); throws SetupError naming the flag.
std::string read_file(const std::string& path, const char* flag);
// Throws SetupError unless `m` looks like an HTTP method.
void validate_method(const std::string& m);
// One request, serialized once, or compiled to render per send when it has placeholders.
// `shared_body` (set: a mapped --body-file) is sent as it is after the head, instead of
// spec.body, which is then empty.
plan::Request make_variant(const http1::RequestSpec& spec, std::string_view where, uint32_t weight,
                           std::string_view shared_body = {});
// A --body-file is sent as its bytes: prints a note when they hold what looks like a template.
void note_unrendered(std::string_view body);
// Fills what the command line left unset from the config file: a flag given always wins.
RunArgs with_config_file(RunArgs a);
// The requests of the run: the URL's, or one per [[scenarios]] (all on one host).
std::vector<http1::RequestSpec> request_specs(const RunArgs& a, const http1::RequestSpec& base,
                                              std::vector<uint32_t>* weights);

// -H flags over every step's headers.
void add_header_flags(plan::Journey& j, const std::vector<std::string>& headers);
// The journey part of `validate` and `run --dry-run`: scenarios, steps and their DAG.
std::string describe_journey(const plan::Journey& j);
// One report entry per step, by step id.
std::vector<report::ScenarioInfo> step_infos(const plan::Journey& j);

}  // namespace spiker::cli
