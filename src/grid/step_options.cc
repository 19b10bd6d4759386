// A step's options beyond its runner's inputs: what burstgridgo's step schema parses (enabled,
// tags, retry, timeouts, continue_on_failure, delay_before / delay_after, sensitive), read into
// StepOptions; what it parses and we do not run yet is refused by name, never ignored.
#include <fmt/format.h>

#include <cmath>
#include <set>

#include "grid/internal.h"

namespace spiker::grid {

namespace {

[[noreturn]] void fail(const StepDef& s, hcl::Pos at, const std::string& msg) {
  throw hcl::Error(*s.src, at, msg);
}

[[noreturn]] void not_yet(const StepDef& s, hcl::Pos at, const std::string& what) {
  fail(s, at,
       fmt::format("{} is not supported yet in a step (burstgridgo's schema has it; LoadSpiker "
                   "does not run it): remove it",
                   what));
}

// A value known before the run: no step or resource outputs, no count.index or each.
hcl::Value static_value(const StepDef& s, const hcl::Attribute& a, const hcl::Context& base,
                        const std::string& what) {
  std::vector<std::vector<std::string>> refs;
  hcl::traversals(*a.expr, &refs);
  for (const auto& r : refs) {
    if (r[0] == "step" || r[0] == "resource" || r[0] == "count" || r[0] == "each") {
      fail(s, start_of(*a.expr),
           fmt::format("{} is read before the run: it may use var, local and functions, not {}",
                       what, r[0]));
    }
  }
  return hcl::evaluate(*a.expr, base);
}

bool bool_of(const StepDef& s, const hcl::Attribute& a, const hcl::Context& base,
             const std::string& what) {
  bool b = false;
  if (!hcl::to_bool(static_value(s, a, base, what), &b)) {
    fail(s, start_of(*a.expr), what + " is true or false");
  }
  return b;
}

int64_t duration_of(const StepDef& s, const hcl::Attribute& a, const hcl::Context& base,
                    const std::string& what) {
  hcl::Value v = static_value(s, a, base, what);
  if (v.type() != hcl::Type::kString) {
    fail(s, start_of(*a.expr), what + " is a duration string: \"500ms\", \"2s\", \"1m\"");
  }
  try {
    int64_t ns = duration_ns(v.as_string(), what);
    if (ns < 0) throw SetupError("negative");
    return ns;
  } catch (const SetupError&) {
    fail(s, start_of(*a.expr),
         fmt::format("{} = \"{}\" is not a duration; write \"500ms\", \"2s\" or \"1m\"", what,
                     v.as_string()));
  }
}

void retry_block(StepDef& s, const hcl::Block& b, const hcl::Context& base) {
  StepOptions& o = s.options;
  for (const hcl::Attribute& a : b.body.attributes) {
    if (a.name == "attempts") {
      double n = 0;
      hcl::Value v = static_value(s, a, base, "retry.attempts");
      if (!hcl::to_number(v, &n) || n < 1 || n > kMaxAttempts || n != std::floor(n)) {
        fail(s, start_of(*a.expr),
             fmt::format("retry.attempts is a whole number from 1 to {} (the tries in all, the "
                         "first included)",
                         kMaxAttempts));
      }
      o.attempts = static_cast<int>(n);
    } else if (a.name == "retry_on" || a.name == "abort_on" || a.name == "max_duration") {
      not_yet(s, a.pos, "retry." + a.name);
    } else {
      fail(s, a.pos,
           fmt::format("'{}' is not a retry attribute; use attempts and a backoff {{ }} block",
                       a.name));
    }
  }
  for (const hcl::Block& x : b.body.blocks) {
    if (x.type != "backoff") {
      fail(s, x.pos, fmt::format("unknown block '{}' in retry; use backoff {{ }}", x.type));
    }
    o.backoff_initial_ns = 1'000'000'000;  // a backoff block without `initial`: 1 s
    for (const hcl::Attribute& a : x.body.attributes) {
      if (a.name == "strategy") {
        hcl::Value v = static_value(s, a, base, "retry.backoff.strategy");
        if (v.type() != hcl::Type::kString ||
            (v.as_string() != "constant" && v.as_string() != "exponential")) {
          fail(s, start_of(*a.expr), "retry.backoff.strategy is \"constant\" or \"exponential\"");
        }
        o.backoff_exponential = v.as_string() == "exponential";
      } else if (a.name == "initial") {
        o.backoff_initial_ns = duration_of(s, a, base, "retry.backoff.initial");
      } else if (a.name == "max") {
        o.backoff_max_ns = duration_of(s, a, base, "retry.backoff.max");
      } else if (a.name == "factor") {
        double f = 0;
        if (!hcl::to_number(static_value(s, a, base, "retry.backoff.factor"), &f) || f < 1 ||
            f > 100) {
          fail(s, start_of(*a.expr), "retry.backoff.factor is a number from 1 to 100");
        }
        o.backoff_factor = f;
      } else if (a.name == "jitter") {
        not_yet(s, a.pos, "retry.backoff.jitter");
      } else {
        fail(s, a.pos,
             fmt::format("'{}' is not a backoff attribute; use strategy, initial, factor and "
                         "max",
                         a.name));
      }
    }
  }
}

void timeouts_block(StepDef& s, const hcl::Block& b, const hcl::Context& base) {
  for (const hcl::Attribute& a : b.body.attributes) {
    if (a.name == "execution") {
      s.options.execution_timeout_ns = duration_of(s, a, base, "timeouts.execution");
      if (s.options.execution_timeout_ns == 0) {
        fail(s, start_of(*a.expr), "timeouts.execution is more than 0");
      }
    } else if (a.name == "start" || a.name == "queue" || a.name == "deadline") {
      not_yet(s, a.pos, "timeouts." + a.name);
    } else {
      fail(s, a.pos, fmt::format("'{}' is not a timeouts attribute; use execution", a.name));
    }
  }
}

}  // namespace

bool step_option(StepDef& s, const hcl::Attribute& a, const hcl::Context& base) {
  StepOptions& o = s.options;
  if (a.name == "enabled") {
    o.enabled = a.expr.get();
    std::vector<std::vector<std::string>> refs;
    hcl::traversals(*a.expr, &refs);
    for (const auto& r : refs) {
      if (r[0] == "count" || r[0] == "each") {
        fail(s, start_of(*a.expr), "enabled is one for the whole step: it cannot read " + r[0]);
      }
    }
  } else if (a.name == "tags") {
    hcl::Value v = static_value(s, a, base, "tags");
    if (!v.is_sequence()) fail(s, start_of(*a.expr), "tags is a list of strings");
    for (const hcl::Value& t : v.items()) {
      if (t.type() != hcl::Type::kString) fail(s, start_of(*a.expr), "tags is a list of strings");
      o.tags.push_back(t.as_string());
    }
  } else if (a.name == "continue_on_failure") {
    o.continue_on_failure = bool_of(s, a, base, "continue_on_failure");
  } else if (a.name == "sensitive") {
    o.sensitive = bool_of(s, a, base, "sensitive");
  } else if (a.name == "delay_before") {
    o.delay_before_ns = duration_of(s, a, base, "delay_before");
  } else if (a.name == "delay_after") {
    o.delay_after_ns = duration_of(s, a, base, "delay_after");
  } else if (a.name == "scope" || a.name == "priority" || a.name == "idempotency_key" ||
             a.name == "env" || a.name == "uses") {
    not_yet(s, a.pos,
            a.name == "uses" ? "uses as an attribute (write a uses { client = ... } block)"
                             : "'" + a.name + "'");
  } else {
    return false;
  }
  if (s.resource && a.name != "tags") {
    fail(s, a.pos, fmt::format("'{}' is a step attribute, not a resource's", a.name));
  }
  return true;
}

bool step_option_block(StepDef& s, const hcl::Block& b, const hcl::Context& base) {
  static const std::set<std::string> kLater = {"concurrency", "rate_limit", "on_error",
                                               "cache",       "dedupe",     "tracing",
                                               "metrics",     "placement"};
  if (kLater.count(b.type) != 0) not_yet(s, b.pos, "a " + b.type + " { } block");
  if (b.type != "retry" && b.type != "timeouts") return false;
  if (s.resource)
    fail(s, b.pos, fmt::format("{} {{ }} is a step's block, not a resource's", b.type));
  if (b.type == "retry" ? s.options.attempts != 1 || s.options.retry_seen
                        : s.options.timeouts_seen) {
    fail(s, b.pos, fmt::format("a second {} block in step '{}'", b.type, s.key()));
  }
  if (b.type == "retry") {
    s.options.retry_seen = true;
    retry_block(s, b, base);
  } else {
    s.options.timeouts_seen = true;
    timeouts_block(s, b, base);
  }
  return true;
}

int64_t retry_delay_ns(const StepOptions& o, int failed_attempts) {
  double d = static_cast<double>(o.backoff_initial_ns);
  if (o.backoff_exponential) d *= std::pow(o.backoff_factor, failed_attempts - 1);
  if (o.backoff_max_ns > 0) d = std::min(d, static_cast<double>(o.backoff_max_ns));
  return static_cast<int64_t>(std::min(d, 3600e9));
}

}  // namespace spiker::grid
