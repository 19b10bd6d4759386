// `loadspiker run`: compile (run_compile.cc) -> prepare (engine/prepare.cc) -> run -> report.
#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <utility>

#include "cli/commands.h"
#include "cli/run_args.h"
#include "core/duration.h"
#include "core/error.h"
#include "core/socket.h"
#include "engine/controller.h"
#include "engine/prepare.h"
#include "grid/grid.h"
#include "history/history.h"
#include "live/live_view.h"
#include "live/prometheus.h"
#include "load/plan_builder.h"
#include "report/json_result.h"
#include "report/numbers.h"
#include "report/outputs.h"
#include "report/summary.h"

namespace spiker::cli {

// `run script.py`: the script runs under python3 (python_script.cc).
int run_python_script(const RunArgs& a);
// --debug: one request and its response, printed whole (debug_exchange.cc).
int debug_exchange(const plan::RunPlan& p, const engine::RunConfig& config);

namespace {

// One line for the live view's title: the load shape.
std::string describe(const load::LoadPlan& plan, const load::LoadSpec& spec) {
  auto d = [](int64_t ns) { return format_duration(std::chrono::nanoseconds(ns)); };
  std::string out = plan.executor;
  if (plan.model == load::Model::kOpen) {
    out += plan.arrivals->peak_rate() > 0
               ? fmt::format("  ·  up to {}/s, max {}",
                             report::format_number(plan.arrivals->peak_rate(), 1),
                             report::plural(plan.max_vus, "VU"))
               : "";
  } else {
    out += "  ·  " + report::plural(plan.max_vus, "VU");
    if (plan.rate > 0) out += fmt::format(" paced to {}/s", report::format_number(plan.rate, 1));
  }
  if (plan.duration_ns > 0) out += "  ·  " + d(plan.duration_ns - plan.warmup_ns);
  if (plan.warmup_ns > 0) out += " after " + d(plan.warmup_ns) + " warmup";
  if (plan.shared_iterations > 0)
    out += "  ·  " + report::plural(plan.shared_iterations, "iteration");
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

// --dry-run and `validate`: the plan, checked; nothing resolved or sent.
void print_plan(const plan::RunPlan& p, const engine::RunConfig& config) {
  std::printf("ok: %s is valid\n", p.about.source.c_str());
  if (p.journey) {
    std::fputs(describe_journey(*p.journey).c_str(), stdout);
  } else if (p.about.scenarios.size() > 1) {  // a mix: each scenario with its share
    uint64_t total = 0;
    for (const auto& sc : p.about.scenarios) total += sc.weight;
    std::printf("  scenarios  %zu, chosen by weight per iteration\n", p.about.scenarios.size());
    for (const auto& sc : p.about.scenarios) {
      std::printf(
          "    %-20s %s %s  (weight %u, %.0f%%)\n", sc.name.c_str(), sc.method.c_str(),
          sc.url.c_str(), sc.weight,
          total > 0 ? 100.0 * static_cast<double>(sc.weight) / static_cast<double>(total) : 0.0);
    }
  } else {
    std::printf("  target  %s\n", p.about.target_line.c_str());
  }
  if (p.groups.empty() || p.groups.front().scenario.empty()) {
    std::printf("  load    %s\n", describe(config.plan, p.load).c_str());
  }
  for (size_t i = 0; i < p.groups.size(); ++i) {
    if (p.groups[i].scenario.empty()) continue;
    std::printf("  load    %s: %s\n", p.groups[i].scenario.c_str(),
                describe(config.groups[i].plan, p.groups[i].load).c_str());
  }
  std::printf("  model   %s; timeout %s, connect timeout %s\n",
              config.plan.model == load::Model::kOpen ? "open" : "closed",
              format_duration(std::chrono::nanoseconds(p.transport.timeout_ns)).c_str(),
              format_duration(std::chrono::nanoseconds(p.transport.connect_timeout_ns)).c_str());
  for (const std::string& stage : p.load.stages) std::printf("  stage   %s\n", stage.c_str());
  for (const plan::ScopedThreshold& t : p.thresholds) {
    std::printf("  threshold  %s %s%s\n", t.t.metric_text.c_str(), t.t.condition_text.c_str(),
                t.t.abort_on_fail ? "  (aborts the run when it fails)" : "");
  }
}

// What the report says about the run as planned and prepared.
report::RunInfo run_info(const plan::RunPlan& p, const engine::RunConfig& config,
                         const RunArgs& a) {
  report::RunInfo info;
  info.title = p.about.title;
  info.url = p.about.url;
  info.method = p.about.method;
  info.headers = p.about.headers;
  info.concurrency = p.about.concurrency;
  info.pipeline = p.transport.pipeline;
  info.max_streams = p.transport.max_streams;
  const std::vector<engine::OriginConfig>& origins = config.worker.origins;
  info.websocket = std::any_of(origins.begin(), origins.end(), [](const engine::OriginConfig& o) {
    return o.scheme == "ws" || o.scheme == "wss";
  });
  info.protocol = engine::protocol_name(origins.front());
  if (info.websocket) {
    info.block_facts["websocket"] = {
        {"mode", a.ws_fire_and_forget ? "fire_and_forget" : "echo"},
        {"message_interval_ms", std::to_string(p.transport.ws_interval_ns / 1'000'000)}};
  }
  if (info.protocol == "h2" || info.protocol == "h2c") {
    info.block_facts["http2"] = {{"protocol", info.protocol},
                                 {"max_streams", std::to_string(p.transport.max_streams)}};
  }
  info.timeout_ms = p.transport.timeout_ns / 1'000'000;
  info.connect_timeout_ms = p.transport.connect_timeout_ns / 1'000'000;
  if (config.groups.empty()) {
    fill_load_info(config.plan, p.load, info);
  } else {  // the first group's shape; each scenario's own executor is in the plan summary
    fill_load_info(config.groups.front().plan, p.groups.front().load, info);
  }
  for (const plan::RunDescription::Scenario& sc : p.about.scenarios) {
    info.scenarios.push_back({sc.name, sc.url, sc.method, "", sc.weight, sc.tags, ""});
  }
  if (p.journey) {
    info.scenarios = step_infos(*p.journey);
    for (const plan::Scenario& sc : p.journey->scenarios) {
      for (const plan::Step& st : sc.steps) {  // the protocol each step spoke, by its host
        info.scenarios[st.id].protocol = engine::protocol_name(origins[st.origin]);
      }
    }
    info.check_names = p.journey->check_names;
    info.journeys = true;
  }
  for (size_t i = 0; i < p.groups.size(); ++i) {
    const plan::LoadGroup& g = p.groups[i];
    if (!g.scenario.empty()) {
      info.scenario_loads.push_back(
          {g.scenario, g.executor, describe(config.groups[i].plan, g.load)});
    }
  }
  return info;
}

// An output that cannot be written is found before the first request, not after the run: the
// file is opened for appending (created and removed again when it was not there).
void check_writable(const std::string& path) {
  struct stat st {};
  bool existed = ::stat(path.c_str(), &st) == 0;
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    throw SetupError(
        fmt::format("-o/--output '{}': cannot write there ({}); give a file in a "
                    "folder you can write to",
                    path, std::strerror(errno)));
  }
  ::close(fd);
  if (!existed) ::unlink(path.c_str());
}

bool is_loopback(const SocketAddress& a) {
  if (a.storage.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&a.storage);
    return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
  }
  if (a.storage.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&a.storage);
    return IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
  }
  return false;
}

