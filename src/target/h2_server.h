// The embedded target's HTTP/2 side: one nghttp2 server session per connection, turning each
// complete stream into a Request for route() and its Response into frames.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "target/request_reader.h"
#include "target/routes.h"

namespace spiker::target {

class H2Server {
 public:
  // Called once per complete request; answer it with respond(), now or later.
  using Handler = std::function<void(int32_t stream, const Request& req)>;
  explicit H2Server(Handler handler);
  ~H2Server();
  H2Server(const H2Server&) = delete;
  H2Server& operator=(const H2Server&) = delete;

  // Processes bytes from the client; false on a protocol error (send the output, then close).
  bool receive(const char* data, size_t len);
  // Queues the response to `stream` (ignored when the client has reset it meanwhile).
  void respond(int32_t stream, const Response& r, bool head_only);
  // Appends frames to send.
  void take_output(std::string& out);
  // Both sides are done (GOAWAY, or an error): close once the output is written.
  bool finished() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace spiker::target
