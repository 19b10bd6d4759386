#include "protocols/http2/session.h"

#include <nghttp2/nghttp2.h>
#include <strings.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <new>

#include "core/strings.h"

namespace spiker::http2 {
namespace {

// Headers that mean something only to one HTTP/1.1 connection (RFC 9113 8.2.2).
bool connection_specific(std::string_view name) {
  for (std::string_view h :
       {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "host"}) {
    if (iequals(name, h)) return true;
  }
  return false;
}

nghttp2_nv make_nv(const std::pair<std::string, std::string>& h, uint8_t flags) {
  return {reinterpret_cast<uint8_t*>(const_cast<char*>(h.first.data())),
          reinterpret_cast<uint8_t*>(const_cast<char*>(h.second.data())), h.first.size(),
          h.second.size(), flags};
}

}  // namespace

// A small-block pool for nghttp2's per-stream allocations (stream objects, header buffers,
// frames): blocks of up to 1 KiB come from free lists by 32-byte class instead of malloc, so a
// request costs no allocator round trips once the pool is warm. One pool per session (one
// thread); freed blocks stay in the pool until the session ends.
class Pool {
 public:
  nghttp2_mem mem{};  // hands nghttp2 this pool
  ~Pool() {
    for (void* chunk : chunks_) std::free(chunk);
  }
  void* alloc(size_t size) {
    size_t cls = (size + kHeader + kGrain - 1) / kGrain;
    if (cls >= kClasses) {
      auto* h = static_cast<size_t*>(std::malloc(size + kHeader));
      if (h == nullptr) return nullptr;
      h[0] = 0;  // not pooled
      return reinterpret_cast<char*>(h) + kHeader;
    }
    void*& head = free_[cls];
    if (head == nullptr) refill(cls);
    void* block = head;
    if (block == nullptr) return nullptr;
    head = *static_cast<void**>(block);
    static_cast<size_t*>(block)[0] = cls;
    return static_cast<char*>(block) + kHeader;
  }
  void release(void* p) {
    if (p == nullptr) return;
    void* block = static_cast<char*>(p) - kHeader;
    size_t cls = static_cast<size_t*>(block)[0];
    if (cls == 0) {
      std::free(block);
      return;
    }
    *static_cast<void**>(block) = free_[cls];
    free_[cls] = block;
  }
  void* realloc(void* p, size_t size) {
    if (p == nullptr) return alloc(size);
    void* block = static_cast<char*>(p) - kHeader;
    size_t cls = static_cast<size_t*>(block)[0];
    if (cls == 0) {
      auto* h = static_cast<size_t*>(std::realloc(block, size + kHeader));
      return h == nullptr ? nullptr : reinterpret_cast<char*>(h) + kHeader;
    }
    size_t room = cls * kGrain - kHeader;
    if (size <= room) return p;
    void* q = alloc(size);
    if (q != nullptr) std::memcpy(q, p, room);
    release(p);
    return q;
  }

