// `loadspiker run`'s front end: the flags, completed from a config file, compiled into a
// plan::RunPlan. Everything is checked here, before anything is resolved or sent.
#include <fmt/format.h>

#include <algorithm>

#include "cli/run_args.h"
#include "config/config_file.h"
#include "config/env_interpolate.h"
#include "core/duration.h"
#include "core/error.h"
#include "core/mapped_file.h"
#include "core/redact.h"
#include "live/prometheus.h"
#include "load/plan_builder.h"
#include "plan/run_plan.h"
#include "proto/protocol.h"
#include "report/numbers.h"

namespace spiker::cli {

int64_t positive_ns(const std::string& text, const char* flag) {
  int64_t ns = parse_duration(text, flag).count();
  if (ns <= 0) throw SetupError(fmt::format("{}: must be longer than 0 (got '{}')", flag, text));
  return ns;
}

namespace {

// A duration where 0 means none (Kaioken's default `ramp_up = "0s"`, `--warmup 0s`).
int64_t optional_ns(const std::string& text, const char* flag) {
  int64_t ns = parse_duration(text, flag).count();
  if (ns < 0) throw SetupError(fmt::format("{}: must not be negative (got '{}')", flag, text));
  return ns;
}

// The flags that cannot be combined, or are out of range.
void check_flags(const RunArgs& a) {
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
  live::check_prefix(a.prometheus_prefix);
  if (!a.prometheus_pushgateway.empty() && a.prometheus_port != 0) {  // as Kaioken refuses it
    throw SetupError(
        "--prometheus-pushgateway and --prometheus-port exclude each other: Prometheus scrapes "
        "the endpoint, or the run pushes to the gateway; give one");
  }
}

}  // namespace

std::string name_file_keys(const RunArgs& a, std::string_view message) {
  // Flags as messages spell them, short forms first.
  static constexpr std::pair<std::string_view, std::string_view> kSpelled[] = {
      {"--concurrency", "-c/--concurrency"},
      {"--duration", "-d/--duration"},
      {"--max-requests", "-n/--max-requests"},
      {"--rate", "-r/--rate"}};
  auto word_char = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-'; };
  std::string out;
  for (size_t i = 0; i < message.size();) {
    bool replaced = false;
    for (size_t k = 0;
         k < a.from_file.size() && !replaced && (i == 0 || !word_char(message[i - 1])); ++k) {
      const auto& [flag, key] = a.from_file[k];
      std::string_view spelled = flag;
      for (const auto& [f, s] : kSpelled) spelled = f == flag ? s : spelled;
      for (std::string_view text : {spelled, std::string_view(flag)}) {
        size_t end = i + text.size();
        if (message.substr(i, text.size()) == text &&
            (end == message.size() || !word_char(message[end]))) {
          out += key;
          i = end;
          replaced = true;
          break;
        }
      }
    }
    if (!replaced) out += message[i++];
  }
  return out == message ? out : a.config + ": " + out;
}

namespace {

plan::LoadModel load_model_of(const RunArgs& a) {
  plan::LoadModel m;
  m.concurrency = static_cast<uint64_t>(a.concurrency);
  if (!a.duration.empty()) m.duration_ns = positive_ns(a.duration, "-d/--duration");
  m.max_requests = parse_count(a.max_requests, "-n/--max-requests");
  m.iterations = parse_count(a.iterations, "--iterations");
  m.per_vu_iterations = parse_count(a.per_vu_iterations, "--per-vu-iterations");
  m.rate = a.rate;
  m.arrival_rate = a.arrival_rate;
  m.max_vus = static_cast<uint64_t>(a.max_vus);
  if (!a.ramp_up.empty()) m.ramp_up_ns = optional_ns(a.ramp_up, "--ramp-up");
  if (!a.warmup.empty()) m.warmup_ns = optional_ns(a.warmup, "--warmup");
  m.think_time = a.think_time;
  m.stages = a.stages;
  m.latency_correction = !a.no_latency_correction;
  m.segment = a.segment;
  m.segment_sequence = a.segment_sequence;
  m.pipeline = a.pipeline;
  if (a.burst_rate < 0) throw SetupError("--burst-rate: must be at least 1");
  m.burst_rate = static_cast<uint64_t>(a.burst_rate);
  if (!a.burst_delay.empty()) m.burst_delay_ns = positive_ns(a.burst_delay, "--burst-delay");
  load::LoadPlan p = load::build_plan(m);  // checks the combination
  if (!a.executor.empty() && a.executor != p.executor) {
    throw config::ConfigError(fmt::format(
        "{}: [load] executor = \"{}\", but its keys describe {}; constant-vus takes vus + "
        "duration, ramping-vus [[stages]] with target, constant-arrival-rate arrival_rate, "
        "ramping-arrival-rate [[stages]] with target_rate, per-vu-iterations and "
        "shared-iterations iterations",
        a.config, a.executor, p.executor));
  }
  return m;
}

plan::LoadModel load_model(const RunArgs& a) {
  try {
    return load_model_of(a);
  } catch (const config::ConfigError&) {
    throw;
  } catch (const SetupError& e) {
    throw SetupError(name_file_keys(a, e.what()));
  }
}

// A scenario's own executor (k6 `scenarios`) as a load model, checked against its keys.
plan::LoadModel scenario_model(const plan::Scenario& sc, const plan::LoadModel& main) {
  const plan::ScenarioLoad& l = *sc.load;
  plan::LoadModel m;
  m.concurrency = l.vus.value_or(1);
  if (l.duration) m.duration_ns = positive_ns(*l.duration, "duration");
  if (l.executor == "per-vu-iterations") {
    m.per_vu_iterations = l.iterations.value_or(0);
  } else {
    m.iterations = l.iterations.value_or(0);
  }
  m.arrival_rate = l.arrival_rate.value_or(0);
  m.max_vus = l.max_vus.value_or(100);
  m.stages = l.stages;
  m.latency_correction = main.latency_correction;
  m.segment = main.segment;
  m.segment_sequence = main.segment_sequence;
  load::LoadPlan p;
  try {
    p = load::build_plan(m);
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
  return m;
}

// Scenarios with their own executor run beside the others, each a load group; the rest share
// the main load by weight.
std::vector<plan::LoadGroup> load_groups(const plan::Journey& j, const plan::LoadModel& main) {
  std::vector<plan::LoadGroup> groups;
  if (std::none_of(j.scenarios.begin(), j.scenarios.end(),
                   [](const plan::Scenario& sc) { return sc.load.has_value(); })) {
    return groups;
  }
  auto subset = [&](auto keep) {
    auto part = std::make_shared<plan::Journey>(j);
    part->scenarios.clear();
    for (size_t i = 0; i < j.scenarios.size(); ++i) {
      if (keep(i)) part->scenarios.push_back(j.scenarios[i]);
    }
    return part;
  };
  auto shared_part = subset([&](size_t i) { return !j.scenarios[i].load; });
  if (!shared_part->scenarios.empty()) groups.push_back({"", "", "", main, shared_part});
  for (size_t i = 0; i < j.scenarios.size(); ++i) {
    const plan::Scenario& sc = j.scenarios[i];
    if (!sc.load) continue;
    groups.push_back({sc.name, sc.load->executor, sc.load->where, scenario_model(sc, main),
                      subset([&](size_t k) { return k == i; })});
  }
  return groups;
}

// [thresholds] with their tag filters turned into the requests they look at.
std::vector<plan::ScopedThreshold> scope_thresholds(const RunArgs& a) {
  std::vector<plan::ScopedThreshold> out;
  for (const plan::Threshold& t : a.thresholds) {
    plan::ScopedThreshold s{t, ~uint64_t{0}};
    if (a.fail_fast) s.t.abort_on_fail = true;  // Kaioken: abort when any threshold fails
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

namespace {

// The target URL: the flag, a file's [target], its first [[scenarios]] or journey origin.
Url target_url(RunArgs& a) {
  if (!a.scenarios.empty()) a.url = a.scenarios.front().url;
  if (a.journey) {
    a.url = a.journey->origins.at(0).url.to_string();
    for (const char* flag : {"--method", "--body", "--body-file", "--pipeline"}) {
      if (flag_given(a, flag) &&
          (!a.journey_from_flags || std::string_view(flag) == "--pipeline")) {
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
  return url;
}

// A plain run's requests (the URL's, one per [[scenarios]], the WebSocket message or a
// registered protocol's exchange), and what the report says about them.
void plain_requests(const RunArgs& a, const Url& url, plan::RunPlan& p) {
  http1::RequestSpec spec;
  spec.method = a.method;
  spec.url = url;
  for (const std::string& h : a.headers) spec.headers.push_back(http1::parse_header_arg(h));
  // An HTTP body from a file is sent as the file's bytes, mapped and never copied per request
  // or connection; ${...} in it are rendered only when asked (--body-template).
  std::string_view shared;
  if (!url.web()) {
    spec.body = a.body;  // a registered protocol reads its own --body-file (protocol_target)
  } else if (!a.body_file.empty() && !a.body_template && !url.websocket()) {
    if (a.pipeline > 1) {
      throw SetupError(
          "--pipeline repeats the request in one write: not with --body-file, whose "
          "body is sent from the file (or add --body-template)");
    }
    std::shared_ptr<const MappedFile> file = MappedFile::open(a.body_file, "--body-file");
    shared = file->bytes();
    note_unrendered(shared);
    p.keep.push_back(std::move(file));
  } else {
    spec.body = a.body_file.empty() ? a.body : read_file(a.body_file, "--body-file");
  }
  spec.keep_alive = !a.disable_keepalive;
  p.about.method = a.method;
  p.about.headers = spec.headers;
  p.about.kind = url.websocket() ? "WebSocket" : a.method;
  std::vector<uint32_t> weights;
  std::vector<http1::RequestSpec> specs = request_specs(a, spec, &weights);
  for (size_t i = 0; i < specs.size(); ++i) {
    p.requests.push_back(make_variant(specs[i], a.body_file.empty() ? "-b/--body" : "--body-file",
                                      weights[i], shared));
  }
  for (size_t i = 0; i < a.scenarios.size(); ++i) {
    const config::ScenarioSection& sc = a.scenarios[i];
    p.about.scenarios.push_back(
        {sc.name, redact_url(specs[i].url.to_string()), specs[i].method, sc.weight, sc.tags});
  }
  p.about.target_line =
      fmt::format("{} {}  ({} headers, body {} bytes{})", a.method, redact_url(url.to_string()),
                  spec.headers.size(), shared.data() != nullptr ? shared.size() : spec.body.size(),
                  p.requests[0].dynamic ? ", rendered per request" : "");
  if (url.websocket()) websocket_variant(a, spec, p.requests);
  if (const proto::Protocol* proto = protocol_target(a, url, p.requests)) {
    p.about.method.clear();
    p.about.kind.clear();
    p.about.target_line =
        fmt::format("{}  ({})", redact_url(url.to_string()), proto->describe(*p.requests[0].proto));
  }
}

// One URL: "GET http://host/x". A mix or journeys: the file and its scenarios with their
// shares of the load.
std::string run_title(const plan::RunPlan& p) {
  std::vector<std::pair<std::string, uint32_t>> mix;  // name, weight (0: its own executor)
  if (p.journey) {
    for (const plan::Scenario& sc : p.journey->scenarios) {
      if (sc.name == "target" && p.journey->scenarios.size() == 1 && sc.steps.size() == 1) break;
      mix.emplace_back(sc.name, sc.load ? 0 : sc.weight);
    }
  } else {
    for (const auto& sc : p.about.scenarios) mix.emplace_back(sc.name, sc.weight);
  }
  if (mix.empty()) {
    return fmt::format("{}{}{}", p.about.kind, p.about.kind.empty() ? "" : " ", p.about.url);
  }
  uint64_t total = 0;
  for (const auto& [name, w] : mix) total += w;
  std::string list;
  for (const auto& [name, w] : mix) {
    list += list.empty() ? "" : ", ";
    list += name;
    if (w == 0) {
      list += " (own executor)";
    } else if (mix.size() > 1 && total > 0) {
      list += fmt::format(
          " {}", report::format_percent(static_cast<double>(w) / static_cast<double>(total)));
    }
  }
  return fmt::format("{}: {} ({})", p.about.source, report::plural(mix.size(), "scenario"), list);
}

}  // namespace

plan::RunPlan compile_run(RunArgs& a) {
  plan::RunPlan p;
  add_secret_names(a.redact);      // before anything prints a header or a URL
  std::string configured = a.url;  // as the user wrote it (the file's [target] url, or -u)
  Url url = target_url(a);
  if (configured.empty() || !a.scenarios.empty()) configured = url.to_string();
  p.transport.ws_interval_ns = websocket_target(a, url);  // may set the think time
  check_flags(a);
  p.load = load_model(a);
  p.about.source = a.config.empty() ? "the command line" : a.config;
  p.about.url = redact_url(configured);  // what outputs print
  p.about.concurrency = a.concurrency;
  p.origins = {url};
  if (a.journey) {
    add_header_flags(*a.journey, a.headers);
    p.origins.clear();
    for (const plan::Origin& o : a.journey->origins) p.origins.push_back(o.url);
    p.journey = a.journey;
    p.groups = load_groups(*a.journey, p.load);
    p.about.kind = a.method;
    p.about.headers.clear();
    protocol_target(a, url, p.requests);  // rejects a registered protocol's flags
  } else {
    plain_requests(a, url, p);
  }
  p.transport = [&] {
    plan::TransportOptions t = transport_options(a, p.origins);
    t.ws_interval_ns = p.transport.ws_interval_ns;
    return t;
  }();
  if (p.transport.proxy && p.transport.proxy->scheme == "http" && !p.transport.http2) {
    absolute_form(p);
  }
  p.thresholds = scope_thresholds(a);
  p.threads = a.threads;
  p.about.title = run_title(p);
  return p;
}

}  // namespace spiker::cli
