// A ws:// target's flags and message.
#include <fmt/format.h>

#include <algorithm>

#include "cli/run_args.h"
#include "core/duration.h"
#include "core/error.h"
#include "core/tls.h"
#include "core/url.h"
#include "plan/template.h"
#include "proto/protocol.h"
#include "protocols/http1/request_builder.h"

namespace spiker::cli {

int64_t websocket_target(RunArgs& a, const Url& url) {
  if (url.websocket() && !a.journey) {
    if (!a.scenarios.empty()) {
      throw SetupError(
          fmt::format("{}: [[scenarios]] with a ws:// url: use [[scenarios.steps]] with action = "
                      "\"ws.connect\", \"ws.send\", \"ws.receive\" and \"ws.close\"",
                      a.config));
    }
    for (const char* flag : {"--method", "--pipeline", "--max-streams", "--http2", "--http1"}) {
      if (flag_given(a, flag)) {
        throw SetupError(fmt::format("{} does not apply to a WebSocket URL ({})", flag, a.url));
      }
    }
    std::string interval = a.ws_message_interval.empty() ? "100ms" : a.ws_message_interval;
    int64_t interval_ns = parse_duration(interval, "--ws-message-interval").count();
    if (interval_ns > 0) {
      if (!a.think_time.empty()) {
        throw SetupError(
            "--think-time and --ws-message-interval both set the pause between messages: give "
            "one (--ws-message-interval 0 leaves --think-time in charge)");
      }
      a.think_time = interval;
    }
    return interval_ns;
  }
  if (!a.ws_message_interval.empty() || a.ws_fire_and_forget || a.ws_binary) {
    throw SetupError(
        "--ws-message-interval/--ws-fire-and-forget/--ws-binary ([websocket]) need a ws:// or "
        "wss:// URL");
  }
  return 0;
}

void websocket_variant(const RunArgs& a, const http1::RequestSpec& spec,
                       std::vector<plan::Request>& requests) {
  // The upgrade's head; the message is the body (-b), rendered per send when it has ${...}.
  // The WebSocket protocol compiles them into its request.
  http1::RequestSpec up = spec;
  up.method = "GET";
  up.body.clear();
  up.keep_alive = true;
  proto::RequestInput in;
  in.url = spec.url;
  in.where = "the command line";
  in.payload = spec.body.empty() ? "hello from loadspiker" : spec.body;
  in.payload_given = true;
  in.options = {
      {"head", http1::build_request_head(up), "--header"},
      {"binary", a.ws_binary ? "true" : "false", "--ws-binary"},
      {"fire-and-forget", a.ws_fire_and_forget ? "true" : "false", "--ws-fire-and-forget"}};
  plan::Request& v = requests.at(0);
  v.proto = proto::Registry::by_scheme(spec.url.scheme)->compile(in);
  plan::Template t = plan::Template::compile(in.payload, "-b/--body");
  v.dynamic = nullptr;
  if (t.is_static()) {
    v.message = in.payload;
  } else {
    v.dynamic = std::make_shared<plan::HttpTemplate>(plan::HttpTemplate{.body = t});
  }
}

}  // namespace spiker::cli
