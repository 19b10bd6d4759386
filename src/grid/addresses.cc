// Addresses a grid gives before its run (a step's url, an http_client's base_url) read as the
// engine's client will read them, so that `validate` refuses what `run` would: a port out of
// range or not a number, a scheme no protocol speaks.
#include <fmt/format.h>

#include "core/error.h"
#include "core/url.h"
#include "grid/internal.h"
#include "proto/protocol.h"

namespace spiker::grid {

void check_address(const StepDef& s, const std::string& input, const hcl::Value& v, hcl::Pos at) {
  std::string text;
  if (v.is_null() || !hcl::to_string(v, &text)) return;  // a wrong type is conform's to say
  if (input == "base_url") {
    if (text.empty()) return;
  } else if (input != "url") {
    return;
  }
  // An HTTP step with a client resource may give a path, joined to the client's base_url.
  bool http = s.runner == "http_request" || s.runner == "s3" || s.runner == "graphql";
  bool has_client = s.uses != nullptr && s.uses->attribute("client") != nullptr;
  if (http && has_client && text.find("://") == std::string::npos) return;
  Url url;
  try {
    url = parse_url(text, "URL");
  } catch (const SetupError& e) {
    throw hcl::Error(*s.src, at, fmt::format("input '{}': {}", input, e.what()));
  }
  if (!url.web() && proto::Registry::by_scheme(url.scheme) == nullptr) {
    throw hcl::Error(*s.src, at,
                     fmt::format("input '{}': '{}://' is not a scheme this engine speaks; use "
                                 "http://, https://, ws://, wss://, {}",
                                 input, url.scheme, proto::Registry::scheme_list()));
  }
}

}  // namespace spiker::grid
