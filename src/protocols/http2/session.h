// An HTTP/2 client session over nghttp2: bytes from the peer in, frames to send out, events to
// a listener. No I/O of its own: the worker's loop reads and writes the socket (plain or TLS).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "plan/request.h"

struct nghttp2_session;

namespace spiker::http2 {

class Pool;

// A request in HTTP/2 form: pseudo-headers first, names in lower case, no connection-specific
// headers.
struct Request {
  std::vector<std::pair<std::string, std::string>> headers;
  std::string_view body;  // borrowed from the message it was made from
};

// A request in HTTP/2 form for `scheme`: the authority becomes :authority; Connection,
// Keep-Alive, Transfer-Encoding, Upgrade and Proxy-Connection are dropped, names lowered,
// Content-Length given when the message says so. `out`'s strings are reused; its body borrows
// `m`'s.
void from_message(const plan::HttpMessage& m, std::string_view scheme, Request* out);

// What a session reports, per stream with the pointer given to submit().
class Listener {
 public:
  // Whether `stream` wants every response header; otherwise only ":status" is reported.
  virtual bool wants_headers(void* stream) = 0;
  // A response header field (":status" first); interim (1xx) responses come too.
  virtual void on_h2_header(void* stream, std::string_view name, std::string_view value) = 0;
  // A piece of the response body.
  virtual void on_h2_data(void* stream, const char* data, size_t len) = 0;
  // The stream ended: error_code 0 after a complete response, else the RST_STREAM (or
  // connection error) code; refused is true for streams the server never processed (GOAWAY
  // past them, REFUSED_STREAM), which are safe to send again.
  virtual void on_h2_close(void* stream, uint32_t error_code, bool refused) = 0;
  // The server sent GOAWAY: no new streams on this connection; streams above
  // `last_stream_id` were not processed (forget() them and send them again elsewhere).
  virtual void on_h2_goaway(int32_t last_stream_id, uint32_t error_code) = 0;

 protected:
  ~Listener() = default;
};

class Session {
 public:
  // `window` is the receive window advertised for each stream and the connection.
  Session(Listener& listener, uint32_t window);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Queues a request; returns its stream id, or a negative value when no stream can be opened.
  // With `borrow`, `r`'s headers must outlive the request's HEADERS frame (static requests);
  // otherwise they are copied. The body is always borrowed: keep it until the stream closes.
  int32_t submit(const Request& r, void* stream, bool borrow);
  // Resets a stream (CANCEL); the listener hears nothing more of it.
  void cancel(int32_t stream_id);
  // Detaches a stream the server will not process: the listener hears nothing more of it.
  void forget(int32_t stream_id);
  // Processes bytes from the peer; false on a connection error (the session is done).
  bool receive(const char* data, size_t len);
  // Appends frames waiting to be sent to `out`, up to about `limit` bytes; false on error.
  bool take_output(std::string& out, size_t limit);
  // The server's SETTINGS_MAX_CONCURRENT_STREAMS (large until it says).
  uint32_t peer_max_streams() const;
  // Neither side has anything more to say (GOAWAY exchanged, or a fatal error).
  bool finished() const;
  // Closes the session politely: a GOAWAY is queued.
  void terminate();

 private:
  struct Body {
    int32_t stream_id = 0;  // 0: free
    std::string_view rest;
  };
  friend struct Callbacks;
  Listener& listener_;
  std::unique_ptr<Pool> pool_;
  nghttp2_session* session_ = nullptr;
  int32_t block_stream_id_ = 0;  // the header block being read: its stream's pointer
  void* block_stream_ = nullptr;
  bool block_all_ = false;                     // ... and whether it wants every header
  std::vector<std::unique_ptr<Body>> bodies_;  // request bodies being sent
};

}  // namespace spiker::http2
