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
  out.length = length;
  out.close = close;
}

}  // namespace spiker::plan
