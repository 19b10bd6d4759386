// The built-in runners' and assets' manifests, in burstgridgo's manifest language, plus one
// runner per registered protocol (made from the registry: a protocol added later has its runner
// without a change here).
#include <fmt/format.h>

#include <algorithm>

#include "grid/internal.h"
#include "proto/protocol.h"

namespace spiker::grid {

namespace {

// A protocol's summary as an HCL string's content: no quotes, no template sequences.
std::string quote_free(std::string s) {
  std::replace(s.begin(), s.end(), '"', '\'');
  std::replace(s.begin(), s.end(), '\\', '/');
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if ((s[i] == '$' || s[i] == '%') && i + 1 < s.size() && s[i + 1] == '{') out += s[i];
    out += s[i];
  }
  return out;
}

// An action's family: "redis" of "redis.command", "sql" of "sql"; the runner that runs it.
std::string family(const std::string& action) { return action.substr(0, action.find('.')); }

// The runner that runs action `a` of `p`: the protocol's own runner name, else the family.
std::string runner_of(const proto::Protocol& p, const proto::ActionDef& a) {
  return p.runner.empty() ? family(a.name) : p.runner;
}

// The registered protocols with actions of runner `name`.
std::vector<const proto::Protocol*> runner_protocols(const std::string& name) {
  std::vector<const proto::Protocol*> out;
  for (const proto::Protocol* p : proto::Registry::all()) {
    if (p->name == "http1") continue;
    for (const proto::ActionDef& a : p->actions) {
      if (runner_of(*p, a) == name && a.name.rfind("ws.", 0) != 0) {
        out.push_back(p);
        break;
      }
    }
  }
  return out;
}

}  // namespace

std::string protocol_action(const std::string& runner, const std::string& action) {
  if (runner == "websocket") return "ws." + action;
  for (const proto::Protocol* p : proto::Registry::all()) {  // a runner of its own name
    if (p->runner != runner || p->actions.empty()) continue;
    std::string f = family(p->actions.front().name);
    return action.empty() ? f : f + "." + action;
  }
  if (action.empty() || action == runner) return runner;
  return runner + "." + action;
}

bool implemented(const std::string& runner, bool asset) {
  if (asset) return runner == "http_client" || runner == "socketio_client";
  for (const char* r : {"http_request", "print", "env_vars", "cmd", "s3", "socketio",
                        "socketio_request", "websocket", "graphql"}) {
    if (runner == r) return true;
  }
  return !runner_protocols(runner).empty();
}

