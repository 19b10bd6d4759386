// `loadspiker run URL`: Kaioken's flag names and defaults, wrk's speed.
#include <fmt/format.h>
#include <strings.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <thread>
#include <utility>

#include "cli/commands.h"
#include "cli/run_args.h"
#include "config/config_file.h"
#include "config/env_interpolate.h"
#include "core/duration.h"
#include "core/error.h"
#include "core/resolver.h"
#include "core/socket.h"
#include "core/url.h"
#include "engine/controller.h"
#include "live/live_view.h"
#include "load/plan_builder.h"
#include "plan/template.h"
#include "proto/protocol.h"
#include "protocols/http1/request_builder.h"
#include "report/json_result.h"
#include "report/outputs.h"
#include "report/summary.h"

namespace spiker::cli {
namespace {

int64_t positive_ns(const std::string& text, const char* flag) {
  int64_t ns = parse_duration(text, flag).count();
  if (ns <= 0) throw SetupError(fmt::format("{}: must be longer than 0 (got '{}')", flag, text));
  return ns;
}

// One line for the live view's title: the load shape.
std::string describe(const load::LoadPlan& plan, const load::LoadSpec& spec) {
  auto d = [](int64_t ns) { return format_duration(std::chrono::nanoseconds(ns)); };
  std::string out = plan.executor;
  if (plan.model == load::Model::kOpen) {
    out += plan.arrivals->peak_rate() > 0 ? fmt::format("  ·  up to {:g}/s, max {} VUs",
                                                        plan.arrivals->peak_rate(), plan.max_vus)
                                          : "";
  } else {
    out += fmt::format("  ·  {} VUs", plan.max_vus);
    if (plan.rate > 0) out += fmt::format(" paced to {:g}/s", plan.rate);
  }
  if (plan.duration_ns > 0) out += "  ·  " + d(plan.duration_ns - plan.warmup_ns);
  if (plan.warmup_ns > 0) out += " after " + d(plan.warmup_ns) + " warmup";
  if (plan.shared_iterations > 0) out += fmt::format("  ·  {} iterations", plan.shared_iterations);
  if (spec.per_vu_iterations > 0) out += fmt::format("  ·  {} per VU", spec.per_vu_iterations);
  if (!plan.stripe.whole()) {
    out += "  ·  segment " + plan.stripe.from().to_string() + ":" + plan.stripe.to().to_string();
  }
  return out;
}

void fill_load_info(const load::LoadPlan& plan, const load::LoadSpec& spec, report::RunInfo& info) {
  info.executor = plan.executor;
  info.open_model = plan.model == load::Model::kOpen;
  info.rate = plan.rate;
  info.ramp_up_secs = static_cast<double>(spec.ramp_up_ns) / 1e9;
  info.warmup_secs = static_cast<double>(plan.warmup_ns) / 1e9;
  info.duration_secs = static_cast<double>(plan.duration_ns - plan.warmup_ns) / 1e9;
  info.max_requests = plan.shared_iterations;
  info.max_vus = plan.max_vus;
  info.has_intended_times = plan.has_intended_times() && plan.correct_latency;
  info.think_time = plan.think.to_string();
  if (plan.model == load::Model::kOpen) {
    info.arrival_rate = spec.arrival_rate;
    // Arrivals this instance was due to start after the warmup.
    uint64_t all = plan.arrivals->total(), during_warmup = 0, hi = all;
    while (during_warmup < hi) {  // the first arrival at or after the warmup's end
      uint64_t mid = during_warmup + (hi - during_warmup) / 2;
      if (plan.arrivals->time_of(mid) < plan.warmup_ns) {
        during_warmup = mid + 1;
      } else {
        hi = mid;
      }
    }
    info.target_iterations = plan.stripe.count_below(all) - plan.stripe.count_below(during_warmup);
  }
  for (const std::string& s : spec.stages) info.stages.push_back(s);
  if (!plan.stripe.whole()) {
    info.segment = plan.stripe.from().to_string() + ":" + plan.stripe.to().to_string();
  }
}

// Scenarios with their own executor run beside the others (k6 `scenarios`): each becomes a
// load group with its own plan; the rest share the main plan by weight. Returns their lines for
// the plan summary.
std::string split_scenario_loads(const plan::Journey& j, const load::LoadSpec& main_spec,
                                 engine::RunConfig& config, std::vector<load::LoadSpec>* specs,
                                 std::vector<report::RunInfo::ScenarioLoad>* loads) {
  bool any = std::any_of(j.scenarios.begin(), j.scenarios.end(),
                         [](const plan::Scenario& sc) { return sc.load.has_value(); });
  if (!any) return "";
  std::string text;
  auto subset = [&](auto keep) {  // keep(index in j.scenarios)
    auto part = std::make_shared<plan::Journey>(j);
    part->scenarios.clear();
    for (size_t i = 0; i < j.scenarios.size(); ++i) {
      if (keep(i)) part->scenarios.push_back(j.scenarios[i]);
    }
    return part;
  };
  auto shared_part = subset([&](size_t i) { return !j.scenarios[i].load; });
  if (!shared_part->scenarios.empty()) {
    engine::LoadGroup g{config.worker, config.plan};
    g.worker.journey = shared_part;
    config.groups.push_back(std::move(g));
    specs->push_back(main_spec);
  }
  for (const plan::Scenario& sc : j.scenarios) {
    if (!sc.load) continue;
    const plan::ScenarioLoad& l = *sc.load;
    load::LoadSpec spec;
    spec.concurrency = l.vus.value_or(1);
    if (l.duration) spec.duration_ns = positive_ns(*l.duration, "duration");
    if (l.executor == "per-vu-iterations") {
      spec.per_vu_iterations = l.iterations.value_or(0);
    } else {
      spec.iterations = l.iterations.value_or(0);
    }
    spec.arrival_rate = l.arrival_rate.value_or(0);
    spec.max_vus = l.max_vus.value_or(100);
    spec.stages = l.stages;
    spec.latency_correction = main_spec.latency_correction;
    spec.segment = main_spec.segment;
    spec.segment_sequence = main_spec.segment_sequence;
    load::LoadPlan p;
    try {
      p = load::build_plan(spec);
    } catch (const SetupError& e) {
      throw config::ConfigError(fmt::format("{}: scenario '{}': {}", l.where, sc.name, e.what()));
    }
    if (p.executor != l.executor) {
      throw config::ConfigError(fmt::format(
          "{}: scenario '{}' has executor = \"{}\", but its keys describe {}; constant-vus "
          "takes vus + duration, ramping-vus [[scenarios.stages]] with target, "
          "constant-arrival-rate arrival_rate + duration, ramping-arrival-rate "
          "[[scenarios.stages]] with target_rate, per-vu-iterations vus + iterations, "
          "shared-iterations iterations",
          l.where, sc.name, l.executor, p.executor));
    }
    text += fmt::format("  load    {}: {}\n", sc.name, describe(p, spec));
    loads->push_back({sc.name, p.executor, describe(p, spec)});
    engine::LoadGroup g{config.worker, p};
    size_t index = static_cast<size_t>(&sc - j.scenarios.data());
    g.worker.journey = subset([&](size_t i) { return i == index; });
    config.groups.push_back(std::move(g));
    specs->push_back(spec);
  }
  return text;
}

// [thresholds] with their tag filters turned into the requests they look at.
std::vector<engine::ScopedThreshold> scope_thresholds(const RunArgs& a) {
  std::vector<engine::ScopedThreshold> out;
  for (const plan::Threshold& t : a.thresholds) {
    engine::ScopedThreshold s{t, ~uint64_t{0}};
    if (!t.tag_key.empty()) {
      s.mask = 0;
      if (a.journey) {
        for (const plan::Scenario& sc : a.journey->scenarios) {
          for (const plan::Step& st : sc.steps) {
            bool hit = t.tag_key == "scenario"
                           ? sc.name == t.tag_value
                           : (st.name == t.tag_value || sc.name + "/" + st.name == t.tag_value);
            if (hit) s.mask |= uint64_t{1} << st.id;
          }
        }
      } else {
        for (size_t i = 0; i < a.scenarios.size(); ++i) {
          if (a.scenarios[i].name == t.tag_value) s.mask |= uint64_t{1} << i;
        }
      }
      if (s.mask == 0) {
        throw config::ConfigError(fmt::format("{}: threshold {} = \"{}\": no {} is named '{}'",
                                              a.config, t.metric_text, t.condition_text, t.tag_key,
                                              t.tag_value));
      }
      if (t.metric == plan::Threshold::Metric::kChecks ||
          t.metric == plan::Threshold::Metric::kIterations) {
        throw config::ConfigError(fmt::format(
            "{}: threshold {}: tag filters apply to http_req_duration, http_req_failed and "
            "http_reqs",
            a.config, t.metric_text));
      }
    }
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace

int run(RunArgs args) {
  RunArgs a = with_config_file(std::move(args));
  if (!a.scenarios.empty()) a.url = a.scenarios.front().url;
  if (a.journey) {
    a.url = a.journey->origins.at(0).url.to_string();
    for (const char* flag : {"--method", "--body", "--body-file", "--pipeline"}) {
      if (flag_given(a, flag)) {
        throw SetupError(
            fmt::format("{}: {} sets its requests step by step; {} applies to a single URL", flag,
                        a.config, flag));
      }
    }
  }
  if (a.url.empty()) {
    throw SetupError(
        "no target: give a URL (loadspiker run http://...) or a config file with "
        "[target] url (-f FILE)");
  }
  Url url = parse_url(a.url, "URL");
  check_scheme(url, "URL");
  bool ws_target = url.websocket() && !a.journey;  // journeys have ws.* steps instead
  int64_t ws_interval_ns = websocket_target(a, url);
  std::vector<report::Format> formats;  // checked before anything runs
  for (const std::string& o : a.outputs) formats.push_back(report::format_for(o, a.format));
  if (!a.format.empty() && a.outputs.empty()) report::format_for("", a.format);
  validate_method(a.method);
  if (a.concurrency < 1) throw SetupError("-c/--concurrency: must be at least 1");
  if (a.max_vus < 1) throw SetupError("--max-vus: must be at least 1");
  if (a.threads < 0) throw SetupError("-t/--threads: must be at least 1 (0 = one per core)");
  if (a.pipeline < 1 || a.pipeline > 1024) throw SetupError("--pipeline: must be 1..1024");
  if (a.max_streams < 1 || a.max_streams > 10000) {
    throw SetupError("--max-streams: must be 1..10000");
  }
  if (a.http1 && a.http2) throw SetupError("--http1 and --http2 exclude each other: give one");
  if (a.pipeline > 1 && a.http2) {
    throw SetupError("--pipeline is HTTP/1.1's; HTTP/2 multiplexes with --max-streams");
  }
  if (!a.body.empty() && !a.body_file.empty()) {
    throw SetupError("-b/--body and --body-file exclude each other: give one");
  }
  load::LoadSpec load_spec;
  load_spec.concurrency = static_cast<uint64_t>(a.concurrency);
  if (!a.duration.empty()) load_spec.duration_ns = positive_ns(a.duration, "-d/--duration");
  load_spec.max_requests = parse_count(a.max_requests, "-n/--max-requests");
  load_spec.iterations = parse_count(a.iterations, "--iterations");
  load_spec.per_vu_iterations = parse_count(a.per_vu_iterations, "--per-vu-iterations");
  load_spec.rate = a.rate;
  load_spec.arrival_rate = a.arrival_rate;
  load_spec.max_vus = static_cast<uint64_t>(a.max_vus);
  if (!a.ramp_up.empty()) load_spec.ramp_up_ns = positive_ns(a.ramp_up, "--ramp-up");
  if (!a.warmup.empty()) load_spec.warmup_ns = positive_ns(a.warmup, "--warmup");
  load_spec.think_time = a.think_time;
  load_spec.stages = a.stages;
  load_spec.latency_correction = !a.no_latency_correction;
  load_spec.segment = a.segment;
  load_spec.segment_sequence = a.segment_sequence;
  load_spec.pipeline = a.pipeline;
  load::LoadPlan plan = load::build_plan(load_spec);
  if (!a.executor.empty() && a.executor != plan.executor) {
    throw config::ConfigError(fmt::format(
        "{}: [load] executor = \"{}\", but its keys describe {}; constant-vus takes vus + "
        "duration, ramping-vus [[stages]] with target, constant-arrival-rate arrival_rate, "
        "ramping-arrival-rate [[stages]] with target_rate, per-vu-iterations and "
        "shared-iterations iterations",
        a.config, a.executor, plan.executor));
  }

  uint64_t sockets = plan.stripe.count_below(plan.max_vus);
  if (a.max_streams > 1) sockets = (sockets + a.max_streams - 1) / a.max_streams + 1;
  uint64_t files_needed = sockets + 64;
  uint64_t files = raise_open_file_limit(files_needed);
  if (files < files_needed && a.disable_keepalive) {
    // Sockets close after each request: only VUs in a request hold one.
    std::fprintf(stderr,
                 "note: %llu VUs, %llu open files allowed: VUs beyond that wait out think time "
                 "or fail to connect (counted) if all send at once\n",
                 static_cast<unsigned long long>(plan.max_vus),
                 static_cast<unsigned long long>(files));
  } else if (files < files_needed) {
    throw SetupError(fmt::format(
        "{} VUs need {} open files but the limit is {}; raise it (ulimit -n {}) or use fewer "
        "(-c, --max-vus)",
        plan.max_vus, files_needed, files, files_needed));
  }

  http1::RequestSpec spec;
  spec.method = a.method;
  spec.url = url;
  for (const std::string& h : a.headers) spec.headers.push_back(http1::parse_header_arg(h));
  spec.body = a.body_file.empty() ? a.body : read_file(a.body_file, "--body-file");
  spec.keep_alive = !a.disable_keepalive;

  engine::RunConfig config;
  config.worker.keep_alive = !a.disable_keepalive;
  std::vector<uint32_t> weights;
  std::vector<http1::RequestSpec> specs;
  std::vector<Url> origin_urls{url};
  if (a.journey) {
    add_header_flags(*a.journey, a.headers);
    origin_urls.clear();
    for (const plan::Origin& o : a.journey->origins) origin_urls.push_back(o.url);
    config.worker.journey = a.journey;
    config.worker.shared = std::make_shared<engine::JourneyShared>(a.journey->data.size());
  } else {
    specs = request_specs(a, spec, &weights);
    for (size_t i = 0; i < specs.size(); ++i) {
      config.worker.requests.push_back(
          make_variant(specs[i], a.body_file.empty() ? "-b/--body" : "--body-file", weights[i]));
    }
  }
  if (ws_target) websocket_variant(a, spec, config.worker);
  const proto::Protocol* proto_target = protocol_target(a, url, config.worker);
  config.worker.pipeline = a.pipeline;
  config.worker.max_streams = a.max_streams;
  config.worker.timeout_ns = positive_ns(a.timeout, "--timeout");
  config.worker.connect_timeout_ns = positive_ns(a.connect_timeout, "--connect-timeout");
  TlsContexts tls;
  config.worker.origins = make_origins(a, origin_urls, &tls);
  config.threads = a.threads > 0
                       ? a.threads
                       : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  config.plan = plan;
  config.thresholds = scope_thresholds(a);
  std::string groups_text;
  std::vector<load::LoadSpec> group_specs;
  std::vector<report::RunInfo::ScenarioLoad> scenario_loads;
  if (a.journey) {
    groups_text =
        split_scenario_loads(*a.journey, load_spec, config, &group_specs, &scenario_loads);
  }

  if (a.dry_run) {  // everything is checked; nothing is sent
    std::printf("ok: %s is valid\n", a.config.empty() ? "the command line" : a.config.c_str());
    if (a.journey) {
      std::fputs(describe_journey(*a.journey).c_str(), stdout);
    } else if (proto_target != nullptr) {
      std::printf("  target  %s  (%s)\n", url.to_string().c_str(),
                  proto_target->describe(*config.worker.requests[0].proto).c_str());
    } else {
      std::printf("  target  %s %s  (%zu headers, body %zu bytes%s)\n", a.method.c_str(),
                  url.to_string().c_str(), spec.headers.size(), spec.body.size(),
                  config.worker.requests[0].dynamic ? ", rendered per request" : "");
    }
    if (config.groups.empty() || config.groups.front().plan.executor == plan.executor) {
      std::printf("  load    %s\n", describe(plan, load_spec).c_str());
    }
    std::fputs(groups_text.c_str(), stdout);
    std::printf("  model   %s; timeout %s, connect timeout %s\n",
                plan.model == load::Model::kOpen ? "open" : "closed", a.timeout.c_str(),
                a.connect_timeout.c_str());
    for (const std::string& stage : load_spec.stages) std::printf("  stage   %s\n", stage.c_str());
    for (const engine::ScopedThreshold& t : config.thresholds) {
      std::printf("  threshold  %s %s%s\n", t.t.metric_text.c_str(), t.t.condition_text.c_str(),
                  t.t.abort_on_fail ? "  (aborts the run when it fails)" : "");
    }
    return kExitOk;
  }
  for (engine::OriginConfig& o : config.worker.origins) {
    std::vector<SocketAddress> dropped;
    o.addresses = o.protocol != nullptr && o.protocol->datagram
                      ? resolve(o.host, o.port)
                      : reachable(resolve(o.host, o.port),
                                  static_cast<int>(config.worker.connect_timeout_ns / 1'000'000),
                                  &dropped);
    for (const SocketAddress& d : dropped) {
      std::fprintf(stderr, "note: %s (an address of %s) refused a test connection; not using it\n",
                   d.to_string().c_str(), o.host.c_str());
    }
  }
  negotiate_http2(a, tls, static_cast<int>(config.worker.connect_timeout_ns / 1'000'000),
                  config.worker.origins);
  for (engine::LoadGroup& g : config.groups) g.worker.origins = config.worker.origins;

  live::LiveMode mode = live::choose_live_mode(a.quiet, a.no_tui || a.json, stderr);
  live::LiveView view(mode,
                      fmt::format("loadspiker  {} {}  ·  {}",
                                  ws_target ? "WebSocket" : proto_target ? "" : a.method,
                                  url.to_string(), describe(plan, load_spec)),
                      stderr);
  engine::install_stop_signals();
  engine::RunResult result =
      engine::run_load(config, [&](const metrics::LiveState& s) { view.update(s); });
  view.finish();

  report::RunReport rep;
  rep.info.url = url.to_string();
  rep.info.method = proto_target ? "" : a.method;
  rep.info.headers = spec.headers;
  rep.info.concurrency = a.concurrency;
  rep.info.threads = result.threads;
  rep.info.pipeline = a.pipeline;
  rep.info.max_streams = a.max_streams;
  rep.info.websocket = std::any_of(config.worker.origins.begin(), config.worker.origins.end(),
                                   [](const engine::OriginConfig& o) { return o.ws; });
  rep.info.protocol = protocol_name(config.worker.origins.front());
  if (rep.info.websocket) {
    rep.info.block_facts["websocket"] = {
        {"mode", a.ws_fire_and_forget ? "fire_and_forget" : "echo"},
        {"message_interval_ms", std::to_string(ws_interval_ns / 1'000'000)}};
  }
  if (rep.info.protocol == "h2" || rep.info.protocol == "h2c") {
    rep.info.block_facts["http2"] = {{"protocol", rep.info.protocol},
                                     {"max_streams", std::to_string(a.max_streams)}};
  }
  rep.info.timeout_ms = config.worker.timeout_ns / 1'000'000;
  rep.info.connect_timeout_ms = config.worker.connect_timeout_ns / 1'000'000;
  if (config.groups.empty()) {
    fill_load_info(plan, load_spec, rep.info);
  } else {  // the first group's shape; each scenario's own executor is in the plan summary
    fill_load_info(config.groups.front().plan, group_specs.front(), rep.info);
  }
  for (size_t i = 0; i < a.scenarios.size(); ++i) {
    const config::ScenarioSection& sc = a.scenarios[i];
    rep.info.scenarios.push_back(
        {sc.name, specs[i].url.to_string(), specs[i].method, "", sc.weight, sc.tags, ""});
  }
  if (a.journey) {
    rep.info.scenarios = step_infos(*a.journey);
    for (const plan::Scenario& sc : a.journey->scenarios) {
      for (const plan::Step& st : sc.steps) {  // the protocol each step spoke, by its host
        rep.info.scenarios[st.id].protocol = protocol_name(config.worker.origins[st.origin]);
      }
    }
  }
  rep.info.scenario_loads = scenario_loads;
  if (a.journey) rep.info.check_names = a.journey->check_names;
  rep.info.journeys = a.journey != nullptr;
  rep.totals = &result.totals;
  rep.timeline = &result.timeline;
  rep.elapsed_s = result.elapsed_s;
  rep.measured_s = result.measured_s;
  rep.started_unix_ms = result.started_unix_ms;
  rep.ended_unix_ms = result.ended_unix_ms;
  rep.interrupted = result.interrupted;

  std::vector<engine::ThresholdResult> verdicts =
      engine::evaluate_thresholds(config.thresholds, result.totals, result.measured_s);
  for (size_t i = 0; i < verdicts.size(); ++i) {
    const engine::ThresholdResult& v = verdicts[i];
    rep.thresholds.push_back({v.metric, v.condition, v.actual,
                              v.passed && result.aborted_by != static_cast<int>(i),
                              result.aborted_by == static_cast<int>(i)});
  }
  std::string json = report::to_json(rep);
  bool written = true;
  for (size_t i = 0; i < a.outputs.size(); ++i) {
    std::ofstream out(a.outputs[i], std::ios::binary);
    out << report::render(json, formats[i]);
    if (!out) {
      std::fprintf(stderr, "error: -o/--output: cannot write '%s'\n", a.outputs[i].c_str());
      written = false;
    }
  }
  if (a.json) {
    std::fputs(json.c_str(), stdout);
  } else if (!a.format.empty() && a.outputs.empty()) {
    std::fputs(report::render(json, report::format_for("", a.format)).c_str(), stdout);
  } else if (!a.quiet) {
    std::fputs(report::format_summary(rep, isatty(STDOUT_FILENO) != 0).c_str(), stdout);
    for (const std::string& o : a.outputs) std::printf("  Result written to %s\n", o.c_str());
  }
  if (!written) return kExitError;
  std::fflush(stdout);
  if (result.totals.requests == 0) {
    std::fprintf(stderr, "error: no request completed\n");
    return kExitError;
  }
  if (!rep.thresholds_passed()) {
    std::fprintf(stderr, "error: thresholds failed%s\n",
                 result.aborted_by >= 0 ? " (abort_on_fail stopped the run)" : "");
    return kExitThresholds;
  }
  return rep.error_rate() > 0.5 ? kExitError : kExitOk;
}

}  // namespace spiker::cli
