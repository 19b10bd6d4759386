// One VU of a worker (or a journey lane of one): its state, its journey and its session (the
// connection, owned by a protocol's session; HTTP/2 VUs use their slot's shared one). No buffers
// of its own (the worker's read buffer is shared, static requests are serialized once), so an
// idle VU stays small.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/event_loop.h"
#include "core/io_handler.h"
#include "plan/cookie_jar.h"
#include "plan/request.h"
#include "proto/session.h"

namespace spiker::engine {

// What a VU is doing. kInactive: not part of the run now (closed: beyond the target; open: not
// created yet). kWaiting: between iterations (think time, pacing). kFree: an open-model VU
// waiting for an arrival. kQueued: starts its iteration on the next loop turn. The socket may
// stay open in all of these. The others are one iteration's request on its way.
enum class ConnState : uint8_t {
  kInactive,
  kWaiting,
  kFree,
  kQueued,
  kStepIdle,   // journeys: a lane (or the VU's own connection) with no step, mid-iteration
  kStepPause,  // journeys: a step's think time after its response
  kReading,    // an exchange submitted to its session: its Outcomes are due
};

inline bool in_request(ConnState s) { return s >= ConnState::kReading; }

struct Connection;
class Worker;

// A journey VU's state: its variables, cookies, data rows and this iteration's step states.
// Lives on the VU's own connection; extra lanes carry concurrent steps.
struct VuJourney {
  enum Step : uint8_t { kWaiting, kRunning, kPassed, kFailed, kSkipped, kNotRun };
  uint8_t scenario = 0;
  uint8_t pending = 0;  // steps on their way
  bool advancing = false;
  bool failed = false;  // a step of this iteration failed
  // A step of this iteration ended inside its own submit (a send done once written): the next
  // iteration starts from the loop, not from under that submit (which would never return to it).
  bool ended_in_submit = false;
  uint64_t once_done = 0;
  uint64_t vars_set = 0;
  uint64_t rows_kept = 0;  // data tables whose row this VU keeps (picked for a login)
  std::vector<std::string> vars;
  uint8_t waiting = 0;                           // steps not started, skipped or done yet
  std::array<uint8_t, plan::kMaxSteps> state{};  // per step of the scenario
  std::vector<uint32_t> rows;                    // per data table: this iteration's row
  std::vector<plan::Cookie> cookies;
  std::vector<std::unique_ptr<Connection>> lanes;  // connections for concurrent steps
  Connection* ws = nullptr;  // the lane holding the VU's WebSocket (ws.* steps), once made
};

// Per-lane buffers, made when a step first needs them.
struct LaneScratch {
  plan::HttpMessage message;    // the step's request, rendered
  std::string redirect_target;  // set: the next send follows a redirect here
  bool redirect_get = false;    // ... as a GET without body
};

inline constexpr uint16_t kHttpLane = 0xffff;  // Connection::protocol of HTTP lanes and VUs

struct Connection final : TimerHandler {
  void on_timer(uint64_t generation, uint64_t) noexcept override;
  Worker* worker = nullptr;  // whose loop handles its events
  ConnState state = ConnState::kInactive;
  bool finished = false;          // per-VU iterations done: never activated again
  uint16_t batch = 0;             // requests claimed for the current iteration
  uint8_t variant = 0;            // which of the config's requests this iteration sends (journeys:
                                  // the step's id)
  uint8_t step = 0;               // journeys: the step (index in its scenario) on this lane
  uint8_t origin = 0;             // the host the socket is connected to
  uint8_t redirects = 0;          // journeys: redirects followed for the current step
  uint16_t protocol = kHttpLane;  // journeys: a registered protocol's lane (its index)
  uint16_t in_flight = 0;         // requests written, responses not yet complete
  uint32_t iterations = 0;        // iterations this VU completed
  uint32_t timer_generation = 0;  // bumping it cancels a pending timer
  int64_t intended_ns = 0;        // intended start of the current iteration (0: none)
  // Plain runs' dynamic requests: this iteration's, rendered (one per pipelined request).
  std::unique_ptr<std::vector<plan::HttpMessage>> rendered;
  Connection* vu = nullptr;                 // journeys: the VU this lane works for
  std::unique_ptr<VuJourney> journey;       // journeys: on the VU's own connection
  std::unique_ptr<LaneScratch> scratch;     // journeys
  std::unique_ptr<proto::Session> session;  // its own session (HTTP/1.1, WebSocket, TCP, ...)
  proto::Session* shared = nullptr;         // or a shared one's exchanges (HTTP/2 streams)
};

}  // namespace spiker::engine
