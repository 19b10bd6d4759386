// A plain run's request (the one URL of `run URL`, or a Kaioken [[scenarios]] entry) as the run
// plan carries it: serialized once when static, templates rendered per send otherwise.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "plan/journey.h"
#include "plan/template.h"

namespace spiker::plan {

// A request with placeholders (${REQUEST_ID}, ...), rendered for every send.
struct DynamicRequest {
  Template head;  // request line and headers, without Content-Length and the blank line
  Template body;
  bool content_length = false;  // add Content-Length for the rendered body
};

// One request an iteration may send (a Kaioken scenario, or the one URL of `run URL`).
struct Request {
  std::string wire;                               // serialized once (when not dynamic)
  std::shared_ptr<const DynamicRequest> dynamic;  // set: rendered per send instead
  bool head = false;                              // HEAD: responses have no body
  std::string message;  // WebSocket and registered protocols: the payload (when not dynamic)
  std::shared_ptr<const ProtocolRequest> proto;  // registered protocols: the request
  uint32_t weight = 1;                           // chosen in proportion to this
};

}  // namespace spiker::plan
