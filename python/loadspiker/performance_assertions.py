"""Performance assertions (the original LoadSpiker API): conditions on a run's metrics.

Each is a class with the original's shape (``ThroughputAssertion(min_rps, message)``,
``check_metrics(metrics)``, ``get_metrics_error_message(metrics)``) and the original's helper
functions make them (``throughput_at_least(10)``). They evaluate in Python on a metrics dict or a
real run's Result (``run_performance_assertions(result, [...])``). Passed to
``run_scenario(thresholds=as_thresholds([...]))`` they become the engine's thresholds instead:
evaluated live and at the end, in the JSON result, exit code 4 on failure.

A metric a dict lacks counts as 0 (``None`` too), as the original reads them.
"""

__all__ = [
    "PerformanceAssertion", "ThroughputAssertion", "AverageResponseTimeAssertion",
    "ErrorRateAssertion", "SuccessRateAssertion", "MaxResponseTimeAssertion",
    "PercentileResponseTimeAssertion", "TotalRequestsAssertion", "CustomPerformanceAssertion",
    "PerformanceAssertionGroup", "throughput_at_least", "avg_response_time_under",
    "error_rate_below", "success_rate_at_least", "max_response_time_under",
    "total_requests_at_least", "p95_response_time_under", "p99_response_time_under",
    "custom_performance_assertion", "run_performance_assertions", "as_thresholds",
    "PerformanceAssertionFailed",
]


class PerformanceAssertionFailed(AssertionError):
    pass


def _number(metrics, key):
    """metrics[key] as a number; 0 when it is missing or None."""
    try:
        value = metrics.get(key)
    except AttributeError:
        return 0
    return 0 if value is None else value


class PerformanceAssertion:
    """A condition on a run's metrics. Subclasses give check_metrics() and the default message;
    ``threshold`` is the engine's (key, condition) for it, or None (Python only)."""

    default_message = "Performance assertion failed"
    threshold = None

    def __init__(self, message=""):
        self.message = message

    def check_metrics(self, metrics):
        raise NotImplementedError("a performance assertion checks a run's metrics")

    def check(self, metrics):
        return self.check_metrics(metrics)

    def describe(self, metrics):
        """Why it fails, in the original's words."""
        return self.default_message

    def get_metrics_error_message(self, metrics):
        return self.message or self.describe(metrics)

    @property
    def name(self):
        return type(self).__name__

    def evaluate(self, metrics):
        """(passed, message) for a metrics dict or a Result."""
        ok = bool(self.check_metrics(metrics))
        return ok, "" if ok else self.get_metrics_error_message(metrics)

    def __call__(self, metrics):
        return self.check_metrics(metrics)

    def __repr__(self):
        return f"<{self.name}>"


class ThroughputAssertion(PerformanceAssertion):
    def __init__(self, min_rps, message=""):
        super().__init__(message)
        self.min_rps = min_rps

    @property
    def threshold(self):
        return ("rps", f">= {self.min_rps:g}")

    def check_metrics(self, metrics):
        return _number(metrics, "requests_per_second") >= self.min_rps

    def describe(self, metrics):
        return (f"Throughput {_number(metrics, 'requests_per_second'):.2f} RPS is below minimum "
                f"{self.min_rps} RPS")


class AverageResponseTimeAssertion(PerformanceAssertion):
    def __init__(self, max_avg_ms, message=""):
        super().__init__(message)
        self.max_avg_ms = max_avg_ms

    @property
    def threshold(self):
        return ("mean_latency_ms", f"<= {self.max_avg_ms:g}")

    def check_metrics(self, metrics):
        return _number(metrics, "avg_response_time_ms") <= self.max_avg_ms

    def describe(self, metrics):
        return (f"Average response time {_number(metrics, 'avg_response_time_ms'):.2f}ms exceeds "
                f"limit {self.max_avg_ms}ms")


def _error_pct(metrics):
    total = _number(metrics, "total_requests")
    return 100.0 * _number(metrics, "failed_requests") / total if total else 0.0


def _success_pct(metrics):
    total = _number(metrics, "total_requests")
    if not total:
        return 100.0  # no requests: none failed
    ok = metrics.get("successful_requests")
    if ok is None:
        ok = total - _number(metrics, "failed_requests")
    return 100.0 * ok / total


class ErrorRateAssertion(PerformanceAssertion):
    """Failed requests in percent of all, at most ``max_error_rate``."""

    def __init__(self, max_error_rate, message=""):
        super().__init__(message)
        self.max_error_rate = max_error_rate

    @property
    def threshold(self):
        return ("error_rate", f"<= {self.max_error_rate:g}%")

    def check_metrics(self, metrics):
        return _error_pct(metrics) <= self.max_error_rate

    def describe(self, metrics):
        return f"Error rate {_error_pct(metrics):.2f}% exceeds limit {self.max_error_rate}%"


class SuccessRateAssertion(PerformanceAssertion):
    def __init__(self, min_success_rate, message=""):
        super().__init__(message)
        self.min_success_rate = min_success_rate

    @property
    def threshold(self):
        return ("error_rate", f"<= {100.0 - self.min_success_rate:g}%")

    def check_metrics(self, metrics):
        return _success_pct(metrics) >= self.min_success_rate

    def describe(self, metrics):
        return (f"Success rate {_success_pct(metrics):.2f}% is below minimum "
                f"{self.min_success_rate}%")


