"""A small TOML writer for the plans the Python front end hands the engine.

The engine's journey reader is the one place that checks and compiles scenarios (the same as
for ``loadspiker run file.toml``), so a Python scenario is written as that document:
``Scenario.to_toml()`` shows it, and the CLI runs the same text.
"""

import json
import math
import re

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _key(k):
    k = str(k)
    return k if _BARE_KEY.match(k) else _string(k)


def _string(s):
    # JSON's escapes are TOML's (\" \\ \n \t \uXXXX); DEL must be escaped in TOML too.
    return json.dumps(s, ensure_ascii=False).replace("\x7f", "\\u007f")


def _value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return _string(v)
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_value(x)}" for k, x in v.items()) + " }" \
            if v else "{}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {type(v).__name__} {v!r} into a plan; use str, int, "
                    "float, bool, list or dict")


def _table(lines, path, table, array_keys, top):
    nested = []
    for k, v in table.items():
        if v is None:
            continue
        if k in array_keys and isinstance(v, list) and all(isinstance(x, dict) for x in v):
            nested.append(("array", k, v))
        elif top and isinstance(v, dict):
            nested.append(("table", k, v))
        else:
            lines.append(f"{_key(k)} = {_value(v)}")
    for kind, k, v in nested:
        sub = f"{path}.{_key(k)}" if path else _key(k)
        if kind == "table":
            lines.append("")
            lines.append(f"[{sub}]")
            _table(lines, sub, v, array_keys, top=False)
        else:
            for item in v:
                lines.append("")
                lines.append(f"[[{sub}]]")
                _table(lines, sub, item, array_keys, top=False)


def dumps(doc, array_keys=("scenarios", "steps", "stages")):
    """``doc`` as TOML: top-level dicts become [tables], lists of dicts under ``array_keys``
    become [[arrays of tables]], everything else is written inline."""
    lines = []
    _table(lines, "", doc, set(array_keys), top=True)
    return "\n".join(lines).lstrip("\n") + "\n"
