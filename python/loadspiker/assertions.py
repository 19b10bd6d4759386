"""Response assertions (the original LoadSpiker API).

An assertion attached to a scenario's request is compiled to a native check: the engine runs
it on every response, without Python. The same objects also evaluate a response in Python
(``run_assertions``, ``engine.execute_request`` results, user code), where
``custom_assertion`` runs too.
"""

import re

from .utils import json_path_lookup

__all__ = [
    "Assertion", "status_is", "response_time_under", "body_contains", "body_not_contains",
    "body_matches", "json_path", "header_exists", "custom_assertion", "and_", "or_",
    "all_of", "any_of", "AndAssertion", "OrAssertion", "run_assertions", "AssertionFailed",
]


class AssertionFailed(AssertionError):
    """Raised by ``run_assertions(..., raise_on_failure=True)``."""


def _get(response, key, default=None):
    if isinstance(response, dict) or hasattr(response, "__getitem__"):
        try:
            return response[key]
        except (KeyError, TypeError):
            pass
    return getattr(response, key, default)


def _headers(response):
    h = _get(response, "headers") or {}
    return {str(k).lower(): v for k, v in dict(h).items()}


def _body(response):
    b = _get(response, "body", "")
    if isinstance(b, bytes):
        b = b.decode("utf-8", "replace")
    return b or ""


def _quoted(text):
    text = str(text)
    if "\n" in text:
        raise ValueError(f"{text!r}: a check's text is one line; use body_matches with \\n")
    return '"' + text + '"'


class Assertion:
    """A condition on one response. ``check`` is its native form (None: Python only)."""

    name = "assertion"
    check = None

    def evaluate(self, response):
        """(passed, message)"""
        raise NotImplementedError

    def __call__(self, response):
        return self.evaluate(response)[0]

    def __and__(self, other):
        return AndAssertion([self, other])

    def __or__(self, other):
        return OrAssertion([self, other])

    def native(self):
        """The engine's condition text; raises ValueError for one that runs in Python only."""
        if self.check is None:
            raise ValueError(
                f"{self.name} runs in Python: it cannot be a native check of a declarative "
                "scenario; use it in user code (run_custom_test, @scenario, async VUs) or "
                "run_assertions()")
        return self.check

    def __repr__(self):
        return f"<{self.name}: {self.check or 'python'}>"


class _Simple(Assertion):
    def __init__(self, name, check, fn, describe):
        self.name, self.check, self._fn, self._describe = name, check, fn, describe

    def evaluate(self, response):
        try:
            ok = bool(self._fn(response))
        except Exception as e:  # a response that cannot be read the way the check needs
            return False, f"{self.name}: {e}"
        return ok, "" if ok else self._describe(response)


def status_is(code):
    """status == code, or status in a list of codes."""
    if isinstance(code, (list, tuple, set)):
        codes = sorted(int(c) for c in code)
        return _Simple(f"status_is({codes})", f"status in [{', '.join(map(str, codes))}]",
                       lambda r: int(_get(r, "status_code", 0)) in codes,
                       lambda r: f"status {_get(r, 'status_code')} not in {codes}")
    code = int(code)
    return _Simple(f"status_is({code})", f"status == {code}",
                   lambda r: int(_get(r, "status_code", 0)) == code,
                   lambda r: f"status {_get(r, 'status_code')} != {code}")


def response_time_under(ms):
    ms = float(ms)
    text = f"{int(ms)}ms" if ms == int(ms) else f"{int(ms * 1000)}us"
    return _Simple(f"response_time_under({ms:g})", f"latency < {text}",
                   lambda r: float(_get(r, "response_time_us", 0)) / 1000.0 < ms,
                   lambda r: f"response time {float(_get(r, 'response_time_us', 0)) / 1000:.3f} "
                             f"ms >= {ms:g} ms")


def body_contains(text):
    return _Simple(f"body_contains({text!r})", f"body contains {_quoted(text)}",
                   lambda r: str(text) in _body(r), lambda r: f"body does not contain {text!r}")


def body_not_contains(text):
    return _Simple(f"body_not_contains({text!r})", f"body not contains {_quoted(text)}",
                   lambda r: str(text) not in _body(r), lambda r: f"body contains {text!r}")