std::string builtin_manifests() {
  std::string text = R"HCL(
asset "http_client" {
  description = "A shared HTTP client: one keep-alive connection pool and cookie jar"
  input "timeout"  {
    type    = string
    default = "30s"
  }
  input "base_url" {
    type    = string
    default = ""
  }
  input "headers"  {
    type    = map(string)
    default = {}
  }
}

runner "graphql" {
  description = "A GraphQL operation: an HTTP POST of its query and variables; errors fail it"
  uses "client" { asset_type = "http_client" }
  input "url"            { type = string }
  input "query"          { type = string }
  input "variables"      {
    type    = any
    default = null
  }
  input "operation_name" {
    type    = string
    default = null
  }
  input "headers"        {
    type    = map(string)
    default = {}
  }
  input "timeout"        {
    type    = string
    default = null
  }
  output "status_code" { type = number }
  output "headers"     { type = map(string) }
  output "body"        { type = string }
  output "json"        { type = any }
  output "errors"      { type = number }
  output "latency_ms"  { type = number }
}

runner "http_request" {
  description = "An HTTP request"
  uses "client" { asset_type = "http_client" }
  input "url"     { type = string }
  input "method"  {
    type    = string
    default = "GET"
  }
  input "headers" {
    type    = map(string)
    default = {}
  }
  input "query"   {
    type    = map(string)
    default = {}
  }
  input "body"    {
    type    = string
    default = null
  }
  input "json"    {
    type    = any
    default = null
  }
  input "form"    {
    type    = map(string)
    default = null
  }
  input "timeout" {
    type    = string
    default = null
  }
  input "auth"    {
    type    = map(string)
    default = null
  }
  output "status_code" { type = number }
  output "headers"     { type = map(string) }
  output "body"        { type = string }
  output "json"        { type = any }
  output "latency_ms"  { type = number }
}

runner "print" {
  description = "Prints a value"
  input "input" { type = any }
}

runner "env_vars" {
  description = "Environment variables: all, or those with a prefix, with defaults and required names"
  input "prefix"       {
    type    = string
    default = ""
  }
  input "strip_prefix" {
    type    = bool
    default = false
  }
  input "defaults"     {
    type    = map(string)
    default = {}
  }
  input "required"     {
    type    = list(string)
    default = []
  }
  output "vars" { type = map(string) }
  output "all"  { type = map(string) }
}

runner "cmd" {
  description = "A local command, with a timeout; its output captured"
  input "command" { type = list(string) }
  input "timeout" {
    type    = string
    default = "30s"
  }
  input "stdin"   {
    type    = string
    default = ""
  }
  output "exit_code" { type = number }
  output "stdout"    { type = string }
  output "stderr"    { type = string }
}

runner "s3" {
  description = "Uploads a body to a pre-signed URL (HTTP PUT)"
  uses "client" { asset_type = "http_client" }
  input "url"          { type = string }
  input "body"         { type = string }
  input "content_type" {
    type    = string
    default = "application/octet-stream"
  }
  output "status_code" { type = number }
  output "etag"        { type = string }
}

asset "socketio_client" {
  description = "A shared Socket.IO connection (Engine.IO v4 over WebSocket)"
  input "url" {
    type = string
  }
  input "namespace" {
    type    = string
    default = "/"
  }
  input "timeout" {
    type    = string
    default = "10s"
  }
  input "insecure_skip_verify" {
    type    = bool
    default = false
  }
}

runner "socketio" {
  description = "Connects to a Socket.IO server, emits an event and waits for a response event"
  input "url" {
    type = string
  }
  input "namespace" {
    type    = string
    default = "/"
  }
  input "on_event" {
    type = string
  }
  input "emit_event" {
    type    = string
    default = null
  }
  input "emit_data" {
    type    = any
    default = null
  }
  input "timeout" {
    type    = string
    default = "10s"
  }
  input "insecure_skip_verify" {
    type    = bool
    default = false
  }
  output "response_data" { type = any }
}

runner "socketio_request" {
  description = "Emits an event on a shared Socket.IO connection and waits for a response event"
  uses "client" { asset_type = "socketio_client" }
  input "on_event" {
    type = string
  }
  input "emit_event" {
    type = string
  }
  input "emit_data" {
    type    = any
    default = null
  }
  input "timeout" {
    type    = string
    default = "10s"
  }
  output "response_data" { type = any }
}

runner "websocket" {
  description = "A WebSocket action (connect, send, receive, close) on the client's WebSocket"
  uses "client" { asset_type = "http_client" }
  input "url"     { type = string }
  input "action"  { type = string }
  input "body"    {
    type    = string
    default = null
  }
  input "headers" {
    type    = map(string)
    default = {}
  }
  input "timeout" {
    type    = string
    default = null
  }
  output "body"       { type = string }
  output "ok"         { type = bool }
  output "latency_ms" { type = number }
}
)HCL";
  // A runner per action family of the registered protocols ("tcp" for tcp.send and
  // tcp.receive; "sql" for PostgreSQL's and MySQL's sql): its actions by short name ("send"),
  // optional when the family is one action; the step keys as inputs; the URL picks the protocol.
  std::vector<std::string> families;
  for (const proto::Protocol* p : proto::Registry::all()) {
    for (const proto::ActionDef& a : p->actions) {
      std::string f = runner_of(*p, a);
      if (p->name == "http1" || family(a.name) == "ws") continue;
      if (std::find(families.begin(), families.end(), f) == families.end()) families.push_back(f);
    }
  }
  for (const std::string& name : families) {
    std::string inputs, schemes, summary;
    std::vector<std::string> seen;
    bool single = false;
    for (const proto::Protocol* p : runner_protocols(name)) {
      summary += (summary.empty() ? "" : "; ") + p->summary;
      for (const std::string& s : p->schemes) schemes += (schemes.empty() ? "" : ", ") + s + "://";
      for (const proto::ActionDef& a : p->actions) {
        if (runner_of(*p, a) != name) continue;
        single = single || a.name == name;
        for (const std::string& k : a.keys) {
          if (std::find(seen.begin(), seen.end(), k) != seen.end()) continue;
          seen.push_back(k);
          inputs +=
              fmt::format("  input \"{}\" {{\n    type    = any\n    default = null\n  }}\n", k);
        }
      }
    }
    text += fmt::format(R"HCL(
runner "{}" {{
  description = "{} ({}): one action of its, on the step's connection"
  uses "client" {{ asset_type = "http_client" }}
  input "url"    {{ type = string }}
  input "action" {{
    type    = string{}
  }}
  input "body"   {{
    type    = string
    default = null
  }}
  input "timeout" {{
    type    = string
    default = null
  }}
{}  output "body"       {{ type = string }}
  output "ok"         {{ type = bool }}
  output "latency_ms" {{ type = number }}
}}
)HCL",
                        name, quote_free(summary), schemes, single ? "\n    default = null" : "",
                        inputs);
  }
  return text;
}

}  // namespace spiker::grid
