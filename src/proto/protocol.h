// The protocol registry. A protocol is one folder under src/protocols/ that registers one
// Protocol: its URL schemes, its command-line flags, its step actions and their keys, a compiler
// from those to a plan::ProtocolRequest, its session factory and its stat block. The CLI, the
// TOML reader, the engine and the reports reach protocols only through this.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/url.h"
#include "metrics/stat_block.h"
#include "plan/journey.h"
#include "proto/session.h"

namespace spiker::proto {

// A command-line flag of the protocol's ("--expect-bytes"); always takes a value.
struct FlagDef {
  std::string name;
  std::string help;
  bool repeated = false;  // may be given several times (--param a --param b): one Option each
};

// A step action ("tcp.send") and the step keys it takes besides the common ones (name, url,
// body, match, checks, extract, depends_on, if, once, think_time, timeout, tags).
struct ActionDef {
  std::string name;
  Verb verb = Verb::kExchange;
  std::vector<std::string> keys;
  bool sends = true;     // takes a payload (body / body_file / the protocol's keys)
  bool receives = true;  // takes match, checks and extract on what comes back
};

// An option as given: a flag's value or a step key's, with where it came from.
struct Option {
  std::string key;  // without "--": "expect-bytes", "expect_bytes"
  std::string value;
  std::string where;
};

// What a front end hands the protocol's compiler.
struct RequestInput {
  Url url;
  int action = -1;      // index in actions; -1: the plain run's exchange (flags)
  std::string payload;  // -b / body as written (may hold ${...})
  bool payload_given = false;
  bool escapes = true;  // decode \n, \xHH, ... in text (the shell's); TOML has its own escapes
  std::vector<Option> options;
  std::string where;  // for messages: "step 'ping' (t.toml:4:1)" or "the command line"
};

struct Protocol {
  std::string name;                  // "tcp"
  std::vector<std::string> schemes;  // "tcp", "tls"
  std::string summary;               // one line for `--help`
  std::string label;                 // what reports call it ("http/1.1"); empty: the scheme
  bool datagram = false;             // no connection: addresses are not probed by connecting
  // One session carries the exchanges of several VUs at once (HTTP/2 streams): the worker
  // keeps one per origin for every --max-streams VUs and passes Exchange::owner.
  bool shared = false;
  // Takes --pipeline N: a plain run's exchange then carries N requests, their payloads (each
  // rendered) joined by `pipeline_separator`, and the session reports one Outcome per request.
  bool pipelines = false;
  char pipeline_separator = '\n';  // between a pipelined exchange's payloads
  uint16_t default_port = 0;  // the schemes' port when a URL gives none (0: a port is required)
  // Schemes that run over TLS on the worker's transport ("mqtts", "rediss", "grpcs"), and what
  // their TLS handshakes offer by ALPN (gRPC: h2; empty: nothing).
  std::vector<std::string> tls_schemes;
  std::vector<std::string> alpn;
  bool tls_scheme(std::string_view scheme) const {
    for (const std::string& s : tls_schemes) {
      if (s == scheme) return true;
    }
    return false;
  }
  // The grid runner of its actions (burstgridgo's "rabbitmq" for amqp.*); empty: the actions'
  // family ("redis" for redis.command).
  std::string runner;
  std::vector<FlagDef> flags;
  std::vector<ActionDef> actions;
  const metrics::StatBlock* stats = nullptr;
  // Compiles a plain run's request or a step; throws SetupError naming input.where.
  std::shared_ptr<plan::ProtocolRequest> (*compile)(const RequestInput& input) = nullptr;
  std::unique_ptr<Session> (*make_session)(SessionHost& host, const SessionOptions& o) = nullptr;
  // One line for `validate` / --dry-run: what a request does.
  std::string (*describe)(const plan::ProtocolRequest& r) = nullptr;
  uint16_t index = 0;  // set by the registry
};

class Registry {
 public:
  // Adds `p` (once per name); returns it as stored.
  static const Protocol& add(Protocol p);
  static const std::vector<const Protocol*>& all();
  static const Protocol* by_scheme(std::string_view scheme);
  static const Protocol& at(uint16_t index);
  static const Protocol* by_name(std::string_view name);  // "http2"; nullptr when none
  // The protocol and action index of an action name ("tcp.send"); nullptr when none. Several
  // protocols may take one action ("sql": PostgreSQL and MySQL): `scheme` picks among them
  // (empty, or a scheme none of them has: the first registered).
  static const Protocol* by_action(std::string_view action, int* index,
                                   std::string_view scheme = {});
  // "tcp://, tls://, udp://": every registered scheme, for messages.
  static std::string scheme_list();
};

// Registers every protocol built in (generated from the CMake list SPIKER_PROTOCOLS).
// Idempotent; call before Shards are made.
void register_protocols();

}  // namespace spiker::proto