class MaxResponseTimeAssertion(PerformanceAssertion):
    def __init__(self, max_time_ms, message=""):
        super().__init__(message)
        self.max_time_ms = max_time_ms

    @property
    def threshold(self):
        return ("max_latency_ms", f"<= {self.max_time_ms:g}")

    def check_metrics(self, metrics):
        return _number(metrics, "max_response_time_us") / 1000.0 <= self.max_time_ms

    def describe(self, metrics):
        return (f"Maximum response time {_number(metrics, 'max_response_time_us') / 1000.0:.2f}ms "
                f"exceeds limit {self.max_time_ms}ms")


class PercentileResponseTimeAssertion(PerformanceAssertion):
    """The ``percentile``th (95, 99, 50) service time at most ``max_ms`` (ours: the original
    kept no percentiles)."""

    def __init__(self, percentile, max_ms, message=""):
        super().__init__(message)
        self.percentile = int(percentile)
        self.max_ms = max_ms

    @property
    def threshold(self):
        return (f"p{self.percentile}_latency_ms", f"<= {self.max_ms:g}")

    def check_metrics(self, metrics):
        return _number(metrics, f"p{self.percentile}_us") / 1000.0 <= self.max_ms

    def describe(self, metrics):
        return (f"p{self.percentile} response time "
                f"{_number(metrics, f'p{self.percentile}_us') / 1000.0:.2f}ms exceeds limit "
                f"{self.max_ms}ms")


class TotalRequestsAssertion(PerformanceAssertion):
    def __init__(self, min_requests, message=""):
        super().__init__(message)
        self.min_requests = min_requests

    def check_metrics(self, metrics):
        return _number(metrics, "total_requests") >= self.min_requests

    def describe(self, metrics):
        return (f"Total requests {_number(metrics, 'total_requests')} is below minimum "
                f"{self.min_requests}")


class CustomPerformanceAssertion(PerformanceAssertion):
    """``assertion_func(metrics) -> bool``, in Python (an exception counts as a failure)."""

    default_message = "Custom performance assertion failed"

    def __init__(self, assertion_func, message=""):
        super().__init__(message)
        self.assertion_func = assertion_func

    def check_metrics(self, metrics):
        try:
            return bool(self.assertion_func(metrics))
        except Exception:  # noqa: BLE001 - the user's condition could not be evaluated
            return False


class PerformanceAssertionGroup:
    """Assertions joined by AND (all must pass) or OR (one must); ``failed_assertions`` holds
    (assertion, message) of the last check's failures."""

    def __init__(self, logic="AND"):
        self.logic = logic.upper()
        self.assertions = []
        self.failed_assertions = []

    def add(self, assertion):
        self.assertions.append(assertion)
        return self

    def check_all_metrics(self, metrics):
        if self.logic not in ("AND", "OR"):
            raise ValueError(f"Unknown logic operator: {self.logic}")
        self.failed_assertions = []
        passed = []
        for a in self.assertions:
            ok = bool(a.check_metrics(metrics))
            passed.append(ok)
            if not ok:
                self.failed_assertions.append((a, a.get_metrics_error_message(metrics)))
        return all(passed) if self.logic == "AND" else any(passed)

    def check_metrics(self, metrics):
        return self.check_all_metrics(metrics)

    def get_failure_report(self):
        if not self.failed_assertions:
            return ""
        lines = [f"Performance assertion group ({self.logic}) failed:"]
        lines += [f"  {i}. {msg}" for i, (_, msg) in enumerate(self.failed_assertions, 1)]
        return "\n".join(lines)


def throughput_at_least(rps, message=""):
    return ThroughputAssertion(rps, message)


def avg_response_time_under(ms, message=""):
    return AverageResponseTimeAssertion(ms, message)


def error_rate_below(pct, message=""):
    return ErrorRateAssertion(pct, message)


def success_rate_at_least(pct, message=""):
    return SuccessRateAssertion(pct, message)


def max_response_time_under(ms, message=""):
    return MaxResponseTimeAssertion(ms, message)


def p95_response_time_under(ms, message=""):
    return PercentileResponseTimeAssertion(95, ms, message)


def p99_response_time_under(ms, message=""):
    return PercentileResponseTimeAssertion(99, ms, message)


def total_requests_at_least(n, message=""):
    return TotalRequestsAssertion(n, message)


def custom_performance_assertion(fn, message=""):
    return CustomPerformanceAssertion(fn, message)


def run_performance_assertions(metrics, assertions, fail_fast=False, raise_on_failure=False):
    """Evaluates each on ``metrics`` (a Result or a metrics dict), in order; ``fail_fast`` stops
    at the first failure. Returns (all passed, [the failures' messages])."""
    failures = []
    for a in assertions:
        if not a.check_metrics(metrics):
            failures.append(a.get_metrics_error_message(metrics))
            if fail_fast:
                break
    if failures and raise_on_failure:
        raise PerformanceAssertionFailed("; ".join(failures))
    return not failures, failures


def as_thresholds(assertions):
    """The assertions the engine can evaluate itself, as a [thresholds] dict for
    run_scenario(thresholds=...). Raises ValueError for one it cannot (custom ones, totals)."""
    out = {}
    for a in assertions:
        if a.threshold is None:
            raise ValueError(f"{a.name} runs in Python only; evaluate it with "
                             "run_performance_assertions(result, [...])")
        key, cond = a.threshold
        out.setdefault(key, [])
        out[key].append(cond)
    return {k: v[0] if len(v) == 1 else v for k, v in out.items()}
