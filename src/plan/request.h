// A plain run's request (the one URL of `run URL`, or a Kaioken [[scenarios]] entry) as the run
// plan carries it, and HTTP requests in no wire form: HTTP/1.1 writes them as text, HTTP/2 as a
// header block, the WebSocket upgrade as its head. Static requests are rendered (and, for
// HTTP/1.1, serialized) once; templates (${REQUEST_ID}, ...) are rendered per send.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "plan/journey.h"
#include "plan/template.h"

namespace spiker::plan {

// An HTTP request ready to send. `authority` is the Host; headers are as the user wrote them
// (names in their case), without Host and Content-Length: each protocol frames the body its way.
struct HttpMessage {
  std::string method = "GET";
  std::string target = "/";  // path and query
  std::string authority;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // A body that lives elsewhere for the whole run and is sent as it is (a --body-file, mapped
  // from the file): used instead of `body` when set, never copied per request or connection.
  std::string_view shared_body;
  std::string_view body_bytes() const { return shared_body.data() != nullptr ? shared_body : body; }
  bool length = false;  // HTTP/1.1: a Content-Length line (a body, or a method that takes one)
  bool close = false;   // keep-alive off: HTTP/1.1 says Connection: close
  void clear() {
    headers.clear();
    body.clear();
  }
};

// The same with templates, rendered per send.
struct HttpTemplate {
  std::string method = "GET";
  std::string authority;
  Template target;
  std::vector<std::pair<std::string, Template>> headers;
  Template body;
  std::string_view shared_body;  // as HttpMessage's (then `body` is empty)
  bool length = false;
  bool close = false;
  bool is_static() const;
  // Renders into `out` (its strings reused: no allocation once grown).
  void render(HttpMessage& out, const RenderContext& ctx) const;
};

// One request an iteration may send (a Kaioken scenario, or the one URL of `run URL`).
struct Request {
  std::string wire;                             // HTTP/1.1: serialized once (when static)
  HttpMessage http;                             // HTTP: the request (when static)
  std::shared_ptr<const HttpTemplate> dynamic;  // set: rendered per send instead (for
                                                // registered protocols: the body only)
  bool head = false;                            // HEAD: responses have no body
  std::string message;  // WebSocket and registered protocols: the payload (when not dynamic)
  std::shared_ptr<const ProtocolRequest> proto;  // registered protocols: the request
  uint32_t weight = 1;                           // chosen in proportion to this
};

// A plain run as a journey: a one-step scenario per request, weighted as the requests are.
// The steps point at `requests`, which must outlive it.
std::unique_ptr<Journey> one_step_journey(const std::vector<Request>& requests);

}  // namespace spiker::plan
