"""Declarative scenarios (the original LoadSpiker API), compiled to the engine's plan.

A scenario is a list of steps (HTTP requests, WebSocket actions, or steps of a registered
protocol such as tcp.send / udp.receive) with variables, CSV data, assertions compiled to
native checks, extraction and authentication. ``Engine.run_scenario`` runs it on every worker
thread at native speed: Python is not called per request. ``to_toml()`` shows the plan as the
TOML file ``loadspiker run`` would run the same way.
"""

import json
import os
import re

from . import _toml
from .assertions import Assertion
from .utils import duration_text

__all__ = [
    "HTTPRequest", "Step", "Scenario", "RESTAPIScenario", "WebsiteScenario", "WebSocketScenario",
    "TCPScenario", "UDPScenario", "MixedProtocolScenario", "DatabaseScenario", "MQTTScenario",
    "ProtocolNotAvailable", "extract_spec",
]

STRATEGIES = {"sequential": "sequential", "random": "random", "circular": "circular",
              "unique": "unique", "shared": "circular", "per-vu": "per-vu", "per_vu": "per-vu"}


class ProtocolNotAvailable(NotImplementedError):
    """A protocol this build's engine does not speak yet."""


# The engine's bound on a scenario's steps (plan::kMaxSteps).
MAX_STEPS = 64


def _protocols():
    from . import _engine
    return _engine.protocols()


def extract_spec(rule):
    """One extraction rule as the engine reads it: "json:$.a", "header:Name", "cookie:name",
    "regex:PATTERN:GROUP", from that text or from the original API's rule dict
    ({"type": "json_path", "path": "user.id", "variable": "user_id"})."""
    if isinstance(rule, str):
        return rule
    kind = rule.get("type")
    if kind in ("json_path", "json"):
        path = rule["path"]
        return "json:" + (path if path.startswith("$") else "$." + path)
    if kind == "header":
        return "header:" + rule["name"]
    if kind == "cookie":
        return "cookie:" + rule["name"]
    if kind == "regex":
        return f"regex:{rule['pattern']}:{int(rule.get('group', 1))}"
    raise ValueError(f"extraction rule {rule!r}: type must be json_path, header, cookie or regex")


def _extract_table(extract):
    if extract is None:
        return None
    if isinstance(extract, dict):
        return {k: extract_spec(v) for k, v in extract.items()}
    out = {}
    for rule in extract:
        if "variable" not in rule:
            raise ValueError(f"extraction rule {rule!r} has no 'variable' to store the value in")
        out[rule["variable"]] = extract_spec(rule)
    return out


def _checks(assertions):
    if not assertions:
        return None
    out = []
    for a in assertions:
        if isinstance(a, str):
            out.append(a)
        elif isinstance(a, Assertion):
            out.append(a.native())
        else:
            raise ValueError(f"{a!r} is not an assertion; use loadspiker.assertions "
                             "(status_is, json_path, ...) or a check string")
    return out


class Step:
    """One step of a scenario, as the engine's journey reader takes it (``keys``: the step's
    TOML keys)."""

    def __init__(self, action=None, name=None, assertions=None, extract=None, **keys):
        self.action = action
        self.name = name
        self.assertions = list(assertions or [])
        self.extract = extract
        self.keys = {k: v for k, v in keys.items() if v is not None}

    def to_step(self, name, substitute, scenario_assertions=()):
        step = {"name": name}
        if self.action:
            step["action"] = self.action
        for k, v in self.keys.items():
            step[k] = substitute(v)
        checks = _checks(list(scenario_assertions) + self.assertions if
                         self.action in (None, "http") else self.assertions)
        if checks:
            step["checks"] = list(step.get("checks", [])) + checks
        ex = _extract_table(self.extract)
        if ex:
            step["extract"] = ex
        return step

    def default_name(self):
        if self.action and self.action != "http":
            return self.action
        return f"{self.keys.get('method', 'GET')} {self.keys.get('url', '')}"


