// The HTTP/2 client session (shared by --max-streams VUs): its class, for the two files that
// implement it: client.cc (the connection: connect, TLS, reads, writes, failures) and
// client_streams.cc (exchanges as streams: waiting, sending, timeouts, nghttp2's events).
// Internal to the protocol folder.
#pragma once

#include <sys/epoll.h>

#include <algorithm>
#include <charconv>
#include <memory>
#include <vector>

#include "core/socket.h"
#include "core/transport.h"
#include "metrics/shard.h"
#include "proto/protocol.h"
#include "protocols/http2/session.h"
#include "protocols/http2/stats.h"

namespace spiker::http2::client_detail {

using metrics::ErrorKind;

constexpr size_t kOutChunk = 64 * 1024;   // frames gathered per write
constexpr size_t kMaxCapture = 8u << 20;  // bodies kept for checks: 8 MiB at most
constexpr int kReadsPerTurn = 16;         // reads in one go; the rest on the next loop turn
constexpr int kMaxRefusals = 2;  // connections in a row drained by GOAWAY, nothing answered

class Client final : public proto::Session, private Listener {
 public:
  Client(proto::SessionHost& host, const proto::SessionOptions& options)
      : host_(host), options_(options) {}
  ~Client() override { close(); }

  size_t capacity() const noexcept override { return options_.streams; }
  bool connected() const noexcept override { return transport_.is_open(); }

  void submit(const proto::Exchange& x) noexcept override;
  void flush() noexcept override;

  void on_io(uint32_t events) noexcept override;
  void check_deadline(int64_t now) noexcept override;

  void cancel(void* owner) noexcept override;
  void close() noexcept override;

 private:
  // An exchange: waiting (id 0) or a stream on the connection (id > 0).
  struct Stream {
    proto::Exchange x;
    void* owner = nullptr;
    int32_t id = 0;
    int status = 0;
    bool retried = false;
    bool head_done = false;  // captured head complete (body or trailers follow)
    int64_t sent_ns = 0;
    int64_t deadline_ns = 0;
    int64_t submitted_ns = 0;
    // Captured head and trailers: the first n of each, their strings reused from response to
    // response (the Stream is pooled), so a steady run allocates nothing for them.
    struct Fields {
      std::vector<std::pair<std::string, std::string>> items;
      size_t n = 0;
      void clear() { n = 0; }
      void add(std::string_view name, std::string_view value) {
        if (n == items.size()) items.emplace_back();
        items[n].first.assign(name);
        items[n].second.assign(value);
        ++n;
      }
      void view(std::vector<std::pair<std::string_view, std::string_view>>& out) const {
        out.clear();
        for (size_t i = 0; i < n; ++i) out.emplace_back(items[i].first, items[i].second);
      }
    };
    Fields headers, trailers;
    std::string body;
  };
  Stream* acquire();
  void release(Stream* s);
  void drop_stream(Stream* s);

  bool open_session() const { return transport_.is_open() && session_ != nullptr; }

  void want_flush();
  void connect() noexcept;

  void progress() noexcept;
  void account() noexcept;

  // Opens streams for waiting exchanges while the connection takes them.
  void pump() noexcept;

  // Submits `s` as a stream; false when the connection can take no more (ids used up).
  bool send(Stream* s) noexcept;
  const Request& cached(const plan::HttpMessage& m);

  void read() noexcept;
  void after_io() noexcept;

  void write_out() noexcept;

  // The connection broke the protocol: counted; streams on it fail as `http`, and exchanges
  // waiting get a new connection.
  void connection_error() noexcept;
  void close_link() noexcept;

  // The connection failed. Streams in flight fail with it. Exchanges waiting for it fail too
  // when it never opened; when it did (a close after GOAWAY, a reset), they were never sent:
  // they get a new connection.
  void link_failed(ErrorKind kind) noexcept;
  void report_failure(Stream* s, ErrorKind kind) noexcept;

  // Listener: nghttp2's events for this connection's streams.
  bool wants_headers(void* stream) override { return static_cast<Stream*>(stream)->x.capture; }

  void on_h2_header(void* stream, std::string_view name, std::string_view value) override;

  void on_h2_data(void* stream, const char* data, size_t len) override;

  void on_h2_close(void* stream, uint32_t error_code, bool refused) override;

  void on_h2_goaway(int32_t last_stream_id, uint32_t /*error_code*/) override;

  proto::SessionHost& host_;
  const proto::SessionOptions& options_;
  Transport transport_;
  std::unique_ptr<http2::Session> session_;  // while the connection is open
  std::vector<Stream*> active_;              // streams on the connection
  std::vector<Stream*> waiting_;             // exchanges waiting for it or for a free stream
  std::vector<std::unique_ptr<Stream>> free_;
  std::vector<std::pair<const plan::HttpMessage*, Request>> cache_;  // static requests
  Request scratch_;               // a rendered request in HTTP/2 form
  plan::CapturedResponse parts_;  // what an Outcome points at (its vectors reused)
  std::string out_;               // frames to write
  size_t out_off_ = 0;
  uint32_t open_ = 0;              // streams open
  bool goaway_ = false;            // no new streams; reconnect when drained
  bool want_out_ = false;          // a write met EAGAIN: EPOLLOUT resumes
  bool read_deferred_ = false;     // reading stopped for this turn: flush() goes on
  bool answered_on_link_ = false;  // a stream completed on this connection
  int refusals_in_a_row_ = 0;      // connections drained by GOAWAY with nothing answered
  int64_t connect_start_ns_ = 0;
  int64_t handshake_start_ns_ = 0;
  int64_t connect_deadline_ns_ = 0;
};

}  // namespace spiker::http2::client_detail
