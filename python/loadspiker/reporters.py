"""Reporters (the original LoadSpiker API). The files are the engine's outputs (the same JSON,
HTML, Markdown and CSV as ``loadspiker run -o``); the console reporter draws a live progress
line from the engine's per-second snapshots."""

import json
import sys
import time

from .result import Result
from .utils import format_duration_ms, format_number

__all__ = ["Reporter", "ConsoleReporter", "JSONReporter", "HTMLReporter", "MarkdownReporter",
           "CSVReporter", "MultiReporter"]


class Reporter:
    def start_reporting(self):
        pass

    def report_progress(self, snapshot):
        """Called each second during a run with the live numbers (a dict)."""

    def report_metrics(self, results):
        pass

    def end_reporting(self):
        pass


class ConsoleReporter(Reporter):
    def __init__(self, show_progress=True, stream=None):
        self.show_progress = show_progress
        self.stream = stream or sys.stderr
        self._tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self._last_line = 0.0
        self._drawn = False

    def start_reporting(self):
        self._started = time.monotonic()

    def report_progress(self, s):
        if not self.show_progress:
            return
        elapsed, total = s.get("elapsed_s", 0.0), s.get("duration_s", 0.0) or 0.0
        frac = min(1.0, elapsed / total) if total else 0.0
        width = 30
        bar = "#" * int(frac * width) + "-" * (width - int(frac * width))
        line = (f"[{bar}] {elapsed:5.1f}s  {format_number(s.get('requests', 0))} req  "
                f"{s.get('rps', 0):,.0f}/s  p95 {s.get('p95_ms', 0):.2f} ms  "
                f"{format_number(s.get('failed', 0))} failed  {s.get('vus', 0)} VUs")
        if self._tty:
            self.stream.write("\r" + line + "\x1b[K")
            self._drawn = True
        elif time.monotonic() - self._last_line >= 5 or s.get("finished"):
            self.stream.write(line + "\n")
            self._last_line = time.monotonic()
        self.stream.flush()

    def report_metrics(self, results):
        if self._drawn:
            self.stream.write("\n")
            self._drawn = False
        m = dict(results)
        out = self.stream
        out.write(f"Requests:    {format_number(m['total_requests'])} "
                  f"({format_number(m['successful_requests'])} ok, "
                  f"{format_number(m['failed_requests'])} failed)\n")
        out.write(f"Throughput:  {m['requests_per_second']:,.1f} req/s\n")
        out.write(f"Latency:     mean {format_duration_ms(m['avg_response_time_ms'])}, "
                  f"p95 {format_duration_ms(m['p95_us'] / 1000)}, "
                  f"p99 {format_duration_ms(m['p99_us'] / 1000)}, "
                  f"max {format_duration_ms(m['max_response_time_us'] / 1000)}\n")
        if isinstance(results, Result):
            for t in results.thresholds if isinstance(results.thresholds, list) else []:
                if isinstance(t, dict):
                    out.write(f"Threshold:   {t.get('metric', '')} {t.get('condition', '')}: "
                              f"{'pass' if t.get('passed') else 'FAIL'}\n")
        out.flush()


class _FileReporter(Reporter):
    def __init__(self, path):
        self.path = str(path)

    def report_metrics(self, results):
        if isinstance(results, Result):
            results.write(self.path, self.format)
        else:  # a plain metrics dict
            with open(self.path, "w", encoding="utf-8") as f:
                json.dump(dict(results), f, indent=2)


class JSONReporter(_FileReporter):
    format = "json"


class HTMLReporter(_FileReporter):
    format = "html"


class MarkdownReporter(_FileReporter):
    format = "md"


class CSVReporter(_FileReporter):
    format = "csv"


class MultiReporter(Reporter):
    def __init__(self, reporters):
        self.reporters = list(reporters)

    def start_reporting(self):
        for r in self.reporters:
            r.start_reporting()

    def report_progress(self, snapshot):
        for r in self.reporters:
            r.report_progress(snapshot)

    def report_metrics(self, results):
        for r in self.reporters:
            r.report_metrics(results)

    def end_reporting(self):
        for r in self.reporters:
            r.end_reporting()
