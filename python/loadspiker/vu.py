"""Python user code per iteration: virtual users whose logic is Python (loops, branches,
data-dependent requests) while the engine does every request's I/O, parsing, cookies,
redirects and metrics on its own thread.

``async def`` user functions run as asyncio tasks on one thread (``await vu.get(url)``,
``await vu.think_time(1, 3)``): the cheap way to many users. Plain functions (the original
``run_custom_test(fn(engine, user_id))`` and sync ``@scenario`` functions) run one thread per
user, each blocked on its response with the GIL released.
"""

import asyncio
import inspect
import itertools
import json as _json
import os
import random
import select
import signal
import sys
import threading
import time
import traceback
from urllib.parse import urlencode, urljoin

from .assertions import Assertion

__all__ = ["Response", "VU", "AsyncVU", "UserScenario", "scenario", "StopUser", "run_user_code"]


class StopUser(Exception):
    """Raised by user code to end its virtual user (the others go on)."""


class Response(dict):
    """A response: ``r.status_code``, ``r.headers`` (case-insensitive lookups with
    ``r.header(name)``), ``r.text``, ``r.json()``, ``r.response_time_us``, ``r.success``,
    ``r.error_message``; and it *is* the original API's dict (``isinstance(r, dict)``,
    ``r["status_code"]``, ``r["body"]``, ``json.dumps(r)``)."""

    __slots__ = ("status_code", "headers_list", "content", "response_time_us", "ok", "error",
                 "url", "refused", "rowcount", "_headers")

    _KEYS = ("status_code", "headers", "body", "response_time_us", "success", "error_message")

    def __init__(self, raw):
        (_, self.ok, self.error, self.status_code, self.headers_list, self.content,
         self.response_time_us, self.url, self.refused, self.rowcount) = raw
        self._headers = None
        dict.__init__(self, ((k, getattr(self, k)) for k in self._KEYS))

    @property
    def headers(self):
        if self._headers is None:
            self._headers = {}
            for k, v in self.headers_list:
                self._headers[k] = v if k not in self._headers else self._headers[k] + ", " + v
        return self._headers

    def header(self, name, default=None):
        name = name.lower()
        for k, v in self.headers_list:
            if k.lower() == name:
                return v
        return default

    @property
    def text(self):
        return self.content.decode("utf-8", "replace")

    body = text

    def json(self):
        return _json.loads(self.content)

    @property
    def success(self):
        return self.ok and not self.refused and self.status_code < 400

    @property
    def error_code(self):
        """The server's error code when it refused the request: a SQLSTATE ("23505"), a Redis
        error's prefix ("WRONGTYPE"); None otherwise."""
        return self.header("error") if self.refused else None

    @property
    def graphql_errors(self):
        """The number of errors in a GraphQL response (0 when it has none)."""
        try:
            errors = self.json().get("errors")
        except (ValueError, AttributeError):
            return 0
        return len(errors) if isinstance(errors, list) else 0

    @property
    def rows(self):
        """A query's result rows as dicts (SQL), [] when it returned none."""
        if self.refused or not self.content:
            return []
        return _json.loads(self.content)

    @property
    def error_message(self):
        if not self.ok:
            return self.error
        if self.refused:
            return f"{self.error_code}: {self.text}"
        return f"HTTP {self.status_code}" if self.status_code >= 400 else ""

    @property
    def response_time_ms(self):
        return self.response_time_us / 1000.0

    def __repr__(self):
        return f"<Response {self.status_code or self.error} {self.url} {self.response_time_us} us>"


def _encode_body(headers, body, json, data):
    headers = dict(headers or {})
    lower = {k.lower() for k in headers}
    if json is not None:
        body = _json.dumps(json)
        if "content-type" not in lower:
            headers["Content-Type"] = "application/json"
    elif data is not None:
        if isinstance(data, (dict, list, tuple)):
            body = urlencode(data)
            if "content-type" not in lower:
                headers["Content-Type"] = "application/x-www-form-urlencoded"
        else:
            body = data
    if body == "":
        body = None
    return list(headers.items()), body