class HTTPRequest(Step):
    """An HTTP request step. ``body`` (text), ``json`` (an object sent as JSON), ``form``
    (url-encoded) or ``multipart``; ``assertions`` become native checks; ``extract`` stores
    values in per-VU variables (``${name}`` in later steps); ``once``: per VU (a login)."""

    def __init__(self, url, method="GET", headers=None, body=None, name=None, json=None,
                 form=None, multipart=None, query=None, assertions=None, extract=None,
                 timeout=None, think_time=None, once=None, depends_on=None, if_=None, tags=None,
                 auth=None, timeout_ms=None):
        if not isinstance(url, str) or not url:
            raise ValueError(f"HTTPRequest: url must be a non-empty string, not {url!r}")
        method = str(method).upper()
        if not re.match(r"^[A-Z]+$", method):
            raise ValueError(f"HTTPRequest: {method!r} is not an HTTP method")
        if body == "":
            body = None
        if timeout_ms is not None:
            timeout = int(timeout_ms) / 1000.0
        super().__init__(
            None, name=name, assertions=assertions, extract=extract, url=url,
            method=None if method == "GET" else method, headers=dict(headers) if headers else None,
            body=body, json=json, form=form, multipart=multipart, query=query,
            timeout=None if timeout is None else duration_text(timeout, "timeout"),
            think_time=_think(think_time), once=once or None,
            depends_on=depends_on, tags=tags, auth=auth)
        self.keys.pop("if", None)
        if if_ is not None:
            self.keys["if"] = if_
        self.method, self.url = method, url


def _think(t):
    if t is None:
        return None
    if isinstance(t, (tuple, list)):
        lo, hi = t
        return f"{duration_text(lo, 'think_time')}..{duration_text(hi, 'think_time')}"
    if isinstance(t, str) and (".." in t or t.startswith("exp:")):
        return t
    return duration_text(t, "think_time")


