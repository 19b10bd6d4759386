"""A run's result: the original metrics dict and the engine's full JSON result in one object."""

import json
from collections.abc import Mapping

__all__ = ["Result", "metrics_from_json"]


def metrics_from_json(data):
    """The original LoadSpiker metrics dict from a JSON result."""
    s = data.get("summary", {})
    lat = data.get("latency_us", {})
    total = int(s.get("total_requests", 0))
    return {
        "total_requests": total,
        "successful_requests": int(s.get("successful", 0)),
        "failed_requests": int(s.get("failed", 0)),
        "total_response_time_us": int(round(lat.get("mean", 0) * lat.get("count", 0))),
        "min_response_time_us": int(lat.get("min", 0)),
        "max_response_time_us": int(lat.get("max", 0)),
        "requests_per_second": float(s.get("requests_per_sec", 0.0)),
        "p50_us": int(lat.get("p50", 0)),
        "p95_us": int(lat.get("p95", 0)),
        "p99_us": int(lat.get("p99", 0)),
        "avg_response_time_ms": float(lat.get("mean", 0.0)) / 1000.0,
        "error_rate": float(s.get("error_rate", 0.0)) * 100.0,  # percent, as the original
        "duration_secs": float(s.get("elapsed_secs", 0.0)),
    }


class Result(Mapping):
    """``result["total_requests"]`` ... as the original metrics dict; ``result.data`` is the
    JSON result (Kaioken's schema plus LoadSpiker's fields), ``result.exit_code`` what
    ``loadspiker run`` would exit with (0 ok, 1 error, 4 thresholds failed, 130 interrupted)."""

    def __init__(self, json_text, exit_code=0, interrupted=False, extra=None):
        self._json = json_text
        self.data = json.loads(json_text)
        self.exit_code = exit_code
        self.interrupted = interrupted
        self.metrics = metrics_from_json(self.data)
        self.extra = dict(extra or {})  # user-code runs: iterations, Python checks, errors
        self.metrics.update({k: v for k, v in self.extra.items() if k not in self.metrics})

    # the metrics dict
    def __getitem__(self, key):
        return self.metrics[key]

    def __iter__(self):
        return iter(self.metrics)

    def __len__(self):
        return len(self.metrics)

    def __repr__(self):
        m = self.metrics
        return (f"<Result {m['total_requests']} requests, {m['requests_per_second']:.1f}/s, "
                f"p99 {m['p99_us'] / 1000:.2f} ms, {m['failed_requests']} failed, "
                f"exit {self.exit_code}>")

    @property
    def passed(self):
        """No threshold failed, no run error, not interrupted."""
        return self.exit_code == 0

    @property
    def thresholds(self):
        return self.data.get("thresholds", {}).get("results", []) \
            if isinstance(self.data.get("thresholds"), dict) else self.data.get("thresholds", [])

    @property
    def checks(self):
        """Per check: passed, failed, total, pass_rate (native checks as "step: condition";
        user code's vu.check() by name)."""
        out = {}
        for name, c in (self.data.get("checks") or {}).get("results", {}).items():
            out[name] = {"passed": c["passed"], "total": c["total"],
                         "failed": c["total"] - c["passed"], "pass_rate": c["pass_rate"]}
        for name, c in self.extra.get("checks", {}).items():
            out[name] = {"passed": c["passed"], "total": c["total"], "failed": c["failed"],
                         "pass_rate": c["rate"]}
        return out

    @property
    def steps(self):
        """Per step (journeys: name without its scenario's prefix, requests, failed, ...) or,
        for user code, per request name."""
        journey = (self.data.get("journeys") or {}).get("steps")
        if journey:
            out = []
            for st in journey:
                prefix = st.get("scenario", "") + "/"
                out.append(dict(st, name=st["name"][len(prefix):]
                                if st["name"].startswith(prefix) else st["name"]))
            return out
        return self.data.get("scenarios", [])

    def step(self, name):
        for st in self.steps:
            if st["name"] == name:
                return st
        raise KeyError(f"no step named {name!r}; the steps: "
                       f"{', '.join(st['name'] for st in self.steps)}")

    @property
    def status_codes(self):
        return {int(k): v for k, v in self.data.get("status_codes", {}).items()}

    @property
    def errors(self):
        return dict(self.data.get("errors", {}))

    def percentile(self, p):
        """Service-time latency at percentile ``p`` (0..100), in milliseconds, exact from the
        run's HDR histogram."""
        if not 0 <= p <= 100:
            raise ValueError(f"percentile: {p} is not between 0 and 100")
        hist = self.data.get("histograms", {}).get("latency_us")
        if not hist:
            return 0.0
        from . import _engine
        return _engine.percentile(hist, float(p)) / 1000.0

    def to_json(self, indent=None):
        if indent is None:
            return self._json
        return json.dumps(self.data, indent=indent)

    def write(self, path, format=""):
        """Writes the result in the format of ``path``'s extension (.json, .html, .md, .csv,
        .xml, .hlog, .series.csv, .jsonl), as ``loadspiker run -o`` does."""
        from . import _engine
        text = _engine.render(self._json, str(path), format)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path
