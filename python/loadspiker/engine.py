"""The Engine: the original LoadSpiker interface on LoadSpiker's C++ engine.

Three ways to run, one engine:

1. ``run_scenario(scenario, users, duration, ...)``: a declarative scenario compiled to the
   engine's plan and run on every worker thread with the GIL released (native speed).
2. ``run_custom_test(fn, users, duration)`` and ``@scenario`` functions: Python user logic per
   iteration; the engine does the requests (``async def`` functions scale best).
3. ``execute_request(url, ...)``, ``get``, ``post``...: one-off calls for set-up and smoke tests.
"""

import json as _json
import os
import sys

from . import _engine, _toml
from .result import Result, metrics_from_json
from .scenarios import Scenario, build_plan
from .utils import duration_text
from .vu import UserScenario, current_vu, run_user_code

__all__ = ["Engine", "RunError"]


class RunError(RuntimeError):
    """The run could not start (a bad plan or option), with the engine's message."""

    def __init__(self, message, exit_code=1):
        super().__init__(message)
        self.exit_code = exit_code


# run_scenario's keywords and the flags they become (messages name the keyword).
_FLAG_NAMES = [("--concurrency", "users="), ("--duration", "duration="),
               ("--ramp-up", "ramp_up_duration="), ("--threads", "Engine(worker_threads=)"),
               ("--arrival-rate", "arrival_rate="), ("--max-vus", "max_vus="),
               ("--iterations", "iterations="), ("--per-vu-iterations", "per_vu_iterations="),
               ("--rate", "rate="), ("--warmup", "warmup="), ("--think-time", "think_time="),
               ("--stage", "stages="), ("--timeout", "Engine(timeout_ms=)")]


def _stage(s):
    """A stage as --stage takes it: ("30s", 100) / {"duration": "30s", "target": 100} /
    "30s:100" (VUs), with "500/s" or target_rate= for arrival rates."""
    if isinstance(s, str):
        return s
    if isinstance(s, dict):
        d = duration_text(s["duration"], "stages duration")
        if "target_rate" in s:
            return f"{d}:{s['target_rate']}/s"
        return f"{d}:{s['target']}"
    d, target = s
    return f"{duration_text(d, 'stages duration')}:{target}"


