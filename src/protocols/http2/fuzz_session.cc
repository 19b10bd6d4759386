// libFuzzer: the HTTP/2 client session with a request in flight, fed what a server might send.
#include <cstdint>
#include <string>

#include "protocols/http2/session.h"

namespace {

struct Sink : spiker::http2::Listener {
  bool wants_headers(void*) override { return true; }
  void on_h2_header(void*, std::string_view, std::string_view) override {}
  void on_h2_data(void*, const char*, size_t) override {}
  void on_h2_close(void*, uint32_t, bool) override {}
  void on_h2_goaway(int32_t, uint32_t) override {}
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Sink sink;
  spiker::http2::Session session(sink, 65535);
  spiker::plan::HttpMessage m;
  m.method = "POST";
  m.target = "/fuzz";
  m.authority = "h";
  m.body = "body";
  m.length = true;
  spiker::http2::Request r;
  spiker::http2::from_message(m, "http", &r);
  int tag = 0;
  session.submit(r, &tag, false);
  std::string out;
  session.take_output(out, 1 << 16);
  const char* p = reinterpret_cast<const char*>(data);
  size_t half = size / 2;  // in two reads, as a socket may deliver it
  if (session.receive(p, half) && session.receive(p + half, size - half)) {
    out.clear();
    session.take_output(out, 1 << 16);
  }
  return 0;
}
