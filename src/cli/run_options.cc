// The flags of `loadspiker run` and `loadspiker validate`.
#include <CLI/CLI.hpp>
#include <memory>
#include <stdexcept>

#include "cli/commands.h"
#include "cli/run_args.h"
#include "proto/protocol.h"

namespace spiker::cli {

namespace {

void add_grid_flags(CLI::App* cmd, RunArgs& a) {
  cmd->add_option("--var", a.grid_vars, "Grids: a variable's value, NAME=VALUE (repeatable)");
  cmd->add_option("--modules-path", a.modules_paths,
                  "Grids: a directory of module manifests (runner / asset blocks; repeatable)");
  cmd->add_option("--workers", a.workers,
                  "Grids run once: step instances in flight at once (default 100)");
}

void add_load_flags(CLI::App* cmd, RunArgs& a) {
  RunArgs* args = &a;
  cmd->add_option("-c,--concurrency", args->concurrency, "Connections (virtual users)")
      ->capture_default_str();
  cmd->add_option("-d,--duration", args->duration,
                  "Run time: 500ms, 10s, 2m, 1h30m (default 10s; unlimited with -n)");
  cmd->add_option("-n,--max-requests", args->max_requests,
                  "Stop after this many requests in total (k/m suffixes; 0 = no limit)");
  cmd->add_option("-t,--threads", args->threads, "Worker threads (default: one per core)");
  cmd->add_option("-r,--rate", args->rate,
                  "Pace the -c VUs to this many requests/s in total (closed model, wrk2 style)");
  cmd->add_option("--arrival-rate", args->arrival_rate,
                  "Open model: start this many iterations per second, whatever the latency");
  cmd->add_option("--max-vus", args->max_vus, "Open model: the most VUs in use at once")
      ->capture_default_str();
  cmd->add_option("--stage", args->stages,
                  "Ramp: DURATION:VUS (e.g. 30s:100) or DURATION:RATE/s (e.g. 1m:500/s); "
                  "repeatable");
  cmd->add_option("--ramp-up", args->ramp_up, "Start the -c VUs gradually over this long");
  cmd->add_option("--warmup", args->warmup,
                  "Run this long first and discard its metrics (connections stay warm)");
  cmd->add_option("--think-time", args->think_time,
                  "Pause between a VU's iterations: 1s, 1s..3s (uniform) or exp:1s");
  cmd->add_option("--iterations", args->iterations,
                  "Stop after this many iterations shared by all VUs (shared-iterations)");
  cmd->add_option("--per-vu-iterations", args->per_vu_iterations,
                  "Each of the -c VUs runs this many iterations (per-vu-iterations)");
  cmd->add_flag("--no-latency-correction", args->no_latency_correction,
                "Report service time only (no corrected latency for open or paced models)");
  cmd->add_option("--segment", args->segment,
                  "Run only this execution segment of the test, e.g. 0:1/3 (k6 style)");
  cmd->add_option("--segment-sequence", args->segment_sequence,
                  "All segments of the test, e.g. 0,1/3,2/3,1");
}

void add_request_flags(CLI::App* cmd, RunArgs& a) {
  RunArgs* args = &a;
  cmd->add_option("-m,--method", args->method, "HTTP method")->capture_default_str();
  cmd->add_option("-H,--header", args->headers, "Request header 'Name: value' (repeatable)");
  cmd->add_option("--redact", args->redact,
                  "Hide this header's or query parameter's value in every output (repeatable; "
                  "names with auth, token, key, secret, session, password or cookie always are)");
  cmd->add_option("-b,--body", args->body, "Request body");
  cmd->add_option("--body-file", args->body_file,
                  "Request body from a file, sent as its bytes (mapped, not copied per "
                  "connection)");
  cmd->add_flag("--body-template", args->body_template,
                "Render ${...} in --body-file's content per request (read whole then)");
  cmd->add_option("--grpc-service", args->grpc_service,
                  "Kaioken's gRPC form: with --grpc-method and an http(s):// URL, call "
                  "SERVICE/METHOD with the body as raw protobuf bytes (= grpc:// --call S/M "
                  "--raw true)");
  cmd->add_option("--grpc-method", args->grpc_method, "Kaioken's gRPC form: see --grpc-service");
  cmd->add_option("--graphql-query", args->graphql_query,
                  "GraphQL: POST this query as {\"query\", \"variables\"}; a response with "
                  "errors fails (templates allowed)");
  cmd->add_option("--graphql-variables", args->graphql_variables,
                  "GraphQL: the variables, a JSON object");
  cmd->add_option("--graphql-operation", args->graphql_operation, "GraphQL: the operation name");
  cmd->add_option("--timeout", args->timeout, "Request timeout")->capture_default_str();
  cmd->add_option("--connect-timeout", args->connect_timeout, "TCP connect (+TLS) timeout")
      ->capture_default_str();
  cmd->add_flag("--insecure", args->insecure, "Do not verify the server's TLS certificate");
  cmd->add_option("--cacert", args->cacert, "Trust the CAs in this PEM file");
  cmd->add_option("--cert", args->cert, "Client certificate (PEM)");
  cmd->add_option("--key", args->key, "Client private key (PEM)");
  cmd->add_flag("--disable-keepalive", args->disable_keepalive,
                "A new connection per request (HTTP/1.1, HTTP/2, WebSocket message, TCP exchange)");
  cmd->add_option("--pipeline", args->pipeline, "HTTP/1.1 requests in flight per connection")
      ->capture_default_str();
  cmd->add_flag("--http2", args->http2,
                "HTTP/2: h2c with prior knowledge for http://; for https:// it is negotiated by "
                "ALPN anyway, and --http2 makes HTTP/1.1 an error");
  cmd->add_flag("--http1", args->http1, "Stay on HTTP/1.1 for https:// (offer no h2 by ALPN)");
  cmd->add_option("--ws-message-interval", args->ws_message_interval,
                  "WebSocket: pause between a connection's messages (default 100ms; 0: as fast "
                  "as replies come)");
  cmd->add_flag("--ws-binary", args->ws_binary,
                "WebSocket: send binary frames (default: text, which must be UTF-8)");
  cmd->add_flag("--ws-fire-and-forget", args->ws_fire_and_forget,
                "WebSocket: send at the interval without waiting for replies; count what "
                "comes back (default: echo, with round-trip latency)");
}

void add_tls_flags(CLI::App* cmd, RunArgs& a) {
  RunArgs* args = &a;
  cmd->add_option("--tls-min", args->tls_min, "Oldest TLS version offered: 1.2 or 1.3");
  cmd->add_option("--tls-max", args->tls_max, "Newest TLS version offered: 1.2 or 1.3");
  cmd->add_option("--ciphers", args->ciphers,
                  "TLS cipher list (OpenSSL names for 1.2, TLS_* suites for 1.3), ':'-separated");
  cmd->add_option("--sni", args->sni,
                  "Server name to send (SNI) and verify, instead of the URL's host");
  cmd->add_flag("--no-tls-resume", args->no_tls_resume,
                "Full TLS handshake on every connection (no session resumption)");
}

void add_protocol_flags(CLI::App* cmd, RunArgs& a) {
  RunArgs* args = &a;
  cmd->add_option("--max-streams", args->max_streams,
                  "HTTP/2: VUs sharing one connection, each with its stream in flight (as "
                  "h2load -m; -c 500 --max-streams 10 opens 50 connections)")
      ->capture_default_str();
  // Each registered protocol's flags (a flag two protocols share is added once, with both
  // helps: "mqtt: ...; amqp: ...").
  for (const proto::Protocol* p : proto::Registry::all()) {
    for (const proto::FlagDef& f : p->flags) {
      if (CLI::Option* known = cmd->get_option_no_throw("--" + f.name)) {
        known->description(known->get_description() + "; " + f.help);
        continue;
      }
      if (args->protocol_flags.size() == args->protocol_flags.capacity()) {
        throw std::logic_error("more protocol flags than run_options.cc reserves room for");
      }
      args->protocol_flags.push_back({f.name, {}});
      cmd->add_option("--" + f.name, args->protocol_flags.back().second, f.help)
          ->expected(1)
          ->allow_extra_args(false)
          ->multi_option_policy(f.repeated ? CLI::MultiOptionPolicy::TakeAll
                                           : CLI::MultiOptionPolicy::TakeLast);
    }
  }
}

void add_output_flags(CLI::App* cmd, RunArgs& a) {
  RunArgs* args = &a;
  cmd->add_flag("--no-tui", args->no_tui, "Plain progress lines instead of the live view");
  cmd->add_flag("--json", args->json, "Print the JSON result on stdout (no live view)");
  cmd->add_option("-o,--output", args->outputs,
                  "Write the result to this file (repeatable): .json, .csv, .md, .html, .xml "
                  "(JUnit), .hlog (HdrHistogram log), .series.csv, .jsonl (per second)");
  cmd->add_option("--format", args->format,
                  "json, csv, md, html, junit, hlog, series-csv or series-jsonl: for every -o "
                  "file, or on stdout without -o");
  cmd->add_flag("-q,--quiet", args->quiet, "No live view and no summary");
  cmd->add_flag("--dry-run", args->dry_run, "Check everything, print the plan, send nothing");
}

// Kaioken's flags (its `run` takes them all; see ../shared/reference/kaioken.md).
void add_kaioken_flags(CLI::App* cmd, RunArgs& a) {
  RunArgs* args = &a;
  cmd->add_option("-a,--basic-auth", args->basic_auth,
                  "HTTP basic authentication: user:password (redacted in outputs)");
  cmd->add_flag("--cookie-jar", args->cookie_jar,
                "Keep each VU's cookies (Set-Cookie) and send them back (as [target] cookie_jar)");
  cmd->add_flag("--no-follow-redirects", args->no_follow_redirects,
                "Count 3xx responses as they come instead of following Location (journeys and "
                "--cookie-jar runs follow up to 10 by default)");
  cmd->add_option("--urls-from-file", args->urls_from_file,
                  "Request the URLs of this file (one per line, one host) round-robin");
  cmd->add_option("--rand-regex-url", args->rand_regex_url,
                  "Request URLs drawn from this regular expression, e.g. "
                  "'http://h/users/[a-z]{3}[0-9]{2}'");
  cmd->add_option("-Z,--body-lines-file,--body-lines", args->body_lines_file,
                  "Request bodies from this file's lines, round-robin");
  cmd->add_option("-F,--form", args->form,
                  "Multipart form field: name=value or name=@path[;filename=x][;type=mime] "
                  "(repeatable)");
  cmd->add_option("-x,--proxy", args->proxy, "Proxy URL (http://, socks5://)");
  cmd->add_option("--connect-to", args->connect_to,
                  "HOST:PORT:TARGET_HOST:TARGET_PORT: connect to TARGET for HOST:PORT (Host "
                  "header and TLS name stay HOST), as curl --connect-to");
  cmd->add_option("--burst-rate", args->burst_rate,
                  "Burst mode: start this many requests at once, every --burst-delay");
  cmd->add_option("--burst-delay", args->burst_delay, "Burst mode: time between bursts");
  cmd->add_flag("--fail-fast", args->fail_fast,
                "Stop the run as soon as any threshold fails (every threshold aborts on fail)");
  cmd->add_flag("--debug", args->debug,
                "Send one request and print it and its response in full (secrets redacted)");
  cmd->add_flag("--serious", args->serious, "Accepted for Kaioken (LoadSpiker is always serious)");
  cmd->add_flag("-y,--yes", args->yes,
                "Do not ask before loading a target that is not on this machine");
  cmd->add_option("--db-url", args->db_url,
                  "Add this run to a SQLite history file (see loadspiker history)");
  cmd->add_option("--prometheus-port", args->prometheus_port,
                  "Serve live metrics at http://127.0.0.1:PORT/metrics during the run");
  cmd->add_option("--prometheus-pushgateway", args->prometheus_pushgateway,
                  "Push the final metrics to this Prometheus Pushgateway URL");
  cmd->add_option("--prometheus-prefix", args->prometheus_prefix,
                  "Metric name prefix for --prometheus-port and --prometheus-pushgateway "
                  "(kaioken: Kaioken's names, kaioken_requests_total ..., and job)")
      ->capture_default_str();
}

}  // namespace

std::function<int()> add_run_command(CLI::App& app, RunHooks* hooks) {
  auto args = std::make_shared<RunArgs>();
  args->hooks = hooks;
  CLI::App* cmd = app.add_subcommand("run", "Load one URL (HTTP/1.1, HTTP/2, WebSocket, TCP, UDP)");
  // The flags below keep pointers into protocol_flags: sized once, never moved.
  args->protocol_flags.reserve(128);
  args->cmd = cmd;
  cmd->add_option("url", args->url,
                  "Target URL (http://, https://, ws://, wss://, tcp://, tls://, udp://), or a "
                  ".toml config file or a .py test script in its place");
  cmd->add_option("-f,--config", args->config,
                  "TOML config file (Kaioken's [target], [load], [[stages]]); flags win over it");
  add_load_flags(cmd, *args);
  add_request_flags(cmd, *args);
  add_tls_flags(cmd, *args);
  add_protocol_flags(cmd, *args);
  add_output_flags(cmd, *args);
  add_kaioken_flags(cmd, *args);
  add_grid_flags(cmd, *args);
  return [args] { return run(*args); };
}

std::function<int()> add_validate_command(CLI::App& app) {
  auto args = std::make_shared<RunArgs>();
  CLI::App* cmd = app.add_subcommand("validate", "Check a config file and print its plan");
  cmd->add_option("file", args->config, "TOML config file, or a grid (.hcl file or directory)")
      ->required();
  add_grid_flags(cmd, *args);
  args->cmd = cmd;
  args->dry_run = true;
  return [args] { return run(*args); };
}

}  // namespace spiker::cli
