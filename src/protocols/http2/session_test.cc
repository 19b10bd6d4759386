#include "protocols/http2/session.h"

#include <gtest/gtest.h>
#include <nghttp2/nghttp2.h>

#include <map>
#include <string>

namespace spiker::http2 {
namespace {

plan::HttpMessage message(std::string method, std::string target, std::string body = "") {
  plan::HttpMessage m;
  m.method = std::move(method);
  m.target = std::move(target);
  m.authority = "h";
  m.body = std::move(body);
  m.length = !m.body.empty();
  return m;
}

TEST(FromMessage, TranslatesRequestLineHostAndHeaders) {
  plan::HttpMessage m = message("POST", "/items?x=1", "hello");
  m.authority = "example.test:8080";
  m.headers = {{"Content-Type", "text/plain"}, {"Connection", "keep-alive"}, {"X-Trace", "a b"}};
  Request r;
  from_message(m, "https", &r);
  std::vector<std::pair<std::string, std::string>> want = {{":method", "POST"},
                                                           {":path", "/items?x=1"},
                                                           {":scheme", "https"},
                                                           {":authority", "example.test:8080"},
                                                           {"content-type", "text/plain"},
                                                           {"x-trace", "a b"},
                                                           {"content-length", "5"}};
  EXPECT_EQ(r.headers, want);
  EXPECT_EQ(r.body, "hello");
}

TEST(FromMessage, DropsConnectionHeadersAndReusesStrings) {
  plan::HttpMessage m = message("GET", "/");
  m.headers = {{"Host", "x"}, {"Transfer-Encoding", "chunked"}, {"TE", "gzip"}, {"TE", "trailers"}};
  Request r;
  from_message(message("POST", "/long/path", "body"), "http", &r);
  from_message(m, "http", &r);
  std::vector<std::pair<std::string, std::string>> want = {{":method", "GET"},
                                                           {":path", "/"},
                                                           {":scheme", "http"},
                                                           {":authority", "h"},
                                                           {"te", "trailers"}};
  EXPECT_EQ(r.headers, want);
  EXPECT_EQ(r.body, "");
}

// A server made of nghttp2 directly, answering every request with 200 and "ok:" + path,
// except /reset (RST_STREAM) and /goaway (GOAWAY after this stream).
struct Server {
  nghttp2_session* s = nullptr;
  std::map<int32_t, std::string> paths;
  std::string bodies_seen;
  std::map<int32_t, std::string> out;  // response bodies being sent
  int max_streams = 100;

