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
  plan::HttpMessage& m = x.message;
  const std::string* rows[plan::kMaxSteps];
  plan::RenderContext ctx;
  journey_context(lane, ctx, rows);
  bool redirected = !x.redirect_target.empty();
  bool with_body = st.has_body && !(redirected && x.redirect_get);
  m.method = redirected && x.redirect_get ? std::string_view("GET") : std::string_view(st.method);
  m.target.clear();
  if (redirected) {
    m.target = x.redirect_target;
  } else {
    st.target.render(m.target, ctx);
  }
  m.authority = o.host_header;
  size_t n = 0;  // the strings of the last request are reused
  auto put = [&](std::string_view name) -> std::string& {
    if (n == m.headers.size()) m.headers.emplace_back();
    m.headers[n].first.assign(name);
    m.headers[n].second.clear();
    return m.headers[n++].second;
  };
  for (const auto& [name, value] : st.headers) {
    if (!with_body && iequals(name, "content-type")) continue;
    value.render(put(name), ctx);
  }
  if (journey_->cookie_jar) {
    std::string cookies = plan::cookie_header(j.cookies, o.host, o.tls != nullptr, m.target);
    if (!cookies.empty()) put("Cookie") = std::move(cookies);
  }
  m.headers.resize(n);
  m.close = !config_.keep_alive;
  m.length = with_body;
  m.body.clear();
  if (with_body) st.body.render(m.body, ctx);
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
    std::string current = lane.scratch->message.target;
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
