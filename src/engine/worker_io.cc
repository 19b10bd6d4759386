// The worker's I/O half: one iteration's request handed to a session (the VU's own, or its
// slot's shared one), plain runs' dynamic requests rendered, and deadlines.
#include <algorithm>

#include "engine/worker.h"
#include "proto/protocol.h"

namespace spiker::engine {

void Worker::start_request(Connection& c) noexcept { session_start(c); }

void Worker::plain_context(const Connection& c, plan::RenderContext& ctx) noexcept {
  ctx.vu_id = static_cast<uint64_t>(&c - conns_.data()) * static_cast<uint64_t>(count_) +
              static_cast<uint64_t>(index_) + 1;
  ctx.iteration = c.iterations;
  ctx.rng = &rng_;
}

void Worker::render(Connection& c) {
  const plan::HttpTemplate& d = *(*config_.requests)[c.variant].dynamic;
  if (!c.rendered) c.rendered = std::make_unique<std::vector<plan::HttpMessage>>();
  std::vector<plan::HttpMessage>& out = *c.rendered;
  if (out.size() < c.batch) out.resize(c.batch);
  plan::RenderContext ctx;
  plain_context(c, ctx);
  for (uint16_t i = 0; i < c.batch; ++i) {
    ctx.request_id = next_request_id();
    d.render(out[i], ctx);
  }
}

void Worker::close_socket(Connection& c) noexcept {
  if (c.session) c.session->close();
  if (c.shared != nullptr) {  // its exchanges on the shared connection are abandoned
    c.shared->cancel(&c);
    c.shared = nullptr;
  }
}

void Worker::flush_sessions() noexcept {
  size_t n = flush_queue_.size();  // what a flush queues again waits for the next turn
  for (size_t i = 0; i < n; ++i) {
    proto::Session* s = flush_queue_[i];
    if (s->flush_pending) s->flush();
  }
  flush_queue_.erase(flush_queue_.begin(), flush_queue_.begin() + static_cast<ptrdiff_t>(n));
}

void Worker::scan_deadlines(int64_t now_ns) noexcept {
  for (Connection& c : conns_) {
    if (c.session) c.session->check_deadline(now_ns);
  }
  for (size_t i = 0; i < lanes_.size(); ++i) {  // a failure may add lanes
    if (lanes_[i]->session) lanes_[i]->session->check_deadline(now_ns);
  }
  for (size_t i = 0; i < shared_.size(); ++i) {  // a failure may make sessions
    if (shared_[i]) shared_[i]->check_deadline(now_ns);
  }
}

}  // namespace spiker::engine