class Dispatch:
    """Routes the engine client's responses to whoever waits: asyncio futures (one loop) or
    threads blocked in ``wait``."""

    def __init__(self, client, base_url=None, timeout_ms=30000):
        self.client = client
        self.base_url = base_url
        self.timeout_ms = timeout_ms
        self.ids = itertools.count(1)
        self.cond = threading.Condition()
        self.done = {}
        self.pumping = False
        self.futures = {}
        self.loop = None

    def url(self, url):
        if "://" in url:
            return url
        if not self.base_url:
            raise ValueError(f"{url!r} is relative: give a full URL or base_url=")
        return urljoin(self.base_url.rstrip("/") + "/", url.lstrip("/"))

    def submit(self, vu, method, url, headers=None, body=None, json=None, data=None, name=None,
               timeout_ms=None, record=True, action="", options=()):
        headers, body = _encode_body(headers, body, json, data)
        rid = next(self.ids)
        self.client.submit(rid, vu, method.upper(), self.url(url), headers, body,
                           int(timeout_ms or self.timeout_ms), name or "", True, record,
                           action, list(options))
        return rid

    # --- threads ---

    def wait(self, rid, timeout_ms=None):
        # The engine answers every request by its timeout; this is only a guard.
        deadline = time.monotonic() + (timeout_ms or self.timeout_ms) / 1000.0 + 30.0
        with self.cond:
            while rid not in self.done:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"request {rid}: the engine gave no response")
                if self.pumping:
                    self.cond.wait(0.05)
                    continue
                self.pumping = True
                self.cond.release()
                try:
                    select.select([self.client.wake_fd], [], [], 0.05)
                    got = self.client.take()
                finally:
                    self.cond.acquire()
                    self.pumping = False
                for raw in got:
                    self.done[raw[0]] = raw
                self.cond.notify_all()
            return Response(self.done.pop(rid))

    def call(self, vu, method, url, **kw):
        return self.wait(self.submit(vu, method, url, **kw), kw.get("timeout_ms"))

    # --- asyncio ---

    def attach(self, loop):
        self.loop = loop
        loop.add_reader(self.client.wake_fd, self._drain)

    def detach(self):
        """Idempotent: also called after a run that Ctrl-C cut short."""
        if self.loop is not None:
            try:
                self.loop.remove_reader(self.client.wake_fd)
            except (RuntimeError, ValueError):  # the loop is closed already
                pass
            self.loop = None
        for f in self.futures.values():
            f.cancel()
        self.futures.clear()

    def _drain(self):
        for raw in self.client.take():
            f = self.futures.pop(raw[0], None)
            if f is not None and not f.done():
                f.set_result(Response(raw))

    async def acall(self, vu, method, url, **kw):
        f = self.loop.create_future()
        rid = self.submit(vu, method, url, **kw)
        self.futures[rid] = f
        return await f


class _Checks:
    def __init__(self):
        self.counts = {}  # name -> [passed, total]
        self.lock = threading.Lock()

    def record(self, name, ok):
        with self.lock:
            c = self.counts.setdefault(name, [0, 0])
            c[0] += bool(ok)
            c[1] += 1

    def as_dict(self):
        return {k: {"passed": p, "failed": t - p, "total": t, "rate": p / t if t else 0.0}
                for k, (p, t) in self.counts.items()}


class _VUBase:
    """What user code gets: its id, iteration, variables, data row, checks."""

    def __init__(self, run, vu_id):
        self._run = run
        self.id = vu_id
        self.user_id = vu_id
        self.iteration = 0
        self.vars = {}
        self.data = None  # this iteration's row of run_custom_test(data=...)

    def check(self, response, *assertions, name=None):
        """Evaluates assertions (custom_assertion too) in Python; counted in the result's
        checks. A bool may stand for a condition checked by hand (``name`` required)."""
        ok_all = True
        for a in assertions:
            if isinstance(a, Assertion):
                ok, _ = a.evaluate(response)
                self._run.checks.record(name or a.name, ok)
            else:
                ok = bool(a)
                self._run.checks.record(name or "check", ok)
            ok_all &= ok
        return ok_all

    def get_unique_user_data(self):
        if self._run.data is None:
            raise ValueError("get_unique_user_data: the run has no data= source")
        return self._run.data.next(self.id)

    def _think(self, low, high):
        return low if high is None else random.uniform(low, high)


