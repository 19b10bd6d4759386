"""Performance assertions (the original LoadSpiker API): conditions on a run's metrics.

They evaluate in Python on the real result (``run_performance_assertions(result, [...])``).
Passed to ``run_scenario(thresholds=as_thresholds([...]))`` they become the engine's
thresholds instead: evaluated live and at the end, in the JSON result, exit code 4 on failure.
"""

__all__ = [
    "PerformanceAssertion", "throughput_at_least", "avg_response_time_under",
    "error_rate_below", "success_rate_at_least", "max_response_time_under",
    "total_requests_at_least", "p95_response_time_under", "p99_response_time_under",
    "custom_performance_assertion", "run_performance_assertions", "as_thresholds",
    "PerformanceAssertionFailed",
]


class PerformanceAssertionFailed(AssertionError):
    pass


class PerformanceAssertion:
    def __init__(self, name, fn, describe, threshold=None):
        self.name = name
        self._fn = fn
        self._describe = describe
        self.threshold = threshold  # (key, condition) for the engine's [thresholds]; or None

    def evaluate(self, metrics):
        """(passed, message) for a metrics dict or a Result."""
        try:
            ok = bool(self._fn(metrics))
        except KeyError as e:
            return False, f"{self.name}: the metrics have no {e}"
        return ok, f"{self.name}: " + self._describe(metrics)

    def __call__(self, metrics):
        return self.evaluate(metrics)[0]

    def __repr__(self):
        return f"<{self.name}>"


def _total(m):
    return m["total_requests"]


def _error_pct(m):
    return 100.0 * m["failed_requests"] / m["total_requests"] if m["total_requests"] else 0.0


def throughput_at_least(rps):
    rps = float(rps)
    return PerformanceAssertion(f"throughput_at_least({rps:g})",
                                lambda m: m["requests_per_second"] >= rps,
                                lambda m: f"{m['requests_per_second']:.1f} req/s (want >= {rps:g})",
                                ("rps", f">= {rps:g}"))


def avg_response_time_under(ms):
    ms = float(ms)
    return PerformanceAssertion(f"avg_response_time_under({ms:g})",
                                lambda m: m["avg_response_time_ms"] < ms,
                                lambda m: f"mean {m['avg_response_time_ms']:.3f} ms (want < {ms:g})",
                                ("mean_latency_ms", f"< {ms:g}"))


def max_response_time_under(ms):
    ms = float(ms)
    return PerformanceAssertion(f"max_response_time_under({ms:g})",
                                lambda m: m["max_response_time_us"] / 1000.0 < ms,
                                lambda m: f"max {m['max_response_time_us'] / 1000:.3f} ms "
                                          f"(want < {ms:g})",
                                ("max_latency_ms", f"< {ms:g}"))


def p95_response_time_under(ms):
    ms = float(ms)
    return PerformanceAssertion(f"p95_response_time_under({ms:g})",
                                lambda m: m["p95_us"] / 1000.0 < ms,
                                lambda m: f"p95 {m['p95_us'] / 1000:.3f} ms (want < {ms:g})",
                                ("p95_latency_ms", f"< {ms:g}"))


def p99_response_time_under(ms):
    ms = float(ms)
    return PerformanceAssertion(f"p99_response_time_under({ms:g})",
                                lambda m: m["p99_us"] / 1000.0 < ms,
                                lambda m: f"p99 {m['p99_us'] / 1000:.3f} ms (want < {ms:g})",
                                ("p99_latency_ms", f"< {ms:g}"))


def error_rate_below(pct):
    pct = float(pct)
    return PerformanceAssertion(f"error_rate_below({pct:g}%)", lambda m: _error_pct(m) < pct,
                                lambda m: f"{_error_pct(m):.2f}% failed (want < {pct:g}%)",
                                ("error_rate", f"< {pct:g}%"))


def success_rate_at_least(pct):
    pct = float(pct)
    return PerformanceAssertion(
        f"success_rate_at_least({pct:g}%)",
        lambda m: _total(m) > 0 and 100.0 - _error_pct(m) >= pct,
        lambda m: f"{100.0 - _error_pct(m) if _total(m) else 0:.2f}% succeeded (want >= {pct:g}%)",
        ("error_rate", f"<= {100.0 - pct:g}%"))


def total_requests_at_least(n):
    n = int(n)
    return PerformanceAssertion(f"total_requests_at_least({n})", lambda m: _total(m) >= n,
                                lambda m: f"{_total(m)} requests (want >= {n})")


def custom_performance_assertion(fn, name=None):
    """``fn(metrics) -> bool``, in Python."""
    label = name or getattr(fn, "__name__", "custom")
    return PerformanceAssertion(f"custom_performance_assertion({label})", fn,
                                lambda m: "passed" if fn(m) else "failed")


def run_performance_assertions(metrics, assertions, raise_on_failure=False):
    """Evaluates each on ``metrics`` (a Result or the metrics dict). Returns (all_passed,
    [(name, passed, message)])."""
    results = []
    for a in assertions:
        ok, msg = a.evaluate(metrics)
        results.append((a.name, ok, msg))
    passed = all(ok for _, ok, _ in results)
    if not passed and raise_on_failure:
        raise PerformanceAssertionFailed("; ".join(m for _, ok, m in results if not ok))
    return passed, results


def as_thresholds(assertions):
    """The assertions the engine can evaluate itself, as a [thresholds] dict for
    run_scenario(thresholds=...). Raises ValueError for one it cannot (custom ones)."""
    out = {}
    for a in assertions:
        if a.threshold is None:
            raise ValueError(f"{a.name} runs in Python only; evaluate it with "
                             "run_performance_assertions(result, [...])")
        key, cond = a.threshold
        out.setdefault(key, [])
        out[key].append(cond)
    return {k: v[0] if len(v) == 1 else v for k, v in out.items()}
