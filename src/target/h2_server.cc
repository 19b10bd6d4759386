#include "target/h2_server.h"

#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <cstring>
#include <new>
#include <unordered_map>
#include <vector>

namespace spiker::target {
namespace {

struct Stream {
  std::string method, path;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  // the request's, then the response's
  size_t body_sent = 0;
  bool responded = false;
};

}  // namespace

struct H2Server::Impl {
  nghttp2_session* session = nullptr;
  Handler handler;
  std::unordered_map<int32_t, Stream> streams;

  static Impl& self(void* p) { return *static_cast<Impl*>(p); }

  static int on_begin_headers(nghttp2_session*, const nghttp2_frame* f, void* p) {
    if (f->hd.type == NGHTTP2_HEADERS && f->headers.cat == NGHTTP2_HCAT_REQUEST) {
      self(p).streams[f->hd.stream_id] = Stream{};
    }
    return 0;
  }

  static int on_header(nghttp2_session*, const nghttp2_frame* f, const uint8_t* name,
                       size_t namelen, const uint8_t* value, size_t valuelen, uint8_t, void* p) {
    auto it = self(p).streams.find(f->hd.stream_id);
    if (it == self(p).streams.end()) return 0;
    std::string n(reinterpret_cast<const char*>(name), namelen);
    std::string v(reinterpret_cast<const char*>(value), valuelen);
    if (n == ":method") {
      it->second.method = v;
    } else if (n == ":path") {
      it->second.path = v;
    } else if (n == ":authority") {
      it->second.headers.emplace_back("host", v);
    } else if (n[0] != ':') {
      it->second.headers.emplace_back(std::move(n), std::move(v));
    }
    return 0;
  }

  static int on_data(nghttp2_session*, uint8_t, int32_t id, const uint8_t* data, size_t len,
                     void* p) {
    auto it = self(p).streams.find(id);
    if (it != self(p).streams.end() && it->second.body.size() < (8u << 20)) {
      it->second.body.append(reinterpret_cast<const char*>(data), len);
    }
    return 0;
  }

  static int on_frame(nghttp2_session*, const nghttp2_frame* f, void* p) {
    if ((f->hd.type != NGHTTP2_HEADERS && f->hd.type != NGHTTP2_DATA) ||
        (f->hd.flags & NGHTTP2_FLAG_END_STREAM) == 0) {
      return 0;
    }
    Impl& me = self(p);
    auto it = me.streams.find(f->hd.stream_id);
    if (it == me.streams.end()) return 0;
    Stream& s = it->second;
    Request req;
    req.method = s.method;
    req.target = s.path;
    for (const auto& [n, v] : s.headers) req.headers.emplace_back(n, v);
    req.body = s.body;
    me.handler(f->hd.stream_id, req);
    return 0;
  }

  static int on_close(nghttp2_session*, int32_t id, uint32_t, void* p) {
    self(p).streams.erase(id);
    return 0;
  }

  static ssize_t read_body(nghttp2_session* s, int32_t id, uint8_t* buf, size_t length,
                           uint32_t* flags, nghttp2_data_source*, void* p) {
    auto it = self(p).streams.find(id);
    if (it == self(p).streams.end()) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    Stream& st = it->second;
    size_t n = std::min(length, st.body.size() - st.body_sent);
    std::memcpy(buf, st.body.data() + st.body_sent, n);
    st.body_sent += n;
    if (st.body_sent == st.body.size()) *flags |= NGHTTP2_DATA_FLAG_EOF;
    (void)s;
    return static_cast<ssize_t>(n);
  }
};

H2Server::H2Server(Handler handler) : impl_(std::make_unique<Impl>()) {
  impl_->handler = std::move(handler);
  nghttp2_session_callbacks* cbs = nullptr;
  if (nghttp2_session_callbacks_new(&cbs) != 0) throw std::bad_alloc();
  nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, Impl::on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(cbs, Impl::on_header);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, Impl::on_data);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, Impl::on_frame);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, Impl::on_close);
  int rv = nghttp2_session_server_new(&impl_->session, cbs, impl_.get());
  nghttp2_session_callbacks_del(cbs);
  if (rv != 0) throw std::bad_alloc();
  nghttp2_settings_entry settings[] = {{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 1000}};
  nghttp2_submit_settings(impl_->session, NGHTTP2_FLAG_NONE, settings, 1);
}

H2Server::~H2Server() { nghttp2_session_del(impl_->session); }

bool H2Server::receive(const char* data, size_t len) {
  return nghttp2_session_mem_recv(impl_->session, reinterpret_cast<const uint8_t*>(data), len) >= 0;
}

void H2Server::respond(int32_t stream, const Response& r, bool head_only) {
  auto it = impl_->streams.find(stream);
  if (it == impl_->streams.end() || it->second.responded) return;
  Stream& s = it->second;
  s.responded = true;
  std::string status = std::to_string(r.status);
  std::string length = std::to_string(r.body.size());
  std::vector<std::pair<std::string, std::string>> h;
  h.emplace_back(":status", status);
  h.emplace_back("content-type", r.content_type);
  h.emplace_back("content-length", length);
  for (const auto& [n, v] : r.headers) {
    std::string lower = n;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    h.emplace_back(std::move(lower), v);
  }
  std::vector<nghttp2_nv> nv;
  for (auto& [n, v] : h) {
    nv.push_back({reinterpret_cast<uint8_t*>(n.data()), reinterpret_cast<uint8_t*>(v.data()),
                  n.size(), v.size(), NGHTTP2_NV_FLAG_NONE});
  }
  s.body = head_only ? std::string() : r.body;
  s.body_sent = 0;
  nghttp2_data_provider prd{};
  prd.read_callback = Impl::read_body;
  nghttp2_submit_response(impl_->session, stream, nv.data(), nv.size(),
                          s.body.empty() ? nullptr : &prd);
}

void H2Server::take_output(std::string& out) {
  for (;;) {
    const uint8_t* p = nullptr;
    ssize_t n = nghttp2_session_mem_send(impl_->session, &p);
    if (n <= 0) return;
    out.append(reinterpret_cast<const char*>(p), static_cast<size_t>(n));
  }
}

bool H2Server::finished() const {
  return nghttp2_session_want_read(impl_->session) == 0 &&
         nghttp2_session_want_write(impl_->session) == 0;
}

}  // namespace spiker::target