class VU(_VUBase):
    """A virtual user for plain (blocking) user functions; requests go through the engine."""

    def request(self, method, url, **kw):
        return self._run.dispatch.call(self.id, method, url, **kw)

    def get(self, url, **kw):
        return self.request("GET", url, **kw)

    def post(self, url, body=None, **kw):
        return self.request("POST", url, body=body, **kw)

    def put(self, url, body=None, **kw):
        return self.request("PUT", url, body=body, **kw)

    def patch(self, url, body=None, **kw):
        return self.request("PATCH", url, body=body, **kw)

    def delete(self, url, **kw):
        return self.request("DELETE", url, **kw)

    def head(self, url, **kw):
        return self.request("HEAD", url, **kw)

    def think_time(self, low, high=None):
        self._run.stop_event.wait(self._think(low, high))

    def action(self, action, url, data=None, **options):
        """A WebSocket action (ws.connect, ws.send, ws.receive, ws.close) or a registered
        protocol's (tcp.send, udp.receive, ...) on this user's connection to ``url``."""
        return self.request("GET", url, body=data, action=action,
                            options=[(k, str(v)) for k, v in options.items() if v is not None])


class AsyncVU(_VUBase):
    """A virtual user for ``async def`` user functions: ``await vu.get(url)``."""

    async def request(self, method, url, **kw):
        return await self._run.dispatch.acall(self.id, method, url, **kw)

    async def get(self, url, **kw):
        return await self.request("GET", url, **kw)

    async def post(self, url, body=None, **kw):
        return await self.request("POST", url, body=body, **kw)

    async def put(self, url, body=None, **kw):
        return await self.request("PUT", url, body=body, **kw)

    async def patch(self, url, body=None, **kw):
        return await self.request("PATCH", url, body=body, **kw)

    async def delete(self, url, **kw):
        return await self.request("DELETE", url, **kw)

    async def head(self, url, **kw):
        return await self.request("HEAD", url, **kw)

    async def think_time(self, low, high=None):
        await asyncio.sleep(self._think(low, high))

    async def action(self, action, url, data=None, **options):
        """A WebSocket action (ws.connect, ws.send, ws.receive, ws.close) or a registered
        protocol's (tcp.send, udp.receive, ...) on this user's connection to ``url``."""
        return await self.request("GET", url, body=data, action=action,
                                  options=[(k, str(v)) for k, v in options.items()
                                           if v is not None])


class UserScenario:
    """A user journey written as a Python function (``@scenario``)."""

    def __init__(self, fn, name=None, weight=1):
        self.fn = fn
        self.name = name or fn.__name__
        self.weight = weight
        self.is_async = inspect.iscoroutinefunction(fn)

    def __call__(self, *args, **kw):
        return self.fn(*args, **kw)


def scenario(name=None, weight=1):
    """``@scenario("Checkout")`` over ``def journey(vu)`` or ``async def journey(vu)``."""
    if callable(name):
        return UserScenario(name)
    return lambda fn: UserScenario(fn, name, weight)


class _Run:
    """One user-code run's shared state."""

    def __init__(self, dispatch, data):
        self.dispatch = dispatch
        self.data = data
        self.checks = _Checks()
        self.stop_event = threading.Event()
        self.interrupted = False
        self.iterations = 0
        self.iterations_failed = 0
        self.errors = {}  # exception type: count
        self.first_error = None
        self.lock = threading.Lock()

    def failed(self, e):
        with self.lock:
            self.iterations_failed += 1
            key = type(e).__name__
            self.errors[key] = self.errors.get(key, 0) + 1
            if self.first_error is None:
                self.first_error = "".join(traceback.format_exception(e)).rstrip()


def _progress_loop(run, client, on_progress, users_active, end_s):
    last = time.monotonic()
    while not run.stop_event.wait(max(0.0, last + 1.0 - time.monotonic())):
        last = time.monotonic()
        if on_progress:
            s = client.stats()
            s.update(vus=users_active(), iterations=run.iterations, duration_s=end_s,
                     finished=False)
            on_progress(s)