 private:
  static constexpr size_t kHeader = 16;  // keeps blocks 16-byte aligned
  static constexpr size_t kGrain = 32;
  static constexpr size_t kClasses = 33;  // blocks up to 1 KiB
  void refill(size_t cls) {
    size_t size = cls * kGrain;
    size_t count = std::max<size_t>(16, 16384 / size);
    char* chunk = static_cast<char*>(std::malloc(size * count));
    if (chunk == nullptr) return;
    chunks_.push_back(chunk);
    for (size_t i = 0; i < count; ++i) {
      void* block = chunk + i * size;
      *static_cast<void**>(block) = free_[cls];
      free_[cls] = block;
    }
  }
  void* free_[kClasses] = {};
  std::vector<void*> chunks_;
};

void from_message(const plan::HttpMessage& m, std::string_view scheme, Request* out) {
  // The strings of the last request are reused: rendering per send allocates nothing once the
  // fields have grown to size.
  auto& headers = out->headers;
  size_t n = 0;
  auto put = [&](std::string_view name, std::string_view value) -> std::string& {
    if (n == headers.size()) headers.emplace_back();
    auto& [k, v] = headers[n++];
    k.assign(name);
    v.assign(value);
    return k;
  };
  put(":method", m.method);
  put(":path", m.target);
  put(":scheme", scheme);
  put(":authority", m.authority);
  for (const auto& [name, value] : m.headers) {
    if (connection_specific(name)) continue;
    if (iequals(name, "te") && !iequals(value, "trailers")) continue;
    for (char& c : put(name, value))
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (m.length) {
    char digits[24];
    auto [end, ec] = std::to_chars(digits, digits + sizeof digits, m.body_bytes().size());
    put("content-length", std::string_view(digits, static_cast<size_t>(end - digits)));
  }
  headers.resize(n);
  out->body = m.body_bytes();
}

// nghttp2's callbacks, with the Session as user data.
struct Callbacks {
  static Session& self(void* p) { return *static_cast<Session*>(p); }

  // The stream's pointer is looked up once per header block, not once per header.
  static int on_begin_headers(nghttp2_session* s, const nghttp2_frame* frame, void* p) {
    Session& me = self(p);
    me.block_stream_id_ = frame->hd.stream_id;
    me.block_stream_ = nghttp2_session_get_stream_user_data(s, frame->hd.stream_id);
    me.block_all_ = me.block_stream_ != nullptr && me.listener_.wants_headers(me.block_stream_);
    return 0;
  }

  static int on_header(nghttp2_session* s, const nghttp2_frame* frame, const uint8_t* name,
                       size_t namelen, const uint8_t* value, size_t valuelen, uint8_t /*flags*/,
                       void* p) {
    if (frame->hd.type != NGHTTP2_HEADERS) return 0;
    Session& me = self(p);
    bool cached = frame->hd.stream_id == me.block_stream_id_;
    bool status = namelen == 7 && std::memcmp(name, ":status", 7) == 0;
    if (cached && !me.block_all_ && !status) return 0;  // nobody reads it
    void* stream =
        cached ? me.block_stream_ : nghttp2_session_get_stream_user_data(s, frame->hd.stream_id);
    if (stream == nullptr) return 0;
    self(p).listener_.on_h2_header(stream, {reinterpret_cast<const char*>(name), namelen},
                                   {reinterpret_cast<const char*>(value), valuelen});
    return 0;
  }

  static int on_data(nghttp2_session* s, uint8_t /*flags*/, int32_t stream_id, const uint8_t* data,
                     size_t len, void* p) {
    void* stream = nghttp2_session_get_stream_user_data(s, stream_id);
    if (stream != nullptr) {
      self(p).listener_.on_h2_data(stream, reinterpret_cast<const char*>(data), len);
    }
    return 0;
  }

  static int on_close(nghttp2_session* s, int32_t stream_id, uint32_t error_code, void* p) {
    Session& me = self(p);
    for (auto& b : me.bodies_) {
      if (b->stream_id == stream_id) b->stream_id = 0;
    }
    if (stream_id == me.block_stream_id_) me.block_stream_id_ = 0;
    void* stream = nghttp2_session_get_stream_user_data(s, stream_id);
    if (stream == nullptr) return 0;
    // Streams the server never processed (past a GOAWAY's last stream id, nghttp2 closes them
    // with REFUSED_STREAM too).
    bool refused = error_code == NGHTTP2_REFUSED_STREAM;
    me.listener_.on_h2_close(stream, error_code, refused);
    return 0;
  }

  static int on_frame(nghttp2_session* /*s*/, const nghttp2_frame* frame, void* p) {
    if (frame->hd.type == NGHTTP2_GOAWAY) {
      self(p).listener_.on_h2_goaway(frame->goaway.last_stream_id, frame->goaway.error_code);
    }
    return 0;
  }

  static ssize_t read_body(nghttp2_session* /*s*/, int32_t /*stream_id*/, uint8_t* buf,
                           size_t length, uint32_t* data_flags, nghttp2_data_source* source,
                           void* /*p*/) {
    auto* body = static_cast<Session::Body*>(source->ptr);
    size_t n = std::min(length, body->rest.size());
    std::memcpy(buf, body->rest.data(), n);
    body->rest.remove_prefix(n);
    if (body->rest.empty()) *data_flags |= NGHTTP2_DATA_FLAG_EOF;
    return static_cast<ssize_t>(n);
  }
};

Session::Session(Listener& listener, uint32_t window)
    : listener_(listener), pool_(std::make_unique<Pool>()) {
  nghttp2_mem* mem = &pool_->mem;
  mem->mem_user_data = pool_.get();
  mem->malloc = [](size_t n, void* p) { return static_cast<Pool*>(p)->alloc(n); };
  mem->free = [](void* b, void* p) { static_cast<Pool*>(p)->release(b); };
  mem->calloc = [](size_t n, size_t size, void* p) {
    void* b = static_cast<Pool*>(p)->alloc(n * size);
    if (b != nullptr) std::memset(b, 0, n * size);
    return b;
  };
  mem->realloc = [](void* b, size_t n, void* p) { return static_cast<Pool*>(p)->realloc(b, n); };
  nghttp2_session_callbacks* cbs = nullptr;
  if (nghttp2_session_callbacks_new(&cbs) != 0) throw std::bad_alloc();
  nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, Callbacks::on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(cbs, Callbacks::on_header);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, Callbacks::on_data);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, Callbacks::on_close);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, Callbacks::on_frame);
  nghttp2_option* opt = nullptr;
  nghttp2_option_new(&opt);
  // Responses are checked by us (status, and what checks ask for); nghttp2 still enforces the
  // framing, flow control and HPACK.
  nghttp2_option_set_no_http_messaging(opt, 1);
  int rv = nghttp2_session_client_new3(&session_, cbs, this, opt, mem);
  nghttp2_option_del(opt);
  nghttp2_session_callbacks_del(cbs);
  if (rv != 0) throw std::bad_alloc();
  nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, window},
  };
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, 2);
  if (window > NGHTTP2_INITIAL_CONNECTION_WINDOW_SIZE) {
    nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0,
                                          static_cast<int32_t>(window));
  }
}

