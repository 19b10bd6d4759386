// From a run plan to what the workers run: each origin's addresses (resolved, unreachable ones
// dropped), TLS contexts, the HTTP/2 decision by ALPN, the registered protocol of its scheme;
// the worker configuration; the load groups' compiled schedules; the open-file limit.
#pragma once

#include <string>

#include "engine/controller.h"
#include "plan/run_plan.h"

namespace spiker::engine {

// Checks and resolves everything; throws SetupError (e.g. --http2 against a server that does
// not offer h2, too few open files). With `resolve` false, nothing touches the network
// (--dry-run): origins keep no addresses.
RunConfig prepare(const plan::RunPlan& plan, bool resolve = true);

// http/1.1, h2c, h2, ws, wss, or a registered protocol's scheme (tcp, tls, udp, ...).
std::string protocol_name(const OriginConfig& o);

}  // namespace spiker::engine