class Engine:
    """``Engine(max_connections=1000, worker_threads=4)``: ``max_connections`` caps the VUs a
    run may use; ``worker_threads`` defaults to one per core."""

    def __init__(self, max_connections=1000, worker_threads=None, timeout_ms=30000,
                 insecure=False, cacert=None, base_url=None):
        if int(max_connections) < 1:
            raise ValueError(f"max_connections: {max_connections}; give 1 or more")
        if worker_threads is not None and int(worker_threads) < 1:
            raise ValueError(f"worker_threads: {worker_threads}; give 1 or more")
        self.max_connections = int(max_connections)
        self.worker_threads = int(worker_threads) if worker_threads else None
        self.timeout_ms = int(timeout_ms)
        self.insecure = bool(insecure)
        self.cacert = cacert
        self.base_url = base_url
        self._client = None
        self._dispatch = None
        self._last = None
        self._sockets = {}
        self._udp_replies = {}

    # --- the client (user code and one-off calls) ---

    @property
    def client(self):
        if self._client is None:
            from .vu import Dispatch
            self._client = _engine.Client(insecure=self.insecure, cacert=self.cacert or "")
            self._dispatch = Dispatch(self._client, self.base_url, self.timeout_ms)
        return self._client

    def _call(self, method, url, record=True, **kw):
        self.client  # noqa: B018 (made on first use)
        vu = current_vu()
        return self._dispatch.call(vu.id if vu else 0, method, url, record=record, **kw)

    # --- 3. one-off calls ---

    def execute_request(self, url, method="GET", headers=None, body="", timeout_ms=None,
                        json=None, data=None):
        """One request; returns the response (a dict: status_code, headers, body,
        response_time_us, success, error_message). Inside run_custom_test it is the calling
        user's request, counted in the run."""
        return self._call(method, url, headers=headers, body=body, json=json, data=data,
                          timeout_ms=timeout_ms or self.timeout_ms)

    def request(self, method, url, **kw):
        return self._call(method, url, **kw)

    def get(self, url, **kw):
        return self._call("GET", url, **kw)

    def post(self, url, body=None, **kw):
        return self._call("POST", url, body=body, **kw)

    def put(self, url, body=None, **kw):
        return self._call("PUT", url, body=body, **kw)

    def patch(self, url, body=None, **kw):
        return self._call("PATCH", url, body=body, **kw)

    def graphql(self, url, query, variables=None, operation_name=None, headers=None,
                timeout_ms=None):
        """A GraphQL operation (POST of {"query", "variables", "operationName"}): the response,
        with ``r.json()["data"]``; ``r.graphql_errors`` counts the response's errors."""
        body = {"query": query}
        if variables is not None:
            body["variables"] = variables
        if operation_name is not None:
            body["operationName"] = operation_name
        return self._call("POST", url, headers=headers, json=body,
                          timeout_ms=timeout_ms or self.timeout_ms)

    def delete(self, url, **kw):
        return self._call("DELETE", url, **kw)

    def head(self, url, **kw):
        return self._call("HEAD", url, **kw)

    def get_metrics(self):
        """The metrics of the last run, or of the calls made since reset_metrics()."""
        if self._last is not None:
            return dict(self._last)
        if self._client is None:
            return metrics_from_json({})
        return metrics_from_json(_client_json(self._client))

    def reset_metrics(self):
        self._last = None
        if self._client is not None:
            self._client.reset_stats()

    # --- protocols: one-off calls on the registered protocols ---

    def protocol_call(self, action, url, data=None, timeout_ms=None, **options):
        """A registered protocol's action ("tcp.send", "tcp.receive", "udp.send", ...) on the
        calling user's connection to ``url``."""
        return self._call("GET", url, body=data, action=action,
                          timeout_ms=timeout_ms or self.timeout_ms,
                          options=[(k, str(v)) for k, v in options.items() if v is not None])

    # --- databases (the original API's names): the registered SQL protocols' "sql" action ---

    def database_connect(self, url):
        """Connects the calling user to a database URL (postgres://user:pass@host:port/db,
        mysql://..., mariadb://...) and returns the connection to pass to database_query;
        raises ConnectionError (without the password) when the server refuses or is down."""
        r = self.database_query(url, "SELECT 1")
        if not r.success:
            raise ConnectionError(f"{_redact_url(url)}: {r.error_message}")
        return url

    def database_query(self, conn, query=None, params=None, timeout_ms=None, connection=None):
        """One query on the calling user's connection (opened on first use; a prepared
        statement, parameters $1 / ? from ``params``): ``database_query(conn, sql, params)``,
        or the original API's ``database_query(sql, connection=url)``. Returns the response:
        ``r.rows`` (a list of dicts), ``r.rowcount`` (rows returned or affected),
        ``r.success``, ``r.error_code`` (the SQLSTATE when the server refused it),
        ``r.response_time_us``."""
        if connection is not None:
            conn, query = connection, conn
        if query is None:
            raise TypeError("database_query: give the query (database_query(conn, sql))")
        options = [("query", query)] + [("params", _sql_param(p)) for p in (params or ())]
        return self._call("GET", conn, action="sql", options=options,
                          timeout_ms=timeout_ms or self.timeout_ms)

    def database_disconnect(self, connection):
        """Closes the calling user's connection (the next query opens another)."""
        return self.protocol_call("sql.close", connection).ok

    # --- LDAP: the registered ldap protocol's operations ---

    def _ldap(self, url, timeout_ms, **keys):
        options = []
        for k, v in keys.items():
            if v is None:
                continue
            for item in (v if isinstance(v, (list, tuple)) else [v]):
                options.append((k, str(item)))
        return self._call("GET", url, action="ldap", options=options,
                          timeout_ms=timeout_ms or self.timeout_ms)

    def ldap_search(self, url, base, filter=None, scope=None, attributes=None, bind_dn=None,
                    bind_password=None, timeout_ms=None):
        """A search; ``r.json()`` is the entries ([{"dn": ..., "cn": ...}]), ``r.rowcount``
        their number, ``r.error_code`` the result code when it failed ("32")."""
        if isinstance(attributes, (list, tuple)):
            attributes = ",".join(attributes)
        return self._ldap(url, timeout_ms, base=base, filter=filter, scope=scope,
                          attributes=attributes, bind_dn=bind_dn, bind_password=bind_password)

    def ldap_bind(self, url, dn, password, timeout_ms=None):
        return self._ldap(url, timeout_ms, operation="bind", dn=dn, password=password)

    def ldap_add(self, url, dn, attributes, bind_dn=None, bind_password=None, timeout_ms=None):
        """Adds ``dn`` with ``attributes`` ({"cn": "Jane", "objectClass": ["top", ...]})."""
        return self._ldap(url, timeout_ms, operation="add", dn=dn,
                          attribute=_ldap_attributes(attributes), bind_dn=bind_dn,
                          bind_password=bind_password)

    def ldap_modify(self, url, dn, attributes, bind_dn=None, bind_password=None,
                    timeout_ms=None):
        """Replaces ``attributes`` of ``dn``."""
        return self._ldap(url, timeout_ms, operation="modify", dn=dn,
                          attribute=_ldap_attributes(attributes), bind_dn=bind_dn,
                          bind_password=bind_password)

    def ldap_delete(self, url, dn, bind_dn=None, bind_password=None, timeout_ms=None):
        return self._ldap(url, timeout_ms, operation="delete", dn=dn, bind_dn=bind_dn,
                          bind_password=bind_password)

    # --- MongoDB: the registered mongo protocol's commands (documents as dicts or JSON) ---

    def _mongo(self, url, timeout_ms, **keys):
        import json as _json
        options = [(k, v if isinstance(v, str) else _json.dumps(v, default=str))
                   for k, v in keys.items() if v is not None]
        return self._call("GET", url, action="mongo", options=options,
                          timeout_ms=timeout_ms or self.timeout_ms)

    def mongo_find(self, url, collection, filter=None, limit=None, timeout_ms=None):
        """find on ``collection``: ``r.json()`` is the documents (first batch), ``r.rowcount``
        their number."""
        return self._mongo(url, timeout_ms, collection=collection, find=filter or {},
                           limit=str(limit) if limit else None)

    def mongo_insert(self, url, collection, document, timeout_ms=None):
        return self._mongo(url, timeout_ms, collection=collection, insert=document)

    def mongo_update(self, url, collection, filter, update, timeout_ms=None):
        return self._mongo(url, timeout_ms, collection=collection, filter=filter, update=update)

    def mongo_aggregate(self, url, collection, pipeline, timeout_ms=None):
        return self._mongo(url, timeout_ms, collection=collection, aggregate=list(pipeline))

    def mongo_command(self, url, command, timeout_ms=None):
        """Any command document ({"ping": 1}); ``r.json()`` is the server's reply."""
        return self._mongo(url, timeout_ms, command=command)

    # --- MQTT (the original API: one broker connection per calling user) ---

    def mqtt_connect(self, host="127.0.0.1", port=1883, client_id=None, keepalive=None,
                     username=None, password=None):
        """Connects the calling user to the broker (CONNECT, CONNACK); True when accepted."""
        from urllib.parse import quote
        auth = ""
        if username is not None:
            auth = quote(str(username), safe="")
            if password is not None:
                auth += ":" + quote(str(password), safe="")
            auth += "@"
        if "://" in str(host):
            self._mqtt = str(host)
        else:
            self._mqtt = f"mqtt://{auth}{host}:{int(port)}"
        self._mqtt_client = client_id
        r = self._call("GET", self._mqtt, action="mqtt.connect",
                       options=self._mqtt_options(keepalive=keepalive),
                       timeout_ms=self.timeout_ms)
        return r.success

    def _mqtt_options(self, **keys):
        keys.setdefault("client_id", getattr(self, "_mqtt_client", None))
        return [(k, str(v)) for k, v in keys.items() if v is not None]

    def _mqtt_url(self):
        url = getattr(self, "_mqtt", None)
        if url is None:
            raise RuntimeError("MQTT: call engine.mqtt_connect(host, port) first")
        return url

    def mqtt_publish(self, topic, message, qos=0, retain=False, timeout_ms=None):
        """Publishes; with QoS 1 or 2 returns once the broker acknowledged (True)."""
        return self._call("GET", self._mqtt_url(), action="mqtt.publish", body=message,
                          options=self._mqtt_options(topic=topic, qos=int(qos),
                                                     retain="true" if retain else None),
                          timeout_ms=timeout_ms or self.timeout_ms).success

    def mqtt_subscribe(self, topic, qos=0, timeout_ms=None):
        return self._call("GET", self._mqtt_url(), action="mqtt.subscribe",
                          options=self._mqtt_options(topic=topic, qos=int(qos)),
                          timeout_ms=timeout_ms or self.timeout_ms).success

    def mqtt_receive(self, timeout_ms=None):
        """The next message on a subscription: ``r.text``, ``r.header("topic")``."""
        return self._call("GET", self._mqtt_url(), action="mqtt.receive",
                          options=self._mqtt_options(),
                          timeout_ms=timeout_ms or self.timeout_ms)

    def mqtt_disconnect(self):
        return self._call("GET", self._mqtt_url(), action="mqtt.disconnect",
                          options=self._mqtt_options(), timeout_ms=self.timeout_ms).ok

    # --- Kafka ---

    kafka_brokers = "127.0.0.1:9092"

    def kafka_publish(self, topic, message, key=None, brokers=None, timeout_ms=None):
        """Produces ``message`` to ``topic`` (on ``brokers``, default ``engine.kafka_brokers``);
        returns the response once the delivery report came (``r.success``)."""
        first, _, more = str(brokers or self.kafka_brokers).partition(",")
        options = [("topic", topic)]
        if key is not None:
            options.append(("key", str(key)))
        if more:
            options.append(("brokers", more))
        return self._call("GET", f"kafka://{first}", action="kafka.produce", body=message,
                          options=options, timeout_ms=timeout_ms or self.timeout_ms)

    # --- gRPC ---

    grpc_url = None    # the server of grpc_call without url=: "grpc://127.0.0.1:50051"
    grpc_proto = None  # the .proto file(s) of grpc_call without proto= (or reflect=True)

    def grpc_call(self, method, message=None, url=None, proto=None, metadata=None,
                  reflect=False, deadline=None, import_path=None, timeout_ms=None):
        """One gRPC call: ``grpc_call("user.UserService/GetUser", message={"id": 1})`` on
        ``url`` (default ``engine.grpc_url``; grpc:// or grpcs://), its messages from ``proto``
        (a .proto file or a list; default ``engine.grpc_proto``) or the server's reflection
        (``reflect=True``). ``metadata`` is a dict; ``deadline`` a duration ("200ms"). Returns
        the response: ``r.success``, ``r.json()`` (the reply; a list for server streams),
        ``r.header("grpc_status")`` ("OK", "NOT_FOUND", ...)."""
        target = url or self.grpc_url
        if not target:
            raise ValueError("grpc_call: give url= (grpc://host:port) or set engine.grpc_url")
        options = [("call", method)]
        proto = proto or self.grpc_proto
        for p in ([proto] if isinstance(proto, str) else proto or []):
            options.append(("proto", p))
        for d in ([import_path] if isinstance(import_path, str) else import_path or []):
            options.append(("import_path", d))
        if reflect:
            options.append(("reflect", "true"))
        for k, v in (metadata or {}).items():
            options.append(("metadata", f"{k}: {v}"))
        if deadline is not None:
            options.append(("deadline", duration_text(deadline, "deadline")))
        if isinstance(message, (dict, list)):
            message = _json.dumps(message)
        return self._call("GET", target, action="grpc", body=message, options=options,
                          timeout_ms=timeout_ms or self.timeout_ms)

    # TCP as the original API has it: a connection per (host, port) of the calling user,
    # opened by tcp_connect and closed by tcp_disconnect; each call returns the original's
    # result dict (success, status_code, body, response_time_ms, response_time_us,
    # error_message, protocol_data), from the real exchange on our engine.

    def tcp_connect(self, host, port, timeout_ms=None):
        url = self._socket_url("tcp", host, port)
        if url is None:
            return _socket_result(None, f"invalid TCP address {host}:{port}")
        r = self._socket_call("tcp.connect", url, None, timeout_ms)
        if r.success:
            self._sockets[url] = True
            return _socket_result(r, body=f"TCP connection established to {host}:{port}")
        return _socket_result(r, f"TCP connection to {host}:{port} failed: {r.error_message}")

    def tcp_send(self, host_or_url, port_or_data=None, data=None, timeout_ms=None):
        url, data = self._socket_args("tcp", host_or_url, port_or_data, data)
        if url not in self._sockets:
            return _not_connected(url)
        r = self._socket_call("tcp.send", url, data, timeout_ms)
        sent = len(data.encode() if isinstance(data, str) else data or b"")
        return _socket_result(r, body=f"Sent {sent} bytes", data={"bytes_sent": sent})

    def tcp_receive(self, host_or_url, port=None, until=None, size=None, timeout_ms=None):
        url = host_or_url if port is None else self._socket_url("tcp", host_or_url, port)
        if url not in self._sockets:
            return _not_connected(url)
        r = self._socket_call("tcp.receive", url, None, timeout_ms, until=until,
                              expect_bytes=size)
        text = r.text if r.ok else ""
        return _socket_result(r, body=text, data={"received_data": text,
                                                  "bytes_received": len(r.content or b"")})

    def tcp_disconnect(self, host_or_url, port=None):
        url = host_or_url if port is None else self._socket_url("tcp", host_or_url, port)
        if self._sockets.pop(url, None) is None:
            return _not_connected(url)
        r = self._socket_call("tcp.close", url, None, None)
        return _socket_result(r, body="TCP connection closed")

    def _socket_url(self, scheme, host, port):
        try:
            port = int(port)
        except (TypeError, ValueError):
            return None
        if not 0 < port < 65536 or not str(host):
            return None
        return f"{scheme}://{host}:{port}"

    def _socket_call(self, action, url, data, timeout_ms, **options):
        """protocol_call, a refusal before sending (a bad address) as a failed result."""
        try:
            return self.protocol_call(action, url, data, timeout_ms, **options)
        except ValueError as e:
            return _Failure(str(e))

    def udp_send(self, host, port, data, expect_reply=True, timeout_ms=None):
        """Sends a datagram. With ``expect_reply`` (the default) it waits for the reply too,
        which ``udp_receive`` then returns: a datagram arriving while nobody waits is dropped
        (UDP), so a send and a later receive from Python would lose fast replies. False when
        it could not be sent."""
        url = f"udp://{host}:{int(port)}"
        if not expect_reply:
            return self.protocol_call("udp.send", url, data, timeout_ms).ok
        r = self.protocol_call("", url, data, timeout_ms)
        self._udp_replies[url] = r.text if r.ok else None
        return r.ok or r.error == "timeout"

    def udp_receive(self, host, port, size=None, timeout_ms=None):
        """The reply to the last udp_send (None when it was lost), else the next datagram."""
        url = f"udp://{host}:{int(port)}"
        if url in self._udp_replies:
            return self._udp_replies.pop(url)
        r = self.protocol_call("udp.receive", url, None, timeout_ms, expect_bytes=size)
        return r.text if r.ok else None

    def websocket_connect(self, url, headers=None, timeout_ms=None):
        """Opens the calling user's WebSocket to ``url`` (ws:// or wss://); True when the
        upgrade succeeded."""
        return self._call("GET", url, headers=headers, action="ws.connect",
                          timeout_ms=timeout_ms or self.timeout_ms).success

    def websocket_send(self, url, message, binary=False, timeout_ms=None):
        return self._call("GET", url, body=message, action="ws.send",
                          options=[("binary", "true")] if binary else (),
                          timeout_ms=timeout_ms or self.timeout_ms).ok

    def websocket_receive(self, url, timeout_ms=None):
        """The next message on the user's WebSocket to ``url`` (one that came before the
        call counts), or None on timeout or close."""
        r = self._call("GET", url, action="ws.receive", timeout_ms=timeout_ms or self.timeout_ms)
        return r.text if r.ok else None

    def websocket_close(self, url, timeout_ms=None):
        return self._call("GET", url, action="ws.close",
                          timeout_ms=timeout_ms or self.timeout_ms).ok

    def _socket_args(self, scheme, host_or_url, port_or_data, data):
        if "://" in str(host_or_url):
            return host_or_url, port_or_data
        return f"{scheme}://{host_or_url}:{int(port_or_data)}", data

    def __getattr__(self, attr):
        # A registered protocol's action as a method: engine.redis_command(url, "GET k").
        if not attr.startswith("_") and "_" in attr:
            action = attr.replace("_", ".", 1)
            for p in _engine.protocols():
                if any(a["name"] == action for a in p["actions"]):
                    return lambda url, data=None, **kw: self.protocol_call(action, url, data, **kw)
        # Protocols the engine does not have yet keep the original API's names and say so.
        for prefix in ("ftp_", "sftp_"):  # the original roadmap's next ones
            if attr.startswith(prefix):
                have = ", ".join(sorted(p["name"] for p in _engine.protocols()))
                raise NotImplementedError(
                    f"Engine.{attr}: this engine has no {prefix[:-1]} protocol yet (it speaks "
                    f"{have}, HTTP and WebSocket); nothing was sent")
        raise AttributeError(attr)

    # --- 1. declarative scenarios at native speed ---

    def run_scenario(self, scenario, users=None, duration=30, ramp_up_duration=0, **kw):
        """Runs ``scenario`` (a Scenario, a list of them sharing the load by weight, or an
        ``@scenario`` function) on ``users`` VUs for ``duration`` seconds. Keywords as the
        TOML [load] keys: executor, arrival_rate, max_vus, stages, iterations,
        per_vu_iterations, rate, warmup, think_time; thresholds (dict, as [thresholds]),
        outputs (paths: .json .html .md .csv ...), on_progress (called each second with the
        live numbers), reporter. ``users`` defaults to 10; with an arrival rate it is the most
        VUs in use (max_vus). Returns a Result: the original metrics dict and more."""
        if isinstance(scenario, UserScenario) or (callable(scenario) and
                                                   not isinstance(scenario, Scenario)):
            if kw.keys() - {"on_progress", "reporter", "data", "base_url"}:
                raise ValueError(
                    "user-code scenarios take users, duration, ramp_up_duration, data, "
                    f"base_url, on_progress and reporter; not {sorted(kw.keys())}")
            return self.run_custom_test(scenario, 10 if users is None else users, duration,
                                        ramp_up_duration, **kw)
        scenarios = list(scenario) if isinstance(scenario, (list, tuple)) else [scenario]
        for s in scenarios:
            if not isinstance(s, Scenario):
                raise ValueError(f"run_scenario takes Scenario objects, not {s!r}")
        reporter = kw.pop("reporter", None)
        on_progress = kw.pop("on_progress", None)
        outputs = kw.pop("outputs", None) or []
        thresholds = kw.pop("thresholds", None)
        flags, names = self._load_flags(users, duration, ramp_up_duration, kw)
        for o in [outputs] if isinstance(outputs, str) else outputs:
            flags += ["-o", str(o)]
        for s in scenarios:
            s.setup()
        try:
            plan = build_plan(scenarios, thresholds=thresholds)
            text = _toml.dumps(plan)
            title = scenarios[0].name if len(scenarios) == 1 else \
                f"{len(scenarios)} scenarios"
            return self._run(flags, text, f"scenario {title!r}", names, on_progress, reporter)
        finally:
            for s in scenarios:
                s.teardown()

    def run_plan(self, toml_text, name="plan", on_progress=None, reporter=None, **kw):
        """Runs a TOML plan (a config file's text) with run_scenario's load keywords."""
        flags, names = self._load_flags(kw.pop("users", None), kw.pop("duration", None),
                                        kw.pop("ramp_up_duration", None), kw)
        return self._run(flags, toml_text, name, names, on_progress, reporter)

    def _load_flags(self, users, duration, ramp_up, kw):
        flags = []
        if self.worker_threads:
            flags += ["--threads", str(self.worker_threads)]
        flags += ["--timeout", f"{self.timeout_ms}ms"]
        executor = kw.pop("executor", None)
        open_model = kw.get("arrival_rate") is not None or executor in (
            "constant-arrival-rate", "ramping-arrival-rate")
        if open_model and users is not None and kw.get("max_vus") is None:
            kw["max_vus"] = int(users)  # k6's preAllocatedVUs: the VUs the arrivals may use
            users = None
        if users is None and not open_model and not kw.get("stages"):
            users = 10
        if users is not None and not open_model:
            if int(users) < 1:
                raise ValueError(f"users: {users}; give 1 or more")
            if int(users) > self.max_connections:
                raise ValueError(f"users: {users} is over Engine(max_connections="
                                 f"{self.max_connections}); raise max_connections")
            flags += ["-c", str(int(users))]
        if duration is not None and not kw.get("stages"):
            flags += ["-d", duration_text(duration, "duration")]
        if ramp_up:
            flags += ["--ramp-up", duration_text(ramp_up, "ramp_up_duration")]
        for key, flag in (("arrival_rate", "--arrival-rate"), ("max_vus", "--max-vus"),
                          ("iterations", "--iterations"),
                          ("per_vu_iterations", "--per-vu-iterations"), ("rate", "--rate")):
            v = kw.pop(key, None)
            if v is not None:
                flags += [flag, str(v)]
        for key, flag in (("warmup", "--warmup"), ("think_time", "--think-time")):
            v = kw.pop(key, None)
            if v is not None:
                flags += [flag, v if isinstance(v, str) and (".." in v or ":" in v)
                          else duration_text(v, key)]
        for s in kw.pop("stages", None) or []:
            flags += ["--stage", _stage(s)]
        if executor == "ramping-vus" and "--stage" not in flags and "--ramp-up" not in flags:
            raise ValueError("executor='ramping-vus' needs stages= or ramp_up_duration=")
        if kw:
            raise ValueError(f"unknown keyword(s) {sorted(kw)}; run_scenario takes users, "
                             "duration, ramp_up_duration, executor, arrival_rate, max_vus, "
                             "stages, iterations, per_vu_iterations, rate, warmup, think_time, "
                             "thresholds, outputs, on_progress, reporter")
        return flags, _FLAG_NAMES

    def _run(self, flags, text, name, names, on_progress, reporter):
        if reporter is not None:
            reporter.start_reporting()
            progress = _both(on_progress, reporter.report_progress)
        else:
            progress = on_progress
        r = _engine.run(flags, text, name, names, progress)
        if r["error"]:
            raise RunError(r["error"], r["exit_code"])
        if r["callback_error"]:
            print(f"loadspiker: on_progress raised: {r['callback_error']}", file=sys.stderr)
        result = Result(r["json"], r["exit_code"], r["interrupted"])
        self._last = result.metrics
        if reporter is not None:
            reporter.report_metrics(result)
            reporter.end_reporting()
        return result

    # --- 2. Python user code ---

    def run_custom_test(self, fn, users=10, duration=30, ramp_up_duration=0, data=None,
                        base_url=None, on_progress=None, reporter=None):
        """Runs ``fn`` once per iteration on each of ``users`` VUs for ``duration`` seconds:
        ``fn(engine, user_id)`` (the original form: engine.get/post... are the user's
        requests), ``fn(vu)`` for ``@scenario`` functions, or ``async def fn(vu)``
        (``await vu.get(url)``) for many users on one thread."""
        if not callable(fn):
            raise ValueError(f"run_custom_test takes a function, not {fn!r}")
        if int(users) > self.max_connections:
            raise ValueError(f"users: {users} is over Engine(max_connections="
                             f"{self.max_connections}); raise max_connections")
        self.client  # noqa: B018
        original = not isinstance(fn, UserScenario) and not _is_async(fn) and _arity(fn) >= 2
        call = (lambda f, vu: f(self, vu.id)) if original else None
        if reporter is not None:
            reporter.start_reporting()
            on_progress = _both(on_progress, reporter.report_progress)
        self._dispatch.base_url = base_url or self.base_url
        duration_text(duration, "duration")  # ValueError for inf, nan, negatives, text
        duration_text(ramp_up_duration or 0, "ramp_up_duration")
        try:
            text, extra, interrupted = run_user_code(
                self._dispatch, fn, int(users), float(duration), float(ramp_up_duration or 0),
                data=data, on_progress=on_progress, call=call)
        finally:
            self._dispatch.base_url = self.base_url
        result = Result(text, _exit_code(text, interrupted, extra), interrupted, extra)
        self._last = result.metrics
        if extra.get("first_error"):
            print(f"loadspiker: {extra['iterations_failed']} iteration(s) raised; the first:\n"
                  f"{extra['first_error']}", file=sys.stderr)
        if reporter is not None:
            reporter.report_metrics(result)
            reporter.end_reporting()
        return result

    def start_load_test(self, requests, users=10, duration=30):
        """The original API: a list of request dicts (url, method, headers, body) run as one
        scenario."""
        s = Scenario("load test")
        for r in requests:
            if isinstance(r, str):
                s.get(r)
            else:
                s.request(r.get("method", "GET"), r["url"], headers=r.get("headers"),
                          body=r.get("body") or None)
        return self.run_scenario(s, users, duration)


