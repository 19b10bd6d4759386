// Config files (TOML) in Kaioken's dialect: [target], [load] and [[stages]], strict and
// documented forms. Every key is checked: an unknown key is an error that names the file, line,
// column and a close known key. Values stay as the user wrote them (durations as text); the CLI
// turns them into a request and a load plan, with flags given on the command line winning.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "plan/journey.h"
#include "plan/threshold.h"

namespace spiker::config {

// What the command line sets in [target] (Kaioken's flags for its keys): applied to the file's
// table, or making one when there is no file, before the file is read.
struct TargetOverrides {
  std::optional<std::string> url, method, body, basic_auth;
  std::vector<std::pair<std::string, std::string>> headers;
  std::optional<bool> cookie_jar, follow_redirects;
  std::optional<std::string> urls_from_file, body_lines_file, rand_regex_url;
  std::vector<std::string> form_data;
  // --graphql-query (with its variables and operation): the run is one graphql step.
  std::optional<std::string> graphql_query, graphql_variables, graphql_operation;
  bool any() const {
    return cookie_jar || follow_redirects || urls_from_file || body_lines_file || rand_regex_url ||
           !form_data.empty() || graphql_query;
  }
};

struct TargetSection {
  std::optional<std::string> url, method, body, body_file, timeout, connect_timeout;
  std::optional<std::string> cacert, cert, key;
  std::vector<std::pair<std::string, std::string>> headers;  // basic_auth becomes one
  std::optional<bool> insecure, disable_keepalive, cookie_jar, follow_redirects, http2, http1;
  std::optional<int64_t> max_streams;  // HTTP/2 streams per connection
  // Kaioken's request sources: URLs round-robin from a file, bodies round-robin from a file's
  // lines, URLs generated from a regular expression (read by the journey reader).
  std::optional<std::string> urls_from_file, body_lines_file, rand_regex_url;
  std::optional<std::string> proxy, connect_to;
  std::vector<std::string> form_data;  // "name=value" | "name=@path[;filename=x][;type=mime]"
};

struct LoadSection {
  std::optional<int64_t> concurrency, max_vus;
  std::optional<uint64_t> max_requests, iterations;
  std::optional<double> rate, arrival_rate;
  std::optional<std::string> duration, ramp_up, warmup, think_time;
  std::optional<std::string> executor;  // k6's names; checked against what the keys describe
  std::optional<int64_t> burst_rate;    // Kaioken's burst mode
  std::optional<std::string> burst_delay;
  std::optional<int64_t> prometheus_port;
  std::optional<std::string> prometheus_pushgateway;
  std::optional<std::string> db_url;  // Kaioken's [load] db_url: the same as the top-level key
  std::string db_url_where;           // file:line:col of it
};

// Kaioken's [[scenarios]]: one request each, chosen per iteration by weight.
struct ScenarioSection {
  std::string name;
  std::string url;
  std::optional<std::string> method, body, body_file;
  std::vector<std::pair<std::string, std::string>> headers;  // over [target] headers
  uint32_t weight = 1;
  std::vector<std::pair<std::string, std::string>> tags;  // an array of strings: name = ""
};

// [websocket]: how ws:// and wss:// targets are loaded.
struct WebSocketSection {
  std::optional<std::string> message_interval;  // a duration; "0s": send as fast as replies come
  std::optional<bool> fire_and_forget;          // from mode = "echo" | "fire_and_forget"
  std::optional<bool> binary;                   // ours: binary frames instead of text
};

struct ConfigFile {
  std::string path;
  WebSocketSection websocket;
  TargetSection target;
  LoadSection load;
  std::vector<ScenarioSection> scenarios;
  std::vector<std::string> stages;  // as --stage takes them: "30s:100" or "30s:100/s"
  // Set when the file describes journeys (steps, extraction, dependencies, data, cookies):
  // then `scenarios` is empty and the journey holds every request.
  std::shared_ptr<plan::Journey> journey;
  std::vector<plan::Threshold> thresholds;  // [thresholds], in file order per key
  std::vector<std::string> redact;          // redact = ["X-Session", ...]: values outputs hide
  std::optional<std::string> db_url;        // run history (SQLite file), as --db-url
  std::vector<std::string> notes;           // what the user should know about how it was read
};

// Reads, interpolates environment variables, parses and checks `path`. Throws SetupError.
ConfigFile load_config_file(const std::string& path, const TargetOverrides& o = {});
// The same from text (tests); `path` is only used in messages.
ConfigFile parse_config(const std::string& text, const std::string& path,
                        const TargetOverrides& o = {});
// A run given by the command line alone whose flags need a journey (cookie jar, redirects,
// URL or body files): read as if the file had only this [target].
ConfigFile command_line_config(const TargetOverrides& o);

}  // namespace spiker::config
