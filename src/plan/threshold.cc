#include "plan/threshold.h"

#include <fmt/format.h>

#include <cstdlib>

#include "core/duration.h"
#include "core/error.h"
#include "core/strings.h"

namespace spiker::plan {
namespace {

bool take_op(std::string_view& s, Threshold::Op* op) {
  static constexpr std::pair<std::string_view, Threshold::Op> kOps[] = {
      {"<=", Threshold::Op::kLe}, {">=", Threshold::Op::kGe}, {"==", Threshold::Op::kEq},
      {"!=", Threshold::Op::kNe}, {"<", Threshold::Op::kLt},  {">", Threshold::Op::kGt}};
  s = trim(s);
  for (const auto& [text, o] : kOps) {
    if (s.starts_with(text)) {
      *op = o;
      s = trim(s.substr(text.size()));
      return true;
    }
  }
  return false;
}

bool parse_number(std::string_view s, double* out) {
  std::string text(trim(s));
  char* end = nullptr;
  *out = std::strtod(text.c_str(), &end);
  return !text.empty() && end == text.c_str() + text.size();
}

const char* op_text(Threshold::Op op) {
  switch (op) {
    case Threshold::Op::kLt:
      return "<";
    case Threshold::Op::kLe:
      return "<=";
    case Threshold::Op::kGt:
      return ">";
    case Threshold::Op::kGe:
      return ">=";
    case Threshold::Op::kEq:
      return "==";
    case Threshold::Op::kNe:
      return "!=";
  }
  return "?";
}

}  // namespace

bool Threshold::holds(double actual) const {
  switch (op) {
    case Op::kLt:
      return actual < value;
    case Op::kLe:
      return actual <= value;
    case Op::kGt:
      return actual > value;
    case Op::kGe:
      return actual >= value;
    case Op::kEq:
      return actual == value;
    case Op::kNe:
      return actual != value;
  }
  return false;
}

std::string Threshold::describe() const {
  std::string stat_text;
  switch (stat) {
    case Stat::kPercentile:
      stat_text = fmt::format("p({:g})", percentile);
      break;
    case Stat::kAvg:
      stat_text = "avg";
      break;
    case Stat::kMin:
      stat_text = "min";
      break;
    case Stat::kMax:
      stat_text = "max";
      break;
    case Stat::kMed:
      stat_text = "med";
      break;
    case Stat::kRate:
      stat_text = "rate";
      break;
    case Stat::kCount:
      stat_text = "count";
      break;
  }
  return fmt::format("{}{}{:g}", stat_text, op_text(op), value);
}

Threshold parse_kaioken_threshold(std::string_view key, std::string_view value,
                                  std::string_view where) {
  Threshold t;
  t.metric_text = std::string(key);
  t.condition_text = std::string(value);
  auto bad = [&](std::string_view why) {
    return SetupError(fmt::format(
        "{}: [thresholds] {} = \"{}\": {}; write e.g. p95_latency_ms = \"< 300\", "
        "p99_latency = \"< 1s\", error_rate = \"< 0.01\" (or \"< 1%\"), rps = \"> 100\", "
        "check_pass_rate = \"> 0.95\"",
        where, key, value, why));
  };
  std::string_view k = key;
  bool documented = false;
  if (k.ends_with("_latency_ms")) {
    k.remove_suffix(11);
  } else if (k.ends_with("_latency")) {
    k.remove_suffix(8);
    documented = true;
  } else {
    k = {};
  }
  if (!k.empty()) {
    t.metric = Threshold::Metric::kDuration;
    if (k == "mean") {
      t.stat = Threshold::Stat::kAvg;
    } else if (k == "max") {
      t.stat = Threshold::Stat::kMax;
    } else if (k == "min") {
      t.stat = Threshold::Stat::kMin;
    } else if (k.starts_with("p") && k.size() >= 3) {
      std::string digits(k.substr(1));
      double p = std::atof(digits.c_str());
      if (digits.find_first_not_of("0123456789") != std::string::npos) throw bad("unknown key");
      // p50 -> 50, p999 -> 99.9, p9999 -> 99.99
      while (p >= 100) p /= 10;
      t.stat = Threshold::Stat::kPercentile;
      t.percentile = p;
    } else {
      throw bad("unknown key");
    }
  } else if (key == "error_rate") {
    t.metric = Threshold::Metric::kFailed;
    t.stat = Threshold::Stat::kRate;
  } else if (key == "rps") {
    t.metric = Threshold::Metric::kRequests;
    t.stat = Threshold::Stat::kRate;
  } else if (key == "check_pass_rate") {
    t.metric = Threshold::Metric::kChecks;
    t.stat = Threshold::Stat::kRate;
  } else {
    throw bad("unknown key");
  }
  std::string_view v = value;
  if (!take_op(v, &t.op)) throw bad("the value starts with an operator: < <= > >= ==");
  if (t.metric == Threshold::Metric::kDuration) {
    bool unit = !v.empty() && std::isalpha(static_cast<unsigned char>(v.back()));
    if (unit) {
      t.value = static_cast<double>(parse_duration(v, where).count()) / 1e6;
    } else if (!parse_number(v, &t.value)) {
      throw bad("not a number");
    }
    (void)documented;
  } else if (v.ends_with("%")) {
    if (!parse_number(v.substr(0, v.size() - 1), &t.value)) throw bad("not a number");
    t.value /= 100;
  } else if (!parse_number(v, &t.value)) {
    throw bad("not a number");
  }
  return t;
}

Threshold parse_k6_threshold(std::string_view metric, std::string_view expression,
                             std::string_view where) {
  Threshold t;
  t.metric_text = std::string(metric);
  t.condition_text = std::string(expression);
  auto bad = [&](std::string_view why) {
    return SetupError(fmt::format(
        "{}: threshold \"{}\" = \"{}\": {}; write e.g. http_req_duration = [\"p(95)<300\", "
        "\"avg<200\"], \"http_req_duration{{scenario:checkout}}\" = [\"p(99)<500\"], "
        "http_req_failed = [\"rate<0.01\"], http_reqs = [\"rate>100\"], checks = "
        "[\"rate>0.99\"], iterations = [\"count>10\"]",
        where, metric, expression, why));
  };
  std::string_view name = metric;
  size_t brace = name.find('{');
  if (brace != std::string_view::npos) {
    if (!name.ends_with("}")) throw bad("a tag filter is {key:value}");
    std::string_view tag = name.substr(brace + 1, name.size() - brace - 2);
    size_t colon = tag.find(':');
    if (colon == std::string_view::npos) throw bad("a tag filter is {key:value}");
    t.tag_key = std::string(trim(tag.substr(0, colon)));
    t.tag_value = std::string(trim(tag.substr(colon + 1)));
    if (t.tag_key != "scenario" && t.tag_key != "step") {
      throw bad("tags that filter are scenario and step");
    }
    name = name.substr(0, brace);
  }
  if (name == "http_req_duration") {
    t.metric = Threshold::Metric::kDuration;
  } else if (name == "http_req_failed") {
    t.metric = Threshold::Metric::kFailed;
  } else if (name == "http_reqs") {
    t.metric = Threshold::Metric::kRequests;
  } else if (name == "checks") {
    t.metric = Threshold::Metric::kChecks;
  } else if (name == "iterations") {
    t.metric = Threshold::Metric::kIterations;
  } else {
    throw bad("metrics are http_req_duration, http_req_failed, http_reqs, checks, iterations");
  }
  std::string_view e = trim(expression);
  size_t op_at = e.find_first_of("<>=!");
  if (op_at == std::string_view::npos) throw bad("no comparison");
  std::string_view stat = trim(e.substr(0, op_at));
  std::string_view rest = e.substr(op_at);
  if (stat.starts_with("p(") && stat.ends_with(")")) {
    t.stat = Threshold::Stat::kPercentile;
    if (!parse_number(stat.substr(2, stat.size() - 3), &t.percentile) || t.percentile < 0 ||
        t.percentile > 100) {
      throw bad("p(N) takes 0..100");
    }
  } else if (stat == "avg") {
    t.stat = Threshold::Stat::kAvg;
  } else if (stat == "min") {
    t.stat = Threshold::Stat::kMin;
  } else if (stat == "max") {
    t.stat = Threshold::Stat::kMax;
  } else if (stat == "med") {
    t.stat = Threshold::Stat::kMed;
  } else if (stat == "rate") {
    t.stat = Threshold::Stat::kRate;
  } else if (stat == "count") {
    t.stat = Threshold::Stat::kCount;
  } else {
    throw bad("statistics are p(N), avg, min, max, med, rate, count");
  }
  bool duration_stat = t.stat != Threshold::Stat::kRate && t.stat != Threshold::Stat::kCount;
  if ((t.metric == Threshold::Metric::kDuration) != duration_stat) {
    throw bad(t.metric == Threshold::Metric::kDuration
                  ? "http_req_duration takes p(N), avg, min, max or med"
                  : "this metric takes rate (or count)");
  }
  if ((t.metric == Threshold::Metric::kFailed || t.metric == Threshold::Metric::kChecks) &&
      t.stat != Threshold::Stat::kRate) {
    throw bad("this metric takes rate");
  }
  if (!take_op(rest, &t.op) || !parse_number(rest, &t.value)) throw bad("not op number");
  return t;
}

std::string_view Threshold::unit() const {
  if (metric == Metric::kDuration) return "ms";
  if (stat == Stat::kCount) return "count";
  if (metric == Metric::kFailed || metric == Metric::kChecks) return "rate";
  return "/s";
}

}  // namespace spiker::plan