def _both(a, b):
    if a is None:
        return b
    return lambda s: (a(s), b(s))


def _is_async(fn):
    import inspect
    return inspect.iscoroutinefunction(fn)


def _arity(fn):
    import inspect
    try:
        return len([p for p in inspect.signature(fn).parameters.values()
                    if p.default is inspect.Parameter.empty and
                    p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)])
    except (TypeError, ValueError):
        return 1


def _client_json(client):
    import json
    return json.loads(client.result_json("calls", 1, 0.0))


def _exit_code(text, interrupted, extra=None):
    """The CLI's rule: 130 interrupted; 1 when nothing was sent, over half the requests
    failed, or over half the iterations failed (user code that raised)."""
    import json
    if interrupted:
        return 130
    extra = extra or {}
    iterations = extra.get("iterations", 0)
    if iterations > 0 and extra.get("iterations_failed", 0) * 2 > iterations:
        return 1
    s = json.loads(text).get("summary", {})
    if s.get("total_requests", 0) == 0:
        return 1
    return 1 if s.get("error_rate", 0) > 0.5 else 0


def cpu_count():
    return os.cpu_count() or 1


def _redact_url(url):
    """``url`` without its password (user-info as <redacted>)."""
    scheme, sep, rest = str(url).partition("://")
    if not sep or "@" not in rest.split("/", 1)[0]:
        return str(url)
    return f"{scheme}://<redacted>@{rest.split('@', 1)[1]}"


class _Failure:
    """A call refused before anything was sent, as a response reads."""
    ok = success = False
    text = ""
    content = b""
    status_code = 0
    response_time_us = 0

    def __init__(self, message):
        self.error_message = self.error = message


def _socket_result(r, error=None, body="", data=None):
    """The original API's result dict for a socket call: success, status_code (200 when it
    worked), body, response_time_ms/us, error_message, protocol_data."""
    ok = r is not None and r.success and error is None
    us = r.response_time_us if r is not None else 0
    message = "" if ok else (error or (r.error_message if r is not None else "failed"))
    return {"success": ok, "status_code": 200 if ok else 0, "body": body if ok else "",
            "response_time_us": us, "response_time_ms": us / 1000.0,
            "error_message": message, "protocol_data": dict(data or {}) if ok else {}}


def _not_connected(url):
    return _socket_result(None, f"No active TCP connection to {url}: call tcp_connect first")


def _sql_param(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _ldap_attributes(attributes):
    out = []
    for name, value in dict(attributes).items():
        for v in (value if isinstance(value, (list, tuple)) else [value]):
            out.append(f"{name}={v}")
    return out