class Scenario:
    """A named list of steps, run in a loop by each virtual user."""

    def __init__(self, name="Scenario", base_url=None):
        self.name = name
        self.base_url = base_url
        self.steps = []
        self.variables = {}
        self.headers = {}
        self.data = {}  # name -> {file, strategy, ...}
        self.assertions = []  # applied to every HTTP step
        self.think_time = None
        self.cookie_jar = False
        self.follow_redirects = None
        self.timeout = None
        self.weight = 1
        self.auth = None  # an authentication flow (loadspiker.authentication)
        self.tags = None

    # --- building ---

    def add_request(self, request):
        if not isinstance(request, Step):
            raise ValueError(f"add_request takes an HTTPRequest or a Step, not {request!r}")
        self.steps.append(request)
        return request

    add_step = add_request

    def request(self, method, url, **kw):
        return self.add_request(HTTPRequest(url, method=method, **kw))

    def get(self, url, headers=None, **kw):
        return self.request("GET", url, headers=headers, **kw)

    def graphql(self, url, query, variables=None, operation_name=None, name=None,
                assertions=None, extract=None, **kw):
        """A GraphQL step: the query and variables POSTed as JSON; a response with errors
        fails it (``graphql.errors == 0``)."""
        return self.step("graphql", url, name=name, assertions=assertions, extract=extract,
                         query=query, variables=variables, operation_name=operation_name, **kw)

    def grpc(self, url, call, message=None, proto=None, metadata=None, name=None,
             assertions=None, extract=None, **kw):
        """A gRPC call step: ``call`` is "package.Service/Method", ``message`` a dict or JSON
        text (${...} allowed; a list for client streams), ``proto`` a .proto file (or
        ``reflect="true"``), ``metadata`` a dict. Checks read ``grpc_status`` and the reply
        as JSON."""
        if isinstance(message, (dict, list)):
            message = json.dumps(message)
        lines = [f"{k}: {v}" for k, v in (metadata or {}).items()] or None
        return self.step("grpc", url, message, name=name, assertions=assertions,
                         extract=extract, call=call, proto=proto, metadata=lines, **kw)

    def post(self, url, body=None, headers=None, **kw):
        return self.request("POST", url, body=body, headers=headers, **kw)

    def put(self, url, body=None, headers=None, **kw):
        return self.request("PUT", url, body=body, headers=headers, **kw)

    def patch(self, url, body=None, headers=None, **kw):
        return self.request("PATCH", url, body=body, headers=headers, **kw)

    def delete(self, url, headers=None, **kw):
        return self.request("DELETE", url, headers=headers, **kw)

    def head(self, url, headers=None, **kw):
        return self.request("HEAD", url, headers=headers, **kw)

    def step(self, action, url=None, body=None, name=None, assertions=None, extract=None, **keys):
        """A step of any action: "ws.connect", "ws.send", "ws.receive", "ws.close", or a
        registered protocol's ("tcp.send", "udp.receive", ...) with its keys."""
        return self.add_step(Step(action, name=name, assertions=assertions, extract=extract,
                                  url=url, body=body, **keys))

    def __getattr__(self, attr):
        # Registered protocols' actions as methods: scenario.tcp_send(url, body), ...
        if attr.startswith("_") or "_" not in attr:
            raise AttributeError(attr)
        action = attr.replace("_", ".", 1)
        for p in _protocols():
            for a in p["actions"]:
                if a["name"] == action:
                    return lambda url=None, body=None, **kw: self.step(action, url, body, **kw)
        raise AttributeError(f"{type(self).__name__} has no attribute {attr!r} (and "
                             f"'{action}' is not an action of a protocol this engine has)")

    def set_variable(self, key, value):
        if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", str(key)):
            raise ValueError(f"set_variable: {key!r} is not a variable name (letters, digits, _)")
        self.variables[str(key)] = value

    def set_header(self, name, value):
        self.headers[name] = value

    def add_assertion(self, assertion):
        self.assertions.append(assertion)

    def set_think_time(self, low, high=None):
        self.think_time = _think(low if high is None else (low, high))

    def set_auth(self, flow):
        self.auth = flow

    def load_data_file(self, path, strategy="sequential", name=None, on_exhausted=None):
        """CSV (header row) or JSON array of objects; its columns are ``${name.column}`` in
        steps. Strategies: sequential, random, circular, unique, shared (one cursor for all
        VUs, as circular), per-vu. Returns the table's name."""
        if strategy not in STRATEGIES:
            raise ValueError(f"load_data_file: strategy {strategy!r}: use one of "
                             f"{', '.join(sorted(STRATEGIES))}")
        full = os.path.abspath(path)
        if not os.path.isfile(full):
            raise ValueError(f"load_data_file: cannot read {path!r}; check the path")
        if name is None:
            name = re.sub(r"[^a-z0-9_]", "_", os.path.splitext(os.path.basename(path))[0].lower())
            if not name or name[0].isdigit():
                name = "data_" + name
        table = {"file": full, "strategy": STRATEGIES[strategy]}
        if on_exhausted:
            table["on_exhausted"] = on_exhausted
        self.data[name] = table
        return name

    # --- hooks ---

    def setup(self):
        """Called (in Python) before the run starts."""

    def teardown(self):
        """Called (in Python) after the run ends."""

    # --- compiling ---

    def _substitute(self, value):
        if not self.variables:
            return value
        if isinstance(value, str):
            def one(m):
                k = m.group(1)
                return str(self.variables[k]) if k in self.variables else m.group(0)
            return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", one, value)
        if isinstance(value, dict):
            return {self._substitute(k): self._substitute(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self._substitute(v) for v in value]
        return value

    def scenario_table(self):
        """This scenario as one [[scenarios]] entry."""
        if not self.steps:
            raise ValueError(f"scenario {self.name!r} has no requests; add some with get(), "
                             "post(), add_request() or step()")
        if len(self.steps) > MAX_STEPS:  # refused before anything is built from them
            raise ValueError(f"scenario {self.name!r} has {len(self.steps):,} steps; a scenario "
                             f"holds at most {MAX_STEPS} (split it into several scenarios, or "
                             "loop in Python user code)")
        steps, names = [], set()
        for s in self.steps:
            name = s.name or s.default_name()
            base, n = name, 2
            while name in names:
                name = f"{base} #{n}"
                n += 1
            names.add(name)
            steps.append(s.to_step(name, self._substitute, self.assertions))
        table = {"name": self.name, "weight": self.weight if self.weight != 1 else None,
                 "think_time": self.think_time, "tags": self.tags}
        if self.auth is not None:
            extra = self.auth.step_headers()
            for st in steps:
                if extra and st.get("action") in (None, "http"):
                    st["headers"] = {**extra, **st.get("headers", {})}
            steps = self.auth.login_steps(self) + steps
        table["steps"] = steps
        return table

    def defaults_table(self):
        d = {}
        if self.base_url:
            d["base_url"] = self.base_url.rstrip("/")
        if self.headers:
            d["headers"] = self._substitute(dict(self.headers))
        if self.timeout is not None:
            d["timeout"] = duration_text(self.timeout, "timeout")
        if self.cookie_jar:
            d["cookie_jar"] = True
        if self.follow_redirects is not None:
            d["follow_redirects"] = bool(self.follow_redirects)
        if self.auth is not None:
            d.update(self.auth.defaults(self))
        return d

    def plan(self, load=None, thresholds=None):
        """The plan document (a dict in the TOML file's shape)."""
        return build_plan([self], load=load, thresholds=thresholds)

    def to_toml(self, load=None, thresholds=None):
        return _toml.dumps(self.plan(load, thresholds))


def build_plan(scenarios, load=None, thresholds=None):
    """Scenarios sharing one load (by weight) as one plan document."""
    first = scenarios[0]
    doc = {}
    defaults = first.defaults_table()
    for s in scenarios[1:]:
        other = s.defaults_table()
        for k, v in other.items():
            if k in defaults and defaults[k] != v:
                raise ValueError(f"scenarios {first.name!r} and {s.name!r} set different "
                                 f"defaults for {k!r}; give them the same or run them apart")
            defaults[k] = v
    if defaults:
        doc["defaults"] = defaults
    data = {}
    for s in scenarios:
        data.update(s.data)
    if data:
        doc["data"] = data
    if load:
        doc["load"] = {k: v for k, v in load.items() if k != "stages" and v is not None}
    if thresholds:
        doc["thresholds"] = thresholds
    names = set()
    doc["scenarios"] = []
    for s in scenarios:
        if s.name in names:
            raise ValueError(f"two scenarios are named {s.name!r}; give each its own name")
        names.add(s.name)
        doc["scenarios"].append(s.scenario_table())
    if load and load.get("stages"):
        doc["stages"] = load["stages"]
    return doc


class RESTAPIScenario(Scenario):
    """A REST API under ``base_url``: resources created, read, updated and deleted as JSON."""

    def __init__(self, base_url, name="REST API"):
        super().__init__(name, base_url=base_url)
        self.headers.setdefault("Accept", "application/json")

    def get_resource(self, path, **kw):
        return self.get(path, **kw)

    def list_resources(self, path, **kw):
        return self.get(path, **kw)

    def create_resource(self, path, data, **kw):
        return self.request("POST", path, json=data, **kw)

    def update_resource(self, path, data, **kw):
        return self.request("PUT", path, json=data, **kw)

    def patch_resource(self, path, data, **kw):
        return self.request("PATCH", path, json=data, **kw)

    def delete_resource(self, path, **kw):
        return self.request("DELETE", path, **kw)


class WebsiteScenario(Scenario):
    """A web site: pages visited as a browser would (cookies kept, redirects followed)."""

    def __init__(self, base_url, name="Website"):
        super().__init__(name, base_url=base_url)
        self.cookie_jar = True
        self.headers.setdefault("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
        self.headers.setdefault("User-Agent", "loadspiker")

    def visit_page(self, path, **kw):
        return self.get(path, **kw)

    def submit_form(self, path, form, **kw):
        return self.request("POST", path, form=form, **kw)


class WebSocketScenario(Scenario):
    """WebSocket steps on each VU's connection: connect, send, receive (a reply that matches),
    close. ``url``: ws:// or wss://, or a path under ``base_url``'s host."""

    def __init__(self, url=None, name="WebSocket", base_url=None):
        super().__init__(name, base_url=base_url)
        self.url = url

    def connect(self, url=None, **kw):
        return self.step("ws.connect", url or self.url, **kw)

    def send(self, message=None, json=None, binary=None, **kw):
        return self.step("ws.send", None, message, json=json, binary=binary, **kw)

    def receive(self, match=None, **kw):
        return self.step("ws.receive", None, None, match=_match(match), **kw)

    def close(self, **kw):
        return self.step("ws.close", None, None, **kw)


def _match(m):
    if m is None or isinstance(m, str):
        return m
    return m.native()


class _SocketScenario(Scenario):
    scheme = None

    def __init__(self, host, port, name=None):
        super().__init__(name or self.scheme.upper())
        self.target = f"{self.scheme}://{host}:{int(port)}"

    def send(self, data=None, hex=None, **kw):
        if (data is None) == (hex is None):
            raise ValueError("send: give the data, or its bytes as hex='48 49 0a'")
        return self.step(f"{self._proto()}.send", self.target, data, payload_hex=hex, **kw)

    def receive(self, until=None, size=None, match=None, **kw):
        return self.step(f"{self._proto()}.receive", self.target, None, until=until,
                         expect_bytes=size, match=_match(match), **kw)

    def _proto(self):
        return "tcp" if self.scheme in ("tcp", "tls") else self.scheme


class TCPScenario(_SocketScenario):
    """Raw TCP (or TLS with tls=True): send bytes, receive a reply (until a delimiter or a size)."""

    def __init__(self, host, port, name=None, tls=False):
        self.scheme = "tls" if tls else "tcp"
        super().__init__(host, port, name)
        self._host, self._port = host, int(port)
        self.tcp_operations = []

    def connect(self, **kw):
        """Opens the VU's connection (a send opens it too; it is kept per VU)."""
        return self.step("tcp.connect", self.target, **kw)

    def disconnect(self, **kw):
        return self.step("tcp.close", self.target, **kw)

    # The original API's builder: add_* record the operation (build_tcp_operations) and add
    # the step that performs it on the engine.

    @property
    def hostname(self):
        return self._host

    @property
    def port(self):
        return self._port

    def _record(self, kind, timeout_ms=None, **fields):
        op = {"type": kind, "hostname": self._host, "port": self._port, **fields}
        if timeout_ms is not None:
            op["timeout_ms"] = timeout_ms
        self.tcp_operations.append(op)
        return {} if timeout_ms is None else {"timeout": f"{int(timeout_ms)}ms"}

    def add_connect(self, timeout_ms=None):
        self.connect(**self._record("tcp_connect", timeout_ms))
        return self

    def add_send(self, data, timeout_ms=None):
        self.send(data, **self._record("tcp_send", timeout_ms, data=data))
        return self

    def add_receive(self, timeout_ms=None, until=None, size=None):
        self.receive(until=until, size=size, **self._record("tcp_receive", timeout_ms))
        return self

    def add_disconnect(self):
        self.disconnect(**self._record("tcp_disconnect"))
        return self

    def add_echo_test(self, message, timeout_ms=None):
        """Connect, send `message`, receive the echo, disconnect."""
        return (self.add_connect(timeout_ms).add_send(message, timeout_ms)
                .add_receive(timeout_ms).add_disconnect())

    def build_tcp_operations(self):
        """The operations added with add_*, variables (set_variable) filled in."""
        return [self._substitute(dict(op)) for op in self.tcp_operations]


class UDPScenario(_SocketScenario):
    """UDP datagrams: send, receive a reply."""
    scheme = "udp"

    def receive(self, size=None, match=None, **kw):
        return self.step("udp.receive", self.target, None, expect_bytes=size, match=_match(match),
                         **kw)


class MixedProtocolScenario(Scenario):
    """HTTP, WebSocket and registered protocols' steps in one journey (``step()``, ``get()``...)."""

    def __init__(self, name="Mixed", base_url=None):
        super().__init__(name, base_url)
        self.mixed_operations = []

    def add_http_request(self, url, method="GET", headers=None, body=None, **kw):
        """The original API's form: an HTTP request step (recorded for build_mixed_operations)."""
        self.mixed_operations.append({"type": "http", "url": url, "method": method,
                                      "headers": dict(headers or {}), "body": body or ""})
        self.request(method, url, headers=headers, body=body, **kw)
        return self

    def build_mixed_operations(self):
        """The operations added with add_*, variables (set_variable) filled in."""
        return [self._substitute(dict(op)) for op in self.mixed_operations]

    def websocket_connect(self, url, **kw):
        return self.step("ws.connect", url, **kw)

    def websocket_send(self, message=None, json=None, **kw):
        return self.step("ws.send", None, message, json=json, **kw)

    def websocket_receive(self, match=None, **kw):
        return self.step("ws.receive", None, None, match=_match(match), **kw)

    def websocket_close(self, **kw):
        return self.step("ws.close", **kw)

    def tcp_send(self, host, port, data, **kw):
        return self.step("tcp.send", f"tcp://{host}:{int(port)}", data, **kw)

    def tcp_receive(self, host, port, until=None, size=None, **kw):
        return self.step("tcp.receive", f"tcp://{host}:{int(port)}", until=until,
                         expect_bytes=size, **kw)

    def udp_send(self, host, port, data, **kw):
        return self.step("udp.send", f"udp://{host}:{int(port)}", data, **kw)

    def udp_receive(self, host, port, size=None, **kw):
        return self.step("udp.receive", f"udp://{host}:{int(port)}", expect_bytes=size, **kw)


def _unavailable(kind, protocols):
    have = {p["name"] for p in _protocols()}
    schemes = {s for p in _protocols() for s in p.get("schemes", ())}
    missing = [p for p in protocols if p not in have and p not in schemes]
    if missing:
        raise ProtocolNotAvailable(
            f"{kind}: this engine has no {', '.join(missing)} protocol yet (it speaks "
            f"{', '.join(sorted(have))}); nothing was sent")


class DatabaseScenario(Scenario):
    """SQL queries against one database URL (postgres://user:pass@host:port/db, mysql://,
    mariadb://): ``query(sql, params)`` steps, run by the engine's SQL protocols with prepared
    statements; checks such as ``checks=["rows == 1"]`` and extraction such as
    ``extract={"id": "row:0.id"}`` feed later steps (``${id}``)."""

    def __init__(self, url, name="Database"):
        scheme = url.split("://", 1)[0] if "://" in url else url
        _unavailable("DatabaseScenario", [scheme])
        super().__init__(name)
        self.url = url

    def query(self, sql, params=None, name=None, assertions=None, extract=None, checks=None,
              mode=None):
        keys = {"query": sql}
        if params:
            keys["params"] = [p if isinstance(p, (int, float)) and not isinstance(p, bool)
                              else str(p) for p in params]
        if mode:
            keys["mode"] = mode
        if checks:
            keys["checks"] = list(checks)
        return self.step("sql", self.url, name=name, assertions=assertions, extract=extract,
                         **keys)


class MQTTScenario(Scenario):
    """MQTT steps on one broker (each VU its own connection): ``publish(topic, message, qos)``,
    ``subscribe(topic, qos)``, ``receive(match=...)``, ``connect``/``disconnect``."""

    def __init__(self, host="127.0.0.1", port=1883, name="MQTT"):
        _unavailable("MQTTScenario", ["mqtt"])
        super().__init__(name)
        self.target = f"mqtt://{host}:{int(port)}"

    def connect(self, client_id=None, clean=None, keepalive=None, **kw):
        return self.step("mqtt.connect", self.target, client_id=client_id,
                         clean=None if clean is None else str(bool(clean)).lower(),
                         keepalive=keepalive, **kw)

    def publish(self, topic, message, qos=0, retain=False, **kw):
        return self.step("mqtt.publish", self.target, message, topic=topic, qos=int(qos),
                         retain="true" if retain else None, **kw)

    def subscribe(self, topic, qos=0, **kw):
        return self.step("mqtt.subscribe", self.target, topic=topic, qos=int(qos), **kw)

    def receive(self, match=None, **kw):
        return self.step("mqtt.receive", self.target, match=_match(match), **kw)

    def disconnect(self, **kw):
        return self.step("mqtt.disconnect", self.target, **kw)
