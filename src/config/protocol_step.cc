// Steps of registered protocols (tcp.send, udp.receive, ...): the common keys are checked here,
// the protocol's own keys and payload by the protocol's compiler.
#include <fmt/format.h>

#include <algorithm>

#include "config/journey_parts.h"
#include "core/error.h"
#include "core/redact.h"
#include "core/url.h"
#include "proto/protocol.h"

namespace spiker::config::detail {

plan::Step StepCompiler::compile_protocol_step(const RawStep& r, plan::Step& st) {
  // The step's URL: its own, a [connections] entry's, or (neither) the scenario's previous
  // step of a protocol with this action.
  std::optional<std::string> url_text = r.url;
  if (r.connection) {
    if (r.url) {
      throw ConfigError(fmt::format("{}: step '{}': give url or connection, not both",
                                    r.connection_where, r.name));
    }
    auto c = std::find_if(d_.connections.begin(), d_.connections.end(),
                          [&](const auto& kv) { return kv.first == *r.connection; });
    if (c == d_.connections.end()) {
      std::string names;
      for (const auto& kv : d_.connections) names += (names.empty() ? "" : ", ") + kv.first;
      throw ConfigError(
          fmt::format("{}: step '{}': connection '{}' is not in [connections] ({})",
                      r.connection_where, r.name, *r.connection,
                      names.empty() ? "there is none: add [connections] NAME = \"URL\"" : names));
    }
    url_text = c->second;
  }
  std::optional<Url> step_url;
  if (url_text)
    step_url = parse_url(*url_text, fmt::format("{} url of step '{}'", r.where, r.name));
  int action = -1;
  const proto::Protocol* found =
      proto::Registry::by_action(*r.action, &action, step_url ? step_url->scheme : "");
  auto known = std::find_if(proto_origin_.begin(), proto_origin_.end(), [&](const auto& po) {
    int i = -1;
    return proto::Registry::by_action(*r.action, &i, proto::Registry::at(po.first).schemes[0]) ==
           &proto::Registry::at(po.first);
  });
  if (!step_url && known != proto_origin_.end()) {
    found = &proto::Registry::at(known->first);  // "sql" after a postgres:// step: PostgreSQL
    proto::Registry::by_action(*r.action, &action, found->schemes[0]);
  }
  const proto::Protocol& p = *found;
  const proto::ActionDef& a = p.actions[static_cast<size_t>(action)];
  auto refuse = [&](std::string_view why) {
    throw ConfigError(fmt::format("{}: step '{}' ({}): {}", r.where, r.name, a.name, why));
  };
  if (r.method || !r.headers.empty() || !r.query.empty() || r.binary) {
    refuse("takes no method, headers, query or binary");
  }
  if (r.has_body && !a.sends) refuse("sends nothing: remove body");
  if (!a.receives && (r.match || !r.checks.empty() || !r.extracts.empty())) {
    refuse("receives nothing: match, checks and extract belong to a receive step");
  }
  uint16_t origin = 0;
  std::string scheme = p.schemes.front();
  if (step_url) {
    const Url& u = *step_url;
    if (std::find(p.schemes.begin(), p.schemes.end(), u.scheme) == p.schemes.end()) {
      refuse(fmt::format("needs a {}:// url (got {})", scheme, redact_url(*url_text)));
    }
    origin = origin_index(u);
    st.url_text = redact_url(*url_text);
  } else if (known != proto_origin_.end()) {
    origin = known->second;  // the host of the scenario's previous step of this protocol
    st.url_text = j_.origins[origin].url.to_string();
  } else {
    refuse(fmt::format("needs url = \"{}://host:port\" (later {} steps of the scenario reuse it)",
                       scheme, p.name));
  }
  if (known != proto_origin_.end()) {
    *known = {p.index, origin};
  } else {
    proto_origin_.emplace_back(p.index, origin);
  }
  proto::RequestInput in;
  in.url = j_.origins[origin].url;
  in.action = action;
  for (const BodyPart& part : r.body) in.payload += part.text;
  in.payload_given = r.has_body;
  in.escapes = false;
  in.where = fmt::format("{}: step '{}'", r.where, r.name);
  for (const RawStep::ProtoKey& k : r.proto_keys) in.options.push_back({k.key, k.value, k.where});
  std::shared_ptr<plan::ProtocolRequest> req;
  try {
    req = p.compile(in);
  } catch (const SetupError& e) {
    throw ConfigError(e.what());
  }
  req->protocol = p.index;
  st.proto = req;
  st.origin = origin;
  st.method = a.name;
  st.has_body = a.sends;
  st.body = req->payload_literal
                ? plan::Template::literal(req->payload)
                : plan::Template::compile(req->payload, r.where + " body", &scope_);
  if (r.match) st.match.push_back(plan::Check::compile(*r.match, r.match_where));
  compile_outcome(r, st);
  // What the session keeps of a reply for this step (SQL rows as JSON only when read).
  for (const plan::Extractor& x : st.extracts) {
    st.capture_body |= x.needs_body();
    st.capture_headers |= x.needs_headers();
  }
  for (const plan::Check& c : st.checks) {
    st.capture_body |= c.needs_body();
    st.capture_headers |= c.needs_headers();
  }
  st.capture_headers |= st.capture_body;
  st.vars_used = st.body.vars_used();
  st.tags = r.tags;
  return st;
}

}  // namespace spiker::config::detail