// Kaioken asks before loading a host that is not this machine when a person is at the
// terminal (-y/--yes skips it); scripts and CI (no terminal) are not asked.
void confirm_remote_targets(const engine::RunConfig& config, const plan::RunPlan& plan) {
  if (isatty(STDIN_FILENO) == 0 || isatty(STDERR_FILENO) == 0) return;
  std::string remote;
  for (const engine::OriginConfig& o : config.worker.origins) {
    for (const SocketAddress& addr : o.addresses) {
      if (!is_loopback(addr) && remote.find(o.host) == std::string::npos) {
        remote += (remote.empty() ? "" : ", ") + o.host;
        break;
      }
    }
  }
  if (remote.empty()) return;
  std::fprintf(stderr, "loadspiker: %s is not on this machine; load it (%s)? [y/N] ",
               remote.c_str(), plan.about.title.c_str());
  std::fflush(stderr);
  char line[16] = {};
  if (std::fgets(line, sizeof line, stdin) == nullptr || (line[0] != 'y' && line[0] != 'Y')) {
    throw SetupError("not confirmed: nothing was sent (give -y/--yes to skip the question)",
                     kExitUsage);
  }
}

// Outputs (-o), the summary or JSON on stdout, and the exit code.
int report_run(report::RunReport& rep, const engine::RunConfig& config,
               const engine::RunResult& result, const RunArgs& a,
               const std::vector<report::Format>& formats) {
  std::vector<engine::ThresholdResult> verdicts =
      engine::evaluate_thresholds(config.thresholds, result.totals, result.measured_s);
  for (size_t i = 0; i < verdicts.size(); ++i) {
    const engine::ThresholdResult& v = verdicts[i];
    rep.thresholds.push_back({v.metric, v.condition, v.actual, v.unit,
                              v.passed && result.aborted_by != static_cast<int>(i),
                              result.aborted_by == static_cast<int>(i)});
  }
  std::string json = report::to_json(rep);
  bool written = true;
  std::vector<std::string> done;
  for (size_t i = 0; i < a.outputs.size(); ++i) {
    std::ofstream out(a.outputs[i], std::ios::binary);
    out << report::render(json, formats[i]);
    out.close();
    if (!out) {
      std::fprintf(stderr, "error: -o/--output: could not write '%s': %s\n", a.outputs[i].c_str(),
                   std::strerror(errno));
      written = false;
    } else {
      done.push_back(a.outputs[i]);
    }
  }
  if (a.hooks != nullptr) {
    a.hooks->json = json;  // the caller reports
  } else if (a.json) {
    std::fputs(json.c_str(), stdout);
  } else if (!a.format.empty() && a.outputs.empty()) {
    std::fputs(report::render(json, report::format_for("", a.format)).c_str(), stdout);
  } else if (!a.quiet) {
    std::fputs(report::format_summary(rep, isatty(STDOUT_FILENO) != 0).c_str(), stdout);
    for (const std::string& o : done) std::printf("  Result written to %s\n", o.c_str());
  }
  if (!a.db_url.empty()) {
    try {
      int64_t id = history::add_run(a.db_url, json);
      if (!a.quiet && !a.json) {
        std::fprintf(stderr, "note: run #%lld added to %s (loadspiker history %s)\n",
                     static_cast<long long>(id), a.db_url.c_str(), a.db_url.c_str());
      }
    } catch (const SetupError& e) {
      std::fprintf(stderr, "error: %s\n", e.what());
      written = false;
    }
  }
  if (!a.prometheus_pushgateway.empty()) {
    metrics::LiveState last;
    last.elapsed_s = result.elapsed_s;
    last.totals = &result.totals;
    last.window = &result.totals;
    last.finished = true;
    last.vus_max = result.vus_max;
    last.window_rps =  // the run's mean (its last second is in the live pushes)
        result.measured_s > 0 ? static_cast<double>(result.totals.requests) / result.measured_s : 0;
    try {
      live::push_to_gateway(a.prometheus_pushgateway,
                            live::prometheus_text(last, a.prometheus_prefix),
                            static_cast<int>(config.worker.connect_timeout_ns / 1'000'000) + 5000,
                            a.prometheus_prefix);
    } catch (const SetupError& e) {
      std::fprintf(stderr, "error: %s\n", e.what());
      written = false;
    }
  }
  if (!written) return kExitError;
  std::fflush(stdout);
  if (result.interrupted) {  // partial results: not a pass, whatever they say
    std::fprintf(stderr, "note: the run was interrupted; its partial results are written\n");
    return kExitInterrupted;
  }
  if (result.totals.requests == 0) {
    std::fprintf(stderr, "error: no request completed\n");
    return kExitError;
  }
  if (!rep.thresholds_passed()) {
    std::fprintf(stderr, "error: thresholds failed%s\n",
                 result.aborted_by >= 0 ? " (abort_on_fail stopped the run)" : "");
    return kExitThresholds;
  }
  const metrics::Shard& t = result.totals;
  if (rep.info.journeys && t.iterations > 0 && t.iterations_failed * 2 > t.iterations) {
    std::fprintf(stderr, "error: %llu of %llu iterations failed (over 50%%)\n",
                 static_cast<unsigned long long>(t.iterations_failed),
                 static_cast<unsigned long long>(t.iterations));
    return kExitError;
  }
  if (rep.error_rate() > 0.5) {
    std::fprintf(stderr, "error: %s of requests failed (over 50%%; see errors and status codes)\n",
                 report::format_percent(rep.error_rate()).c_str());
    return kExitError;
  }
  return kExitOk;
}

