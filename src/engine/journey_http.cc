// Journeys' HTTP steps: the request rendered from the step (variables, cookies, a redirect's
// target), the response recorded and judged, redirects followed within the plan's hosts.
#include <strings.h>

#include <algorithm>
#include <string>

#include "core/strings.h"
#include "engine/worker.h"

namespace spiker::engine {

void Worker::render_step(Connection& lane) {
  VuJourney& j = *lane.vu->journey;
  const plan::Step& st = journey_->scenarios[j.scenario].steps[lane.step];
  const OriginConfig& o = origin_of(lane);
  LaneScratch& x = *lane.scratch;
  x.capture.clear();
  if (!lane.rendered) lane.rendered = std::make_unique<std::string>();
  std::string& out = *lane.rendered;
  out.clear();
  const std::string* rows[plan::kMaxSteps];
  plan::RenderContext ctx;
  journey_context(lane, ctx, rows);
  bool redirected = !x.redirect_target.empty();
  bool with_body = st.has_body && !(redirected && x.redirect_get);
  out += redirected && x.redirect_get ? std::string_view("GET") : std::string_view(st.method);
  out += ' ';
  size_t path_at = out.size();
  if (redirected) {
    out += x.redirect_target;
  } else {
    st.target.render(out, ctx);
  }
  std::string path = out.substr(path_at);
  out += " HTTP/1.1\r\nHost: ";
  out += o.host_header;
  out += "\r\n";
  for (const auto& [name, value] : st.headers) {
    if (!with_body && iequals(name, "content-type")) continue;
    out += name;
    out += ": ";
    value.render(out, ctx);
    out += "\r\n";
  }
  if (journey_->cookie_jar) {
    plan::add_cookie_header(j.cookies, o.host, o.tls != nullptr, path, out);
  }
  if (!config_.keep_alive) out += "Connection: close\r\n";
  if (with_body) {
    body_buf_.clear();
    st.body.render(body_buf_, ctx);
    out += "Content-Length: ";
    out += std::to_string(body_buf_.size());
    out += "\r\n\r\n";
    out += body_buf_;
  } else {
    out += "\r\n";
  }
}

void Worker::on_step_response(Connection& lane, int64_t now_ns, int status,
                              bool keep_alive) noexcept {
  metrics::Shard& s = *shard_;
  Connection& vu = *lane.vu;
  VuJourney& j = *vu.journey;
  const plan::Step& st = journey_->scenarios[j.scenario].steps[lane.step];
  int64_t latency_us = (now_ns - lane.phase_start_ns) / 1000;
  s.latency_us.record(latency_us);
  if (st.deps.empty() && vu.intended_ns != 0 && plan_.correct_latency && lane.redirects == 0) {
    s.corrected_us.record((now_ns - vu.intended_ns) / 1000);
    s.queue_us.record((lane.phase_start_ns - vu.intended_ns) / 1000);
  }
  ++s.requests;
  ++s.responses;
  ++s.scenario_requests[st.id];
  s.step_latency(st.id).record(latency_us);
  s.record_status(status);
  if (status >= 400) {
    ++s.failed;
    ++s.step_failed[st.id];
  }
  lane.in_flight = 0;
  lane.retried = false;
  if (!keep_alive) close_socket(lane);
  lane.state = ConnState::kStepIdle;

  plan::CapturedResponse& r = captured_;
  r.headers.clear();
  r.body = {};
  r.status = status;
  r.latency_us = latency_us;
  bool parsed = true;
  if (lane.scratch->capturing) {
    parsed = plan::parse_captured(lane.scratch->capture, st.method == "HEAD", &r, &body_buf_);
    r.status = status;
    // Cookies stored and redirects followed as for HTTP/1.1 (on_step_outcome).
    if (parsed && after_http_response(lane, r)) return;
  }
  bool ok = judge_step(st, r, parsed, status, j);
  if (lane.scratch->capture.capacity() > (64u << 10)) std::string().swap(lane.scratch->capture);
  step_finished(lane, ok);
}

bool Worker::after_http_response(Connection& lane, const plan::CapturedResponse& r) noexcept {
  VuJourney& j = *lane.vu->journey;
  if (journey_->cookie_jar) {
    for (const auto& [name, value] : r.headers) {
      if (iequals(name, "set-cookie")) plan::store_cookie(j.cookies, value, origin_of(lane).host);
    }
  }
  return r.status >= 300 && r.status < 400 && follow_redirect(lane, r);
}

bool Worker::follow_redirect(Connection& lane, const plan::CapturedResponse& r) noexcept {
  int status = r.status;
  if (status != 301 && status != 302 && status != 303 && status != 307 && status != 308) {
    return false;
  }
  std::string_view location = r.header("location");
  if (location.empty() || journey_->max_redirects == 0) return false;
  if (lane.redirects >= journey_->max_redirects) {
    ++shard_->redirect_failures;  // too many: the step fails on its last 3xx
    return false;
  }
  uint8_t origin = lane.origin;
  std::string target;
  size_t scheme_end = location.find("://");
  if (scheme_end != std::string_view::npos) {
    std::string_view scheme = location.substr(0, scheme_end);
    std::string_view rest = location.substr(scheme_end + 3);
    size_t slash = rest.find('/');
    std::string_view authority = rest.substr(0, slash);
    target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
    bool found = false;
    for (size_t i = 0; i < config_.origins.size() && !found; ++i) {
      const OriginConfig& o = config_.origins[i];
      bool default_port =
          (o.scheme == "http" && o.port == 80) || (o.scheme == "https" && o.port == 443);
      if (scheme == o.scheme &&
          (iequals(authority, o.host_header) || (default_port && iequals(authority, o.host)))) {
        origin = static_cast<uint8_t>(i);
        found = true;
      }
    }
    if (!found) {
      ++shard_->redirect_failures;  // a host the plan does not name: resolved only at start
      return false;
    }
  } else if (location.starts_with("/")) {
    target = std::string(location);
  } else {
    // Relative to the current path's directory.
    std::string current =
        lane.rendered ? lane.rendered->substr(0, lane.rendered->find(" HTTP/1.1")) : "";
    current = current.substr(current.find(' ') + 1);
    current = current.substr(0, current.find('?'));
    target = current.substr(0, current.rfind('/') + 1) + std::string(location);
  }
  lane.origin = origin;
  ++lane.redirects;
  const plan::Step& st = journey_->scenarios[lane.vu->journey->scenario].steps[lane.step];
  lane.scratch->redirect_target = target;
  lane.scratch->redirect_get =
      status == 303 || ((status == 301 || status == 302) && st.method == "POST");
  lane.batch = 1;
  start_request(lane);
  return true;
}

}  // namespace spiker::engine
