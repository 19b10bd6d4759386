// The plan IR for user journeys: scenarios made of steps (requests) with extraction, checks,
// conditions and a dependency DAG, per-VU variables and data tables. Front ends (src/config)
// build it once; the engine runs it per VU without parsing or name lookups.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/url.h"
#include "plan/extract.h"
#include "plan/template.h"
#include "plan/think_time.h"

namespace spiker::plan {

// The most steps in one journey plan (all scenarios together) and the most variables.
inline constexpr size_t kMaxSteps = 64;
inline constexpr size_t kMaxVars = 64;
inline constexpr size_t kMaxChecks = 64;  // distinct checks (a [[checks]] entry counts once)

// `if` on a step: run it only when this holds at the time its dependencies are done.
struct Condition {
  enum class Kind : uint8_t { kAlways, kStepPassed, kStepFailed, kVarSet, kVarUnset };
  Kind kind = Kind::kAlways;
  uint16_t index = 0;  // a step of the same scenario, or a variable slot
};

// What a step does: an HTTP request, or one WebSocket action on the VU's WebSocket (the
// scenario's ws.connect opens it; the others use it).
// kProtocol: a step of a registered protocol (tcp.send, udp.receive, ...): Step::proto says
// which and carries what its protocol compiled.
enum class Action : uint8_t { kHttp, kWsConnect, kWsSend, kWsReceive, kWsClose, kProtocol };

// A request of a registered protocol (src/proto), compiled by that protocol from a step's keys
// or the command line's flags. The plan carries it without knowing the protocol; the protocol's
// session reads its own subclass.
struct ProtocolRequest {
  virtual ~ProtocolRequest() = default;
  uint16_t protocol = 0;         // index in the protocol registry
  uint8_t action = 0;            // index in the protocol's actions
  uint8_t verb = 0;              // proto::Verb: exchange, send or receive
  std::string action_name;       // "tcp.send", for messages and graphs
  std::string payload;           // what is sent, decoded by the protocol (escapes, hex)
  bool payload_literal = false;  // bytes as they are: no ${...} rendering
};

// "ws.connect", ...; "http" for requests.
inline const char* action_name(Action a) {
  switch (a) {
    case Action::kWsConnect:
      return "ws.connect";
    case Action::kWsSend:
      return "ws.send";
    case Action::kWsReceive:
      return "ws.receive";
    case Action::kWsClose:
      return "ws.close";
    case Action::kProtocol:
      return "protocol";
    default:
      return "http";
  }
}

struct Step;
struct Request;
// The step's action as written: "http", "ws.send", "tcp.receive", ...
std::string step_action_name(const Step& st);

struct Step {
  std::string name;
  Action action = Action::kHttp;
  uint16_t id = 0;      // index in the whole plan (metrics are kept per step)
  uint16_t origin = 0;  // index in Journey::origins
  std::string method = "GET";
  std::string url_text;  // as written, for messages and graphs
  Template target;       // path + query
  std::vector<std::pair<std::string, Template>> headers;
  Template body;
  bool has_body = false;
  std::vector<Extractor> extracts;
  std::vector<Check> checks;
  std::vector<Check> match;  // ws.receive: the message waited for (others are skipped)
  bool binary = false;       // ws.send: a binary frame (default text)
  std::shared_ptr<const ProtocolRequest> proto;  // action == kProtocol
  // A plain run's request (`run URL`, a Kaioken [[scenarios]] entry): static requests are
  // serialized once, pipelined requests go together; no checks, extraction or cookies.
  const Request* plain = nullptr;
  std::vector<uint16_t> deps;  // steps of the same scenario this one waits for
  Condition cond;
  bool once = false;       // runs once per VU (a login): later iterations skip it once it passed
  uint16_t once_key = 0;   // steps with the same key are one login (shared across scenarios)
  ThinkTime think;         // pause after the step, before its dependants start
  int64_t timeout_ns = 0;  // 0: the run's timeout
  bool capture_headers = false;
  bool capture_body = false;
  uint64_t vars_used = 0;  // bit per variable slot its templates read
  std::vector<std::pair<std::string, std::string>> tags;
};

// A scenario's own load (k6 `scenarios`): it runs beside the others under its own executor.
// Values as written; the CLI compiles them into a load plan.
struct ScenarioLoad {
  std::string executor;
  std::string where;  // file:line:col, for messages
  std::optional<uint64_t> vus, iterations, max_vus;
  std::optional<double> arrival_rate;
  std::optional<std::string> duration;
  std::vector<std::string> stages;  // "30s:100" or "30s:100/s"
};

struct Scenario {
  std::string name;
  std::optional<ScenarioLoad> load;  // set: its own executor; else it shares [load] by weight
  uint32_t weight = 1;
  std::vector<Step> steps;   // in an order where every step comes after its dependencies
  uint64_t tables_used = 0;  // bit per data table its templates read, row picked per iteration
  uint64_t tables_once = 0;  // bit per data table only once-per-VU steps read: picked once
};

// How a data table hands rows to iterations.
enum class Strategy : uint8_t {
  kSequential,  // each VU walks the rows in order from its own start, wrapping
  kCircular,    // one cursor shared by all VUs, wrapping
  kRandom,      // a random row per iteration
  kUnique,      // each row used once across all VUs (and execution segments)
  kPerVu,       // VU n keeps row n (mod rows) for the whole run
};

struct DataTable {
  std::string name;
  std::string file;
  Strategy strategy = Strategy::kSequential;
  bool stop_run_when_exhausted = true;  // unique: stop the run, else just the VU
  std::vector<std::string> columns;
  std::vector<std::string> cells;  // row-major
  size_t rows() const { return columns.empty() ? 0 : cells.size() / columns.size(); }
  const std::string& cell(size_t row, size_t col) const {
    return cells[row * columns.size() + col];
  }
};

struct Origin {
  Url url;  // scheme, host and port (path ignored)
};

struct Journey {
  std::vector<Origin> origins;
  std::vector<Scenario> scenarios;       // chosen per iteration by weight
  std::vector<std::string> variables;    // slot -> name
  std::vector<std::string> check_names;  // Check::id -> name
  std::vector<DataTable> data;
  bool cookie_jar = false;
  int max_redirects = 10;  // 0: redirects are not followed
  bool plain = false;      // a plain run's requests, each a one-step scenario
  size_t step_count() const;
  const Step* step_by_id(uint16_t id) const;
};

// Orders a scenario's steps so dependencies come first; throws SetupError naming a cycle.
void order_steps(Scenario& sc, std::string_view where);

// The step DAG as Mermaid ("mermaid") or Graphviz ("dot") text.
std::string graph(const Journey& j, std::string_view format);

// Row chosen for an iteration; cursors are shared by the process's workers.
struct TableCursor {
  std::atomic<uint64_t> next{0};
};

}  // namespace spiker::plan