  Server() {
    nghttp2_session_callbacks* cbs;
    nghttp2_session_callbacks_new(&cbs);
    nghttp2_session_callbacks_set_on_header_callback(
        cbs, [](nghttp2_session*, const nghttp2_frame* f, const uint8_t* n, size_t nl,
                const uint8_t* v, size_t vl, uint8_t, void* p) {
          if (std::string(reinterpret_cast<const char*>(n), nl) == ":path") {
            static_cast<Server*>(p)->paths[f->hd.stream_id] =
                std::string(reinterpret_cast<const char*>(v), vl);
          }
          return 0;
        });
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(
        cbs, [](nghttp2_session*, uint8_t, int32_t, const uint8_t* d, size_t l, void* p) {
          static_cast<Server*>(p)->bodies_seen.append(reinterpret_cast<const char*>(d), l);
          return 0;
        });
    nghttp2_session_callbacks_set_on_frame_recv_callback(
        cbs, [](nghttp2_session* s, const nghttp2_frame* f, void* p) {
          auto* me = static_cast<Server*>(p);
          if ((f->hd.type == NGHTTP2_HEADERS || f->hd.type == NGHTTP2_DATA) &&
              (f->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
            me->respond(s, f->hd.stream_id);
          }
          return 0;
        });
    nghttp2_session_server_new(&s, cbs, this);
    nghttp2_session_callbacks_del(cbs);
    nghttp2_settings_entry e{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS,
                             static_cast<uint32_t>(max_streams)};
    nghttp2_submit_settings(s, NGHTTP2_FLAG_NONE, &e, 1);
  }
  ~Server() { nghttp2_session_del(s); }

  void respond(nghttp2_session* session, int32_t id) {
    std::string path = paths[id];
    if (path == "/reset") {
      nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, id, NGHTTP2_INTERNAL_ERROR);
      return;
    }
    if (path == "/goaway") {
      nghttp2_submit_goaway(session, NGHTTP2_FLAG_NONE, id, NGHTTP2_NO_ERROR, nullptr, 0);
    }
    std::string& body = out[id];
    body = "ok:" + path;
    nghttp2_nv nv[] = {{(uint8_t*)":status", (uint8_t*)"200", 7, 3, 0}};
    nghttp2_data_provider prd;
    prd.source.ptr = &body;
    prd.read_callback = [](nghttp2_session*, int32_t, uint8_t* buf, size_t len, uint32_t* flags,
                           nghttp2_data_source* src, void*) -> ssize_t {
      auto* b = static_cast<std::string*>(src->ptr);
      size_t n = std::min(len, b->size());
      memcpy(buf, b->data(), n);
      b->erase(0, n);
      if (b->empty()) *flags |= NGHTTP2_DATA_FLAG_EOF;
      return static_cast<ssize_t>(n);
    };
    nghttp2_submit_response(session, id, nv, 1, &prd);
  }
};

struct Recorder : Listener {
  std::map<int, std::string> status, body;
  std::map<int, uint32_t> closed;
  std::map<int, bool> refused;
  int goaways = 0;
  bool wants_headers(void*) override { return true; }
  void on_h2_header(void* st, std::string_view n, std::string_view v) override {
    if (n == ":status") status[static_cast<int>(reinterpret_cast<intptr_t>(st))] = v;
  }
  void on_h2_data(void* st, const char* d, size_t l) override {
    body[static_cast<int>(reinterpret_cast<intptr_t>(st))].append(d, l);
  }
  void on_h2_close(void* st, uint32_t code, bool ref) override {
    closed[static_cast<int>(reinterpret_cast<intptr_t>(st))] = code;
    refused[static_cast<int>(reinterpret_cast<intptr_t>(st))] = ref;
  }
  void on_h2_goaway(int32_t, uint32_t) override { ++goaways; }
};

// Moves bytes both ways until neither side has more to say.
void pump(Session& client, Server& server) {
  for (int round = 0; round < 20; ++round) {
    std::string out;
    ASSERT_TRUE(client.take_output(out, 1 << 20));
    if (!out.empty()) {  // NOLINT
      ASSERT_GE(nghttp2_session_mem_recv(server.s, reinterpret_cast<const uint8_t*>(out.data()),
                                         out.size()),
                0);
    }
    std::string back;
    const uint8_t* p;
    ssize_t n;
    while ((n = nghttp2_session_mem_send(server.s, &p)) > 0) {
      back.append(reinterpret_cast<const char*>(p), static_cast<size_t>(n));
    }
    if (out.empty() && back.empty()) return;
    if (!back.empty()) {
      ASSERT_TRUE(client.receive(back.data(), back.size()));
    }
  }
}

void* tag(int i) { return reinterpret_cast<void*>(static_cast<intptr_t>(i)); }

TEST(Session, MultiplexesRequestsWithBodies) {
  Recorder rec;
  Session client(rec, 1 << 20);
  Server server;
  Request a, b;
  plan::HttpMessage get_a = message("GET", "/a"), post_b = message("POST", "/b", "xyz");
  from_message(get_a, "http", &a);
  from_message(post_b, "http", &b);
  EXPECT_EQ(client.submit(a, tag(1), true), 1);
  EXPECT_EQ(client.submit(b, tag(2), false), 3);
  EXPECT_EQ(client.submit(a, tag(3), true), 5);
  pump(client, server);
  EXPECT_EQ(rec.status[1], "200");
  EXPECT_EQ(rec.body[1], "ok:/a");
  EXPECT_EQ(rec.body[2], "ok:/b");
  EXPECT_EQ(rec.body[3], "ok:/a");
  EXPECT_EQ(server.bodies_seen, "xyz");
  EXPECT_EQ(rec.closed.size(), 3u);
  EXPECT_EQ(rec.closed[2], 0u);
  EXPECT_EQ(client.peer_max_streams(), 100u);
}

TEST(Session, ReportsResetStreamsAndGoaway) {
  Recorder rec;
  Session client(rec, 65535);
  Server server;
  Request reset, go, after;
  plan::HttpMessage m_reset = message("GET", "/reset"), m_go = message("GET", "/goaway");
  from_message(m_reset, "http", &reset);
  from_message(m_go, "http", &go);
  client.submit(reset, tag(1), true);
  pump(client, server);
  EXPECT_EQ(rec.closed.at(1), static_cast<uint32_t>(NGHTTP2_INTERNAL_ERROR));
  EXPECT_FALSE(rec.refused[1]);
  client.submit(go, tag(2), true);
  pump(client, server);
  EXPECT_EQ(rec.goaways, 1);
  EXPECT_EQ(rec.body[2], "ok:/goaway");
}

TEST(Session, CancelledStreamsAreNotReported) {
  Recorder rec;
  Session client(rec, 65535);
  Server server;
  Request a;
  plan::HttpMessage get_a = message("GET", "/a");
  from_message(get_a, "http", &a);
  int32_t id = client.submit(a, tag(1), true);
  pump(client, server);
  int32_t id2 = client.submit(a, tag(2), true);
  client.cancel(id2);
  pump(client, server);
  EXPECT_GT(id, 0);
  EXPECT_EQ(rec.closed.count(1), 1u);
  EXPECT_EQ(rec.closed.count(2), 0u);
}

}  // namespace
}  // namespace spiker::http2