Session::~Session() { nghttp2_session_del(session_); }  // before the pool it allocated from

int32_t Session::submit(const Request& r, void* stream, bool borrow) {
  uint8_t flags = borrow ? (NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE)
                         : NGHTTP2_NV_FLAG_NONE;
  constexpr size_t kInline = 32;
  nghttp2_nv inline_nv[kInline];
  std::vector<nghttp2_nv> heap_nv;
  nghttp2_nv* nv = inline_nv;
  if (r.headers.size() > kInline) {
    heap_nv.resize(r.headers.size());
    nv = heap_nv.data();
  }
  for (size_t i = 0; i < r.headers.size(); ++i) nv[i] = make_nv(r.headers[i], flags);
  nghttp2_data_provider provider{};
  nghttp2_data_provider* data = nullptr;
  Body* body = nullptr;
  if (!r.body.empty()) {
    for (auto& b : bodies_) {
      if (b->stream_id == 0) body = b.get();
    }
    if (body == nullptr) body = bodies_.emplace_back(std::make_unique<Body>()).get();
    body->rest = r.body;
    body->stream_id = -1;  // taken until we know the id
    provider.source.ptr = body;
    provider.read_callback = Callbacks::read_body;
    data = &provider;
  }
  int32_t id = nghttp2_submit_request(session_, nullptr, nv, r.headers.size(), data, stream);
  if (body != nullptr) body->stream_id = id > 0 ? id : 0;
  return id;
}

void Session::cancel(int32_t stream_id) {
  if (stream_id == block_stream_id_) block_stream_id_ = 0;
  nghttp2_session_set_stream_user_data(session_, stream_id, nullptr);
  nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, stream_id, NGHTTP2_CANCEL);
}

void Session::forget(int32_t stream_id) {
  if (stream_id == block_stream_id_) block_stream_id_ = 0;
  nghttp2_session_set_stream_user_data(session_, stream_id, nullptr);
}

bool Session::receive(const char* data, size_t len) {
  ssize_t n = nghttp2_session_mem_recv(session_, reinterpret_cast<const uint8_t*>(data), len);
  return n >= 0;
}

bool Session::take_output(std::string& out, size_t limit) {
  while (out.size() < limit) {
    const uint8_t* p = nullptr;
    ssize_t n = nghttp2_session_mem_send(session_, &p);
    if (n < 0) return false;
    if (n == 0) break;
    out.append(reinterpret_cast<const char*>(p), static_cast<size_t>(n));
  }
  return true;
}

uint32_t Session::peer_max_streams() const {
  return nghttp2_session_get_remote_settings(session_, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
}

bool Session::finished() const {
  return nghttp2_session_want_read(session_) == 0 && nghttp2_session_want_write(session_) == 0;
}

void Session::terminate() { nghttp2_session_terminate_session(session_, NGHTTP2_NO_ERROR); }

}  // namespace spiker::http2