// SIGINT, SIGTERM and SIGHUP as they were before an embedded run (the Python interpreter's).
class SavedSignals {
 public:
  explicit SavedSignals(bool save) : saved_(save) {
    if (!saved_) return;
    for (size_t i = 0; i < std::size(kSignals); ++i) sigaction(kSignals[i], nullptr, &old_[i]);
  }
  ~SavedSignals() {
    if (!saved_) return;
    for (size_t i = 0; i < std::size(kSignals); ++i) sigaction(kSignals[i], &old_[i], nullptr);
  }
  SavedSignals(const SavedSignals&) = delete;
  SavedSignals& operator=(const SavedSignals&) = delete;

 private:
  static constexpr int kSignals[] = {SIGINT, SIGTERM, SIGHUP};
  bool saved_;
  struct sigaction old_[std::size(kSignals)]{};
};

}  // namespace

int run(RunArgs args) {
  if (args.hooks == nullptr && args.config.empty() && args.url.ends_with(".py") &&
      args.url.find("://") == std::string::npos) {
    return run_python_script(args);
  }
  if (args.hooks == nullptr && args.config_text.empty()) {
    const std::string& target = args.config.empty() ? args.url : args.config;
    if (!target.empty() && target.find("://") == std::string::npos && grid::is_grid_path(target)) {
      return run_grid(std::move(args));
    }
  }
  RunArgs a = with_config_file(std::move(args));
  if (a.hooks != nullptr) {
    a.from_file.insert(a.from_file.end(), a.hooks->flag_names.begin(), a.hooks->flag_names.end());
  }
  plan::RunPlan plan = compile_run(a);
  std::vector<report::Format> formats;  // checked before anything runs
  for (const std::string& o : a.outputs) formats.push_back(report::format_for(o, a.format));
  for (const std::string& o : a.outputs) check_writable(o);
  if (!a.db_url.empty() && !a.dry_run) history::prepare(a.db_url);
  if (!a.format.empty() && a.outputs.empty()) report::format_for("", a.format);
  for (const std::string& note : a.notes) std::fprintf(stderr, "note: %s\n", note.c_str());
  if (a.dry_run) {  // everything is checked; nothing is sent
    print_plan(plan, engine::prepare(plan, false));
    return kExitOk;
  }
  engine::RunConfig config = engine::prepare(plan);
  if (a.debug) return debug_exchange(plan, config);  // one request, nothing to confirm
  if (!a.yes && a.hooks == nullptr) confirm_remote_targets(config, plan);
  live::LiveMode mode = a.hooks != nullptr
                            ? live::LiveMode::kOff  // the caller shows progress
                            : live::choose_live_mode(a.quiet, a.no_tui || a.json, stderr);
  live::LiveView view(
      mode,
      fmt::format("loadspiker  {}  ·  {}", plan.about.title, describe(config.plan, plan.load)),
      stderr);
  std::unique_ptr<live::MetricsServer> metrics_server;
  if (a.prometheus_port != 0) {
    metrics_server = std::make_unique<live::MetricsServer>(a.prometheus_port, a.prometheus_prefix);
  }
  std::unique_ptr<live::GatewayPusher> pusher;  // during the run, as Kaioken pushes
  if (!a.prometheus_pushgateway.empty()) {
    pusher = std::make_unique<live::GatewayPusher>(
        a.prometheus_pushgateway, a.prometheus_prefix,
        static_cast<int>(config.worker.connect_timeout_ns / 1'000'000) + 2000);
  }
  engine::RunResult result;
  {
    SavedSignals saved(a.hooks != nullptr);
    engine::install_stop_signals();
    result = engine::run_load(config, [&](const metrics::LiveState& s) {
      view.update(s);
      if (metrics_server) metrics_server->update(s);
      if (pusher && !s.finished) pusher->update(s);
      if (a.hooks != nullptr && a.hooks->on_progress) a.hooks->on_progress(s);
    });
  }
  pusher.reset();  // its last push is done before the final one, which carries the verdict
  if (a.hooks != nullptr) a.hooks->interrupted = result.interrupted;
  view.finish();
  report::RunReport rep;
  rep.info = run_info(plan, config, a);
  rep.info.threads = result.threads;
  rep.totals = &result.totals;
  rep.timeline = &result.timeline;
  rep.elapsed_s = result.elapsed_s;
  rep.measured_s = result.measured_s;
  rep.started_unix_ms = result.started_unix_ms;
  rep.ended_unix_ms = result.ended_unix_ms;
  rep.interrupted = result.interrupted;
  return report_run(rep, config, result, a, formats);
}

}  // namespace spiker::cli
