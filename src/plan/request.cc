#include "plan/request.h"

namespace spiker::plan {

bool HttpTemplate::is_static() const {
  if (!target.is_static() || !body.is_static()) return false;
  for (const auto& [name, value] : headers) {
    if (!value.is_static()) return false;
  }
  return true;
}

void HttpTemplate::render(HttpMessage& out, const RenderContext& ctx) const {
  out.method = method;
  out.authority = authority;
  out.target.clear();
  target.render(out.target, ctx);
  out.headers.resize(headers.size());
  for (size_t i = 0; i < headers.size(); ++i) {
    out.headers[i].first = headers[i].first;
    out.headers[i].second.clear();
    headers[i].second.render(out.headers[i].second, ctx);
  }
  out.body.clear();
  body.render(out.body, ctx);
  out.shared_body = shared_body;
  out.length = length;
  out.close = close;
}

std::unique_ptr<Journey> one_step_journey(const std::vector<Request>& requests) {
  auto j = std::make_unique<Journey>();
  j->plain = true;
  j->max_redirects = 0;
  for (size_t i = 0; i < requests.size(); ++i) {
    const Request& r = requests[i];
    Step st;
    st.id = static_cast<uint16_t>(i);
    st.action = r.proto ? Action::kProtocol : Action::kHttp;
    st.proto = r.proto;
    st.plain = &r;
    st.method = r.head ? "HEAD" : "GET";
    Scenario sc;
    sc.weight = r.weight;
    sc.steps.push_back(std::move(st));
    j->scenarios.push_back(std::move(sc));
  }
  return j;
}

}  // namespace spiker::plan
