"""Per-user sessions for Python user code (the original LoadSpiker API): isolated storage,
cookies from Set-Cookie, values extracted from responses, headers prepared from them.

Declarative scenarios do this in the engine (cookie_jar, extract=, ${var}); user code run by
the engine's client has a native cookie jar per VU too. This module serves code that handles
responses itself (``engine.execute_request`` results, the original examples).
"""

import re
import threading

from .utils import json_path_lookup

__all__ = ["SessionManager", "get_session_manager", "extract_value"]


def _headers(response):
    h = response["headers"] if "headers" in response else {}
    return list(h.items()) if isinstance(h, dict) else list(h)


def _body(response):
    b = response["body"]
    return b.decode("utf-8", "replace") if isinstance(b, bytes) else (b or "")


def extract_value(response, rule):
    """One rule ({"type": "json_path"|"header"|"cookie"|"regex", ...}) applied to a response;
    None when the response does not hold it."""
    kind = rule.get("type")
    if kind in ("json_path", "json"):
        ok, v = json_path_lookup(_body(response), rule["path"])
        return v if ok else None
    if kind == "header":
        name = rule["name"].lower()
        for k, v in _headers(response):
            if k.lower() == name:
                return v
        return None
    if kind == "cookie":
        for k, v in _headers(response):
            if k.lower() == "set-cookie":
                for part in v.split("\n"):
                    pair = part.split(";", 1)[0]
                    n, _, val = pair.partition("=")
                    if n.strip() == rule["name"]:
                        return val.strip()
        return None
    if kind == "regex":
        m = re.search(rule["pattern"], _body(response))
        return m.group(int(rule.get("group", 1))) if m else None
    raise ValueError(f"extraction rule {rule!r}: type must be json_path, header, cookie or regex")


class SessionManager:
    def __init__(self):
        self._lock = threading.Lock()
        self._sessions = {}

    def session(self, user_id):
        with self._lock:
            return self._sessions.setdefault(str(user_id), {"vars": {}, "cookies": {},
                                                            "headers": {}})

    def set(self, user_id, key, value):
        self.session(user_id)["vars"][key] = value

    def get(self, user_id, key, default=None):
        return self.session(user_id)["vars"].get(key, default)

    def set_header(self, user_id, name, value):
        self.session(user_id)["headers"][name] = value

    def clear(self, user_id=None):
        with self._lock:
            if user_id is None:
                self._sessions.clear()
            else:
                self._sessions.pop(str(user_id), None)

    def auto_handle_cookies(self, user_id, response):
        """Keeps the response's Set-Cookie values for the user's next requests."""
        jar = self.session(user_id)["cookies"]
        for k, v in _headers(response):
            if k.lower() == "set-cookie":
                for part in v.split("\n"):
                    name, _, value = part.split(";", 1)[0].partition("=")
                    if name.strip():
                        jar[name.strip()] = value.strip()
        return dict(jar)

    def process_response(self, user_id, response, extract_rules):
        """Applies each rule (with "variable") and stores what it found; returns the found
        values. A rule that finds nothing stores nothing."""
        found = {}
        for rule in extract_rules:
            v = extract_value(response, rule)
            if v is not None:
                found[rule["variable"]] = v
        self.session(user_id)["vars"].update(found)
        self.auto_handle_cookies(user_id, response)
        return found

    def prepare_request_headers(self, user_id, extra=None):
        """Headers for the user's next request: its Cookie, its auth headers, a bearer token
        from a "token" / "access_token" variable when no Authorization is set."""
        s = self.session(user_id)
        headers = dict(s["headers"])
        if s["cookies"]:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in s["cookies"].items())
        if "Authorization" not in headers:
            token = s["vars"].get("token") or s["vars"].get("access_token")
            if token:
                headers["Authorization"] = f"Bearer {token}"
        headers.update(extra or {})
        return headers


_manager = SessionManager()


def get_session_manager():
    return _manager
