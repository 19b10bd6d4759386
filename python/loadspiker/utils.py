"""Helpers shared by the package: durations, JSONPath lookups, formatting."""

import json
import math
import re

__all__ = ["duration_text", "json_path_lookup", "format_duration_ms", "format_number"]

_DURATION = re.compile(r"^\s*\d+(\.\d+)?\s*(us|µs|ms|s|m|h)?(\s*\d+(\.\d+)?\s*(us|µs|ms|s|m|h))*\s*$")


def duration_text(value, what):
    """A duration as the engine reads it: a number of seconds (30, 0.5) or text ("30s",
    "1m30s", "500ms"). Raises ValueError naming ``what``."""
    if isinstance(value, bool) or value is None:
        raise ValueError(f"{what}: give seconds (30, 0.5) or text such as '30s' or '1m'")
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            raise ValueError(f"{what}: {value} is not a number of seconds; give a finite "
                             "duration such as 30 or '10m'")
        if value < 0:
            raise ValueError(f"{what}: {value} is negative; give seconds >= 0")
        ms = round(float(value) * 1000)
        if ms == 0 and value > 0:
            return f"{round(float(value) * 1e6)}us"
        return f"{ms // 1000}s" if ms % 1000 == 0 else f"{ms}ms"
    if isinstance(value, str) and _DURATION.match(value):
        return value.strip()
    raise ValueError(f"{what}: cannot read {value!r} as a duration; give seconds (30) or text "
                     "such as '30s', '500ms', '1m30s'")


_PART = re.compile(r"\.([A-Za-z_][\w-]*)|\[(\d+)\]|\[\*\]|\['([^']*)'\]|\[\"([^\"]*)\"\]")


def _parse_path(path):
    if not path.startswith("$"):
        path = "$." + path
    parts, i = [], 1
    while i < len(path):
        m = _PART.match(path, i)
        if not m:
            raise ValueError(f"JSONPath {path!r}: cannot read it at {path[i:]!r}; write $.a.b[0].c, "
                             "$['a'] or $.items[*].id")
        if m.group(1) is not None:
            parts.append(("key", m.group(1)))
        elif m.group(2) is not None:
            parts.append(("index", int(m.group(2))))
        elif m.group(3) is not None or m.group(4) is not None:
            parts.append(("key", m.group(3) if m.group(3) is not None else m.group(4)))
        else:
            parts.append(("all", None))
        i = m.end()
    return parts


def _walk(node, parts):
    if not parts:
        return True, node
    kind, arg = parts[0]
    if kind == "key" and isinstance(node, dict) and arg in node:
        return _walk(node[arg], parts[1:])
    if kind == "index" and isinstance(node, list) and arg < len(node):
        return _walk(node[arg], parts[1:])
    if kind == "all":
        items = node if isinstance(node, list) else list(node.values()) if isinstance(node, dict) \
            else []
        for item in items:  # the first match, as the engine takes it
            ok, v = _walk(item, parts[1:])
            if ok:
                return True, v
    return False, None


def json_path_lookup(body, path):
    """(found, value) of ``path`` in ``body`` (JSON text or an already parsed object)."""
    if isinstance(body, (bytes, bytearray)):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            return False, None
    return _walk(body, _parse_path(path))


def format_duration_ms(ms):
    if ms < 1:
        return f"{ms * 1000:.0f} µs"
    if ms < 1000:
        return f"{ms:.2f} ms"
    return f"{ms / 1000:.2f} s"


def format_number(n):
    if isinstance(n, float) and n != int(n):
        return f"{n:,.1f}"
    return f"{int(n):,}"
