// A run against a registered protocol's URL (tcp://, tls://, udp://, ...): the protocol
// compiles the one request from -b/--body-file and its own flags; the worker runs it through
// the protocol's sessions.
#include <fmt/format.h>

#include "cli/run_args.h"
#include "core/error.h"
#include "plan/template.h"
#include "proto/protocol.h"

namespace spiker::cli {

void check_scheme(const Url& url, std::string_view what) {
  if (url.web() || proto::Registry::by_scheme(url.scheme) != nullptr) return;
  throw SetupError(fmt::format("{} '{}': unsupported scheme '{}' ({} are)", what, url.to_string(),
                               url.scheme, proto::Registry::scheme_list()));
}

const proto::Protocol* protocol_target(const RunArgs& a, const Url& url,
                                       std::vector<plan::Request>& requests) {
  const proto::Protocol* p = url.web() ? nullptr : proto::Registry::by_scheme(url.scheme);
  if (p == nullptr || a.journey) {
    for (const auto& [name, values] : a.protocol_flags) {
      if (values.empty()) continue;
      throw SetupError(fmt::format(
          "--{} applies to a URL of {} on the command line{}", name, proto::Registry::scheme_list(),
          a.journey ? "; in a journey, give the step's own keys (expect_bytes, until, ...)"
                    : ", not " + url.to_string()));
    }
    return p;
  }
  if (!a.scenarios.empty()) {
    throw SetupError(
        fmt::format("{}: [[scenarios]] with a {}:// url: use [[scenarios.steps]] "
                    "with {}.send and {}.receive actions",
                    a.config, url.scheme, p->name, p->name));
  }
  for (const char* flag :
       {"--method", "--header", "--pipeline", "--max-streams", "--http2", "--http1",
        "--ws-message-interval", "--ws-binary", "--ws-fire-and-forget"}) {
    if (std::string_view(flag) == "--pipeline" && p->pipelines) continue;
    if (std::string_view(flag) == "--max-streams" && p->shared) continue;  // streams per session
    if (flag_given(a, flag)) {
      throw SetupError(
          fmt::format("{} does not apply to a {}:// URL ({})", flag, url.scheme, a.url));
    }
  }
  proto::RequestInput in;
  in.url = url;
  in.where = "the command line";
  in.payload_given = !a.body.empty() || !a.body_file.empty();
  in.payload = a.body_file.empty() ? a.body : read_file(a.body_file, "--body-file");
  in.escapes = a.body_file.empty();  // a file's bytes are its bytes, not the shell's \n
  for (const auto& [name, values] : a.protocol_flags) {
    if (values.empty()) continue;
    bool known = false;
    for (const proto::FlagDef& f : p->flags) known = known || f.name == name;
    if (!known) {
      throw SetupError(
          fmt::format("--{} does not apply to a {}:// URL ({})", name, url.scheme, a.url));
    }
    for (const std::string& value : values) in.options.push_back({name, value, "--" + name});
  }
  std::shared_ptr<plan::ProtocolRequest> r = p->compile(in);
  r->protocol = p->index;
  // A file's ${...} are bytes, unless asked (--body-template): a binary file is no template.
  if (!a.body_file.empty() && !a.body_template) {
    r->payload_literal = true;
    note_unrendered(in.payload);
  }
  plan::Request v;
  v.proto = r;
  if (!r->payload_literal) {
    plan::Template t = plan::Template::compile(r->payload, "-b/--body");
    if (!t.is_static()) {
      v.dynamic = std::make_shared<plan::HttpTemplate>(plan::HttpTemplate{.body = t});
    }
  }
  if (!v.dynamic) v.message = r->payload;
  requests.clear();
  requests.push_back(std::move(v));
  return p;
}

}  // namespace spiker::cli