def run_user_code(dispatch, fn, users, duration, ramp_up=0.0, data=None, on_progress=None,
                  call=None, graceful_stop=5.0, title=None):
    """Runs ``fn`` per iteration on ``users`` virtual users for ``duration`` seconds, its
    requests through ``dispatch`` (a Dispatch over the engine's client). Returns (json_text,
    extra, interrupted). ``call(fn, vu)`` adapts the call (the original
    ``fn(engine, user_id)``); by default ``fn(vu)``."""
    client = dispatch.client
    if users < 1:
        raise ValueError(f"users: {users}; give 1 or more")
    if duration <= 0:
        raise ValueError(f"duration: {duration}; give seconds > 0")
    if ramp_up < 0 or ramp_up > duration:
        raise ValueError(f"ramp_up_duration: {ramp_up}; give 0 to duration ({duration}) seconds")
    run = _Run(dispatch, data)
    client.reset_stats()
    is_async = inspect.iscoroutinefunction(fn.fn if isinstance(fn, UserScenario) else fn)
    started = time.monotonic()
    end = started + duration
    if is_async:
        stopper = _AsyncStopper(run) if threading.current_thread() is threading.main_thread() \
            else None
        try:
            asyncio.run(_run_async(run, fn, users, end, ramp_up, on_progress, graceful_stop,
                                   duration, call, stopper))
        except KeyboardInterrupt:  # Ctrl-C while user code blocked the loop: what was recorded
            run.interrupted = True
            print("loadspiker: user code blocked the event loop; stopped it (KeyboardInterrupt)",
                  file=sys.stderr)
        finally:
            if stopper is not None:
                stopper.close()
            dispatch.detach()  # _run_async's own may have been skipped by a forced stop
    else:
        _run_threads(run, fn, users, end, ramp_up, on_progress, graceful_stop, duration, call)
    for vu in range(1, users + 1):
        client.forget_vu(vu)
    extra = {"iterations": run.iterations, "iterations_failed": run.iterations_failed,
             "python_errors": dict(run.errors), "checks": run.checks.as_dict()}
    if run.first_error:
        extra["first_error"] = run.first_error
    name = title or getattr(fn, "name", None) or getattr(fn, "__name__", "user code")
    text = client.result_json(f"Python: {name} ({users} VUs)", users, float(duration),
                              run.interrupted)
    return text, extra, run.interrupted


async def _run_async(run, fn, users, end, ramp_up, on_progress, graceful_stop, duration, call,
                     stopper):
    loop = asyncio.get_running_loop()
    run.dispatch.attach(loop)
    stopping = asyncio.Event()
    active = [0]

    def on_sigint():
        if stopping.is_set():
            for t in tasks:
                t.cancel()
        run.interrupted = True
        stopping.set()

    if stopper is not None:
        stopper.attach(loop, on_sigint)

        def quiet(loop, context):  # a user stopped by Ctrl-C is not an error to print
            if not isinstance(context.get("exception"), KeyboardInterrupt):
                loop.default_exception_handler(context)
        loop.set_exception_handler(quiet)

    async def user(vu_id, delay):
        vu = AsyncVU(run, vu_id)
        try:
            await asyncio.wait_for(stopping.wait(), delay)
            return
        except asyncio.TimeoutError:
            pass
        active[0] += 1
        try:
            while loop.time() < end_loop and not stopping.is_set():
                vu.iteration += 1
                run.iterations += 1
                if run.data is not None:
                    vu.data = run.data.next(vu_id)
                try:
                    await (call(fn, vu) if call else fn(vu))
                except StopUser:
                    return
                except asyncio.CancelledError:
                    raise
                except Exception as e:  # counted; the user goes on
                    run.failed(e)
        finally:
            active[0] -= 1

    async def progress():
        while True:
            await asyncio.sleep(1.0)
            if on_progress:
                s = run.dispatch.client.stats()
                s.update(vus=active[0], iterations=run.iterations, duration_s=duration,
                         finished=False)
                on_progress(s)

    end_loop = loop.time() + (end - time.monotonic())
    tasks = [asyncio.ensure_future(user(i + 1, ramp_up * i / users)) for i in range(users)]
    ticker = asyncio.ensure_future(progress())
    try:
        waiter = asyncio.ensure_future(stopping.wait())
        await asyncio.wait([waiter], timeout=max(0.0, end_loop - loop.time()))
        stopping.set()
        # Iterations under way finish (up to graceful_stop), as k6's gracefulStop.
        _, pending = await asyncio.wait(tasks, timeout=graceful_stop)
        for t in pending:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        ticker.cancel()
        await asyncio.gather(ticker, return_exceptions=True)
        run.dispatch.detach()


