#include "load/plan_builder.h"

#include <fmt/format.h>

#include <cmath>

#include "core/error.h"

namespace spiker::load {
namespace {

constexpr int64_t kDefaultDuration = 10'000'000'000;

void conflict(bool a, bool b, const char* what) {
  if (a && b) throw SetupError(what);
}

// A rate no machine can start: refused before the run rather than dropped for its length.
void check_startable(double rate, const std::string& what) {
  constexpr double kMaxRate = 10'000'000;
  if (rate <= kMaxRate) return;
  throw SetupError(fmt::format(
      "{}: {:g} iterations/s is more than one machine can start (at most 10,000,000/s); split "
      "the load across machines, each running its own --segment (with 4: --segment 0:1/4, "
      "1/4:2/4, 2/4:3/4 and 3/4:1)",
      what, rate));
}

}  // namespace

LoadPlan build_plan(const LoadSpec& spec) {
  LoadPlan plan;
  if (spec.concurrency < 1) throw SetupError("-c/--concurrency: must be at least 1");
  if (spec.max_vus < 1) throw SetupError("--max-vus: must be at least 1");
  if (spec.rate < 0 || !std::isfinite(spec.rate)) throw SetupError("-r/--rate: must be >= 0");
  if (spec.arrival_rate < 0 || !std::isfinite(spec.arrival_rate)) {
    throw SetupError("--arrival-rate: must be >= 0");
  }
  check_startable(spec.arrival_rate, "--arrival-rate");
  std::vector<Stage> stages;
  bool rate_stages = false;
  for (const std::string& text : spec.stages) {
    bool is_rate = false;
    stages.push_back(parse_stage(text, &is_rate));
    if (is_rate) check_startable(stages.back().target, "--stage '" + text + "'");
    if (!stages.empty() && stages.size() > 1 && is_rate != rate_stages) {
      throw SetupError("--stage: VU stages (30s:100) and rate stages (30s:100/s) do not mix");
    }
    rate_stages = is_rate;
  }
  bool bursts = spec.burst_rate > 0 || spec.burst_delay_ns > 0;
  if (bursts && (spec.burst_rate == 0 || spec.burst_delay_ns <= 0)) {
    throw SetupError(
        "--burst-rate and --burst-delay go together: give both (e.g. --burst-rate "
        "500 --burst-delay 5s)");
  }
  conflict(bursts, spec.arrival_rate > 0 || !stages.empty() || spec.rate > 0,
           "--burst-rate sets its own schedule: drop --arrival-rate, --stage and -r");
  bool open = spec.arrival_rate > 0 || rate_stages || bursts;
  bool counted = spec.max_requests > 0 || spec.iterations > 0;
  conflict(spec.arrival_rate > 0 && !stages.empty(), true,
           "--arrival-rate and --stage exclude each other: rate stages (--stage 30s:100/s) set "
           "the rate");
  conflict(spec.rate > 0, open,
           "-r/--rate paces a closed model; for an open model use "
           "--arrival-rate or rate stages, not both");
  conflict(spec.rate > 0, !stages.empty(),
           "-r/--rate paces a constant number of VUs: drop --stage");
  conflict(spec.ramp_up_ns > 0, !stages.empty() || open,
           "--ramp-up starts the -c VUs gradually; with --stage or --arrival-rate, use stages");
  conflict(spec.duration_ns.has_value(), !stages.empty(),
           "-d/--duration and --stage exclude each other: the stages set the length");
  conflict(spec.max_requests > 0, spec.iterations > 0,
           "-n/--max-requests and --iterations both count requests here: give one");
  conflict(spec.per_vu_iterations > 0, counted || open || !stages.empty(),
           "--per-vu-iterations runs -c VUs a fixed number of times each: drop -n, "
           "--iterations, --arrival-rate and --stage");
  conflict(spec.pipeline > 1, open || spec.rate > 0 || !spec.think_time.empty(),
           "--pipeline needs a closed, unpaced model: drop --arrival-rate, -r and --think-time");

  plan.think = plan::ThinkTime::parse(spec.think_time);
  plan.stripe = Stripe::parse(spec.segment, spec.segment_sequence);
  plan.warmup_ns = spec.warmup_ns;
  plan.correct_latency = spec.latency_correction;
  plan.shared_iterations = spec.max_requests > 0 ? spec.max_requests : spec.iterations;
  plan.per_vu_iterations = spec.per_vu_iterations;
  // A count bounds a closed model by itself; an arrival schedule always needs a length.
  int64_t duration = spec.duration_ns.value_or(
      !open && (counted || spec.per_vu_iterations > 0) ? 0 : kDefaultDuration);
  if (spec.duration_ns.has_value() && *spec.duration_ns <= 0) {
    throw SetupError("-d/--duration: must be longer than 0");
  }
  if (stages.empty() && duration > 0) duration += spec.warmup_ns;  // warmup comes first

  if (open) {
    plan.model = Model::kOpen;
    plan.max_vus = spec.max_vus;
    if (bursts) {
      // Kaioken's burst mode as an open model: each burst's requests share one intended start,
      // so a burst that outlasts the delay shows in corrected latency, not in a later burst.
      plan.executor = "bursts";
      plan.max_vus = std::max<uint64_t>(spec.max_vus, spec.burst_rate);
      plan.arrivals.emplace(
          ArrivalSchedule::bursts(spec.burst_rate, spec.burst_delay_ns, duration));
    } else if (rate_stages) {
      plan.executor = "ramping-arrival-rate";
      plan.arrivals.emplace(StageCurve(0, stages));
    } else {
      plan.executor = "constant-arrival-rate";
      plan.arrivals.emplace(ArrivalSchedule::constant(spec.arrival_rate, duration));
    }
    plan.duration_ns = plan.arrivals->total_ns();
  } else {
    if (!stages.empty()) {
      plan.executor = "ramping-vus";
      plan.vus.emplace(StageCurve(0, stages));
      plan.duration_ns = plan.vus->total_ns();
    } else if (spec.ramp_up_ns > 0) {
      if (duration > 0 && spec.ramp_up_ns > duration) {
        throw SetupError("--ramp-up: must not be longer than -d/--duration");
      }
      plan.executor = "ramping-vus";
      auto n = static_cast<double>(spec.concurrency);
      std::vector<Stage> ramp = {{spec.ramp_up_ns, n}};
      if (duration > spec.ramp_up_ns) ramp.push_back({duration - spec.ramp_up_ns, n});
      plan.vus.emplace(StageCurve(0, ramp));
      plan.duration_ns = duration;
    } else {
      plan.executor = spec.per_vu_iterations > 0 ? "per-vu-iterations"
                      : counted                  ? "shared-iterations"
                                                 : "constant-vus";
      plan.vus.emplace(VuSchedule::constant(spec.concurrency, duration));
      plan.duration_ns = duration;
    }
    plan.max_vus = plan.vus->max_vus();
    if (spec.rate > 0) {
      plan.rate = spec.rate;
      plan.pace_period_ns = static_cast<int64_t>(
          std::llround(static_cast<double>(spec.concurrency) / spec.rate * 1e9));
    }
  }
  if (plan.warmup_ns > 0 && plan.duration_ns > 0 && plan.warmup_ns >= plan.duration_ns) {
    throw SetupError("--warmup: must be shorter than the stages");
  }
  if (plan.max_vus == 0) throw SetupError("--stage: the stages never run a VU (all targets 0)");
  return plan;
}

}  // namespace spiker::load