def body_matches(pattern):
    compiled = re.compile(pattern)
    return _Simple(f"body_matches({pattern!r})", f"body matches {_quoted(pattern)}",
                   lambda r: compiled.search(_body(r)) is not None,
                   lambda r: f"body does not match {pattern!r}")


def _json_literal(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    return _quoted(v)


def json_path(path, expected=None, exists=None):
    """The JSON body at ``path`` ($.a.b[0].c, $['a'], $.items[*].id) exists, or equals
    ``expected``; ``exists=False``: it must not exist (Python only)."""
    path = path if path.startswith("$") else "$." + path

    def found(r):
        return json_path_lookup(_body(r), path)

    if expected is None:
        if exists is False:
            return _Simple(f"json_path({path!r}, exists=False)", None,
                           lambda r: not found(r)[0], lambda r: f"{path} exists")
        return _Simple(f"json_path({path!r})", f"json {path} exists",
                       lambda r: found(r)[0], lambda r: f"{path} not found in the body")

    def equal(r):
        ok, v = found(r)
        if not ok:
            return False
        if isinstance(expected, bool) or expected is None:
            return v is expected
        if isinstance(expected, (int, float)) and isinstance(v, (int, float)):
            return float(v) == float(expected)
        return str(v) == str(expected) if not isinstance(v, (dict, list)) else v == expected

    return _Simple(f"json_path({path!r}, {expected!r})", f"json {path} == {_json_literal(expected)}",
                   equal, lambda r: f"{path} is {found(r)[1]!r}, expected {expected!r}")


def header_exists(name, value=None):
    """A header named ``name`` (any case), equal to ``value`` when given."""
    key = name.lower()
    if value is None:
        return _Simple(f"header_exists({name!r})", f"header {name} exists",
                       lambda r: key in _headers(r), lambda r: f"no {name} header")
    return _Simple(f"header_exists({name!r}, {value!r})", f"header {name} == {_quoted(value)}",
                   lambda r: _headers(r).get(key) == value,
                   lambda r: f"header {name} is {_headers(r).get(key)!r}, expected {value!r}")


def custom_assertion(fn, name=None):
    """``fn(response) -> bool``: runs in Python (user code and run_assertions)."""
    return _Simple(name or f"custom_assertion({getattr(fn, '__name__', 'fn')})", None, fn,
                   lambda r: f"{name or getattr(fn, '__name__', 'custom assertion')} failed")


class AndAssertion(Assertion):
    def __init__(self, parts):
        self.parts = list(parts)
        self.name = "and(" + ", ".join(p.name for p in self.parts) + ")"

    @property
    def check(self):
        if any(p.check is None for p in self.parts):
            return None
        # && binds tighter than || in the engine: an OR inside an AND is distributed
        # ((a || b) && c == a && c || b && c), exactly.
        terms = [[]]
        for p in self.parts:
            alternatives = [t.strip() for t in p.check.split(" || ")]
            terms = [t + [a] for t in terms for a in alternatives]
        return " || ".join(" && ".join(t) for t in terms)

    def evaluate(self, response):
        for p in self.parts:
            ok, msg = p.evaluate(response)
            if not ok:
                return False, msg
        return True, ""


class OrAssertion(Assertion):
    def __init__(self, parts):
        self.parts = list(parts)
        self.name = "or(" + ", ".join(p.name for p in self.parts) + ")"

    @property
    def check(self):
        if any(p.check is None for p in self.parts):
            return None
        return " || ".join(p.check for p in self.parts)

    def evaluate(self, response):
        msgs = []
        for p in self.parts:
            ok, msg = p.evaluate(response)
            if ok:
                return True, ""
            msgs.append(msg)
        return False, " and ".join(msgs)


def and_(*parts):
    return AndAssertion(parts)


def or_(*parts):
    return OrAssertion(parts)


all_of = and_
any_of = or_


def run_assertions(response, assertions, raise_on_failure=False):
    """Evaluates every assertion on ``response`` in Python. Returns (all_passed, [messages of
    the failed ones]); with ``raise_on_failure``, raises AssertionFailed instead."""
    failures = []
    for a in assertions:
        ok, msg = a.evaluate(response)
        if not ok:
            failures.append(msg)
    if failures and raise_on_failure:
        raise AssertionFailed("; ".join(failures))
    return not failures, failures