def _run_threads(run, fn, users, end, ramp_up, on_progress, graceful_stop, duration, call):
    active = [0]
    lock = threading.Lock()

    def user(vu_id, delay):
        if run.stop_event.wait(delay):
            return
        vu = VU(run, vu_id)
        _current.vu = vu
        with lock:
            active[0] += 1
        try:
            while time.monotonic() < end and not run.stop_event.is_set():
                vu.iteration += 1
                with run.lock:
                    run.iterations += 1
                if run.data is not None:
                    vu.data = run.data.next(vu_id)
                try:
                    call(fn, vu) if call else fn(vu)
                except StopUser:
                    return
                except Exception as e:
                    run.failed(e)
        finally:
            with lock:
                active[0] -= 1

    threads = [threading.Thread(target=user, args=(i + 1, ramp_up * i / users), daemon=True,
                                name=f"loadspiker-vu-{i + 1}") for i in range(users)]
    for t in threads:
        t.start()
    ticker = threading.Thread(
        target=_progress_loop, daemon=True,
        args=(run, run.dispatch.client, on_progress, lambda: active[0], duration))
    ticker.start()
    try:
        while time.monotonic() < end and any(t.is_alive() for t in threads):
            time.sleep(min(0.1, max(0.0, end - time.monotonic())))
    except KeyboardInterrupt:
        run.interrupted = True
    run.stop_event.set()
    deadline = time.monotonic() + graceful_stop
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    ticker.join(2)


class _Current(threading.local):
    vu = None


_current = _Current()


def current_vu():
    """The VU of the calling thread in a blocking user-code run (None elsewhere)."""
    return _current.vu


def default_workers():
    return os.cpu_count() or 1


class _AsyncStopper:
    """Ctrl-C for async user code. A Python-level SIGINT handler (not the loop's, which only
    runs when the loop does): the first signal asks the loop to stop gracefully, a second
    cancels the users. From the first on, the loop is pinged every second; while it does not
    answer (user code blocks it: time.sleep, a busy loop), the main thread gets
    KeyboardInterrupt, until the run is over. The run then ends with what it recorded (130)."""

    def __init__(self, run):
        self.run = run
        self.loop = None
        self.on_stop = None
        self.force = False
        self.watching = False
        self.done = threading.Event()
        self.lock = threading.Lock()  # no signal is sent once close() has begun
        self.watcher = None
        self.previous = signal.signal(signal.SIGINT, self.on_signal)

    def attach(self, loop, on_stop):
        self.loop, self.on_stop = loop, on_stop

    def on_signal(self, signum, frame):
        if self.done.is_set():
            return  # the run is over: its result is being written
        if self.force or self.loop is None:
            raise KeyboardInterrupt
        self.run.interrupted = True
        try:
            self.loop.call_soon_threadsafe(self.on_stop)
        except RuntimeError:  # the loop is closed: the run is ending
            return
        if not self.watching:
            self.watching = True
            self.watcher = threading.Thread(target=self.watch, daemon=True)
            self.watcher.start()

    def watch(self):
        main = threading.main_thread().ident
        while not self.done.is_set():
            answered = threading.Event()
            try:
                self.loop.call_soon_threadsafe(answered.set)
            except RuntimeError:  # the loop is closed: the run is ending
                return
            if answered.wait(1.0) or self.done.is_set():
                continue
            with self.lock:
                if self.done.is_set():
                    return
                self.force = True
                # A real signal to the main thread: a blocking call there (time.sleep) returns
                # to run on_signal, which raises KeyboardInterrupt.
                signal.pthread_kill(main, signal.SIGINT)
            self.done.wait(1.0)

    def close(self):
        with self.lock:
            self.done.set()
        if self.previous is not None:  # None: a handler installed from C, not ours to restore
            signal.signal(signal.SIGINT, self.previous)
