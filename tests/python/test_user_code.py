"""Form 2 (Python user code per iteration, the engine doing the requests) and form 3 (one-off
calls), with counts checked against nginx's access log and the embedded target."""
import io
import json
import os
import signal
import subprocess
import sys
import time

import pytest

import loadspiker
from loadspiker import Engine, scenario, StopUser
from loadspiker.assertions import custom_assertion, status_is
from loadspiker.authentication import create_form_auth, get_authentication_manager
from loadspiker.data_sources import DataSource
from loadspiker.reporters import ConsoleReporter, JSONReporter, MultiReporter
from loadspiker.session_manager import get_session_manager


def test_async_journey_with_branches_and_loops(nginx, fresh_log):
    @scenario("shop")
    async def shop(vu):
        r = await vu.get(nginx.url("/api/items"))
        if r.status_code != 200:
            return
        for item in r.json()["items"]:  # a loop over what the server said
            await vu.get(nginx.url(f"/api/items/{item['id']}"), name="/api/items/[id]")
        if vu.iteration % 2 == 0:  # a branch
            await vu.post(nginx.url("/api/cart"), json={"id": 1})

    r = Engine().run_scenario(shop, users=5, duration=1.5)
    lines = fresh_log()
    uris = [line[3] for line in lines]
    assert r["total_requests"] == len(lines)
    lists = uris.count("/api/items")
    assert lists == r.extra["iterations"]
    assert sum(u.startswith("/api/items/") for u in uris) == 3 * lists
    carts = [line for line in lines if line[3] == "/api/cart"]
    assert all(line[2] == "POST" for line in carts)
    assert abs(len(carts) - lists / 2) <= 5  # every VU's even iterations
    by_name = {s["name"]: s["requests"] for s in r.steps}
    assert by_name["/api/items/[id]"] == 3 * lists
    assert r.exit_code == 0


def test_original_run_custom_test(nginx, fresh_log):
    def user(engine, user_id):
        r = engine.execute_request(nginx.url(f"/user/{user_id}"))
        assert r["status_code"] == 200

    r = Engine().run_custom_test(user, users=3, duration=1)
    uris = [line[3] for line in fresh_log()]
    assert len(uris) == r["total_requests"] == r.extra["iterations"]
    assert set(uris) == {"/user/1", "/user/2", "/user/3"}
    assert r.extra["iterations_failed"] == 0


def test_sync_scenario_with_think_time(nginx, fresh_log):
    @scenario
    def browse(vu):
        vu.get(nginx.url("/user/1"))
        vu.think_time(0.2)

    r = Engine().run_scenario(browse, users=2, duration=1.1)
    n = len(fresh_log())
    assert n == r["total_requests"]
    assert 8 <= n <= 14  # two users, one request per 0.2 s


def test_checks_and_custom_assertion_in_python(target):
    big = custom_assertion(lambda resp: len(resp["body"]) > 10, name="long body")

    async def user(vu):
        r = await vu.get(target.url("/json"))
        vu.check(r, status_is(200), big)
        vu.check(r, r.status_code == 201, name="created")

    r = Engine().run_custom_test(user, users=2, duration=0.5)
    c = r.checks
    assert c["status_is(200)"]["failed"] == 0 and c["long body"]["failed"] == 0
    assert c["created"]["passed"] == 0 and c["created"]["total"] == r.extra["iterations"]


def test_user_code_errors_are_counted_and_the_run_goes_on(target):
    async def user(vu):
        await vu.get(target.url("/json"))
        if vu.iteration == 2:
            raise KeyError("oops")
        if vu.iteration == 4:
            raise StopUser()

    r = Engine().run_custom_test(user, users=3, duration=1)
    assert r.extra["iterations"] == 12  # 4 per user, then StopUser
    assert r.extra["iterations_failed"] == 3
    assert r.extra["python_errors"] == {"KeyError": 3}
    assert "KeyError: 'oops'" in r.extra["first_error"]


def test_cookies_and_redirects_are_native(target):
    async def user(vu):
        await vu.get(target.url("/cookies/set?flavour=oat"))
        r = await vu.get(target.url("/cookies"))
        vu.check(r, "oat" in r.text, name="cookie sent back")
        r = await vu.get(target.url("/redirect/3"))
        vu.check(r, r.status_code == 200 and not r.url.endswith("/redirect/3"),
                 name="redirects followed")

    r = Engine().run_custom_test(user, users=2, duration=0.5)
    assert r.checks["cookie sent back"]["failed"] == 0
    assert r.checks["redirects followed"]["failed"] == 0


def test_data_source_in_user_code(nginx, fresh_log):
    data = DataSource([{"name": f"n{i}"} for i in range(30)], strategy="unique")

    async def user(vu):
        await vu.get(nginx.url(f"/user/{vu.data['name']}"))

    Engine().run_custom_test(user, users=3, duration=2, data=data)
    uris = sorted(line[3] for line in fresh_log())
    assert uris == sorted(f"/user/n{i}" for i in range(30))  # each row once, then users stop


def test_execute_request_returns_the_original_dict(target, nginx):
    e = Engine()
    r = e.execute_request(target.url("/echo"), method="POST", headers={"X-Test": "1"},
                          body='{"a": 1}')
    assert set(r.keys()) == {"status_code", "headers", "body", "response_time_us", "success",
                             "error_message"}
    assert r["status_code"] == 200 and r["success"] and r["error_message"] == ""
    assert '"X-Test"' in r["body"] or "x-test" in r["body"].lower()
    assert r["response_time_us"] > 0
    # The original API's tests check isinstance(r, dict); it is one, and serializes as one.
    assert isinstance(r, dict) and json.loads(json.dumps(r))["status_code"] == 200
    assert r.json()["headers"]["X-Test"] == "1" and r.header("content-type")
    miss = e.get(nginx.url("/missing"))
    assert miss.status_code == 404 and not miss.success and miss.error_message == "HTTP 404"
    from helpers import free_port
    refused = e.get(f"http://127.0.0.1:{free_port()}/")
    assert not refused.success and refused.error_message == "refused"
    m = e.get_metrics()
    assert m["total_requests"] == 3 and m["failed_requests"] == 2
    e.reset_metrics()
    assert e.get_metrics()["total_requests"] == 0
    with pytest.raises(ValueError):
        e.get("not a url")


def test_protocol_one_off_calls(target):
    e = Engine()
    ws = target.url("/ws").replace("http://", "ws://")
    assert e.websocket_connect(ws)
    assert e.websocket_send(ws, "hello")
    assert e.websocket_receive(ws, timeout_ms=2000) == "hello"
    assert e.websocket_close(ws)
    # TCP in the original API's shape: result dicts, a connection per host and port.
    assert "no active tcp connection" in \
        e.tcp_send("127.0.0.1", target.tcp_port, "x")["error_message"].lower()
    c = e.tcp_connect("127.0.0.1", target.tcp_port, timeout_ms=2000)
    assert c["success"] and c["status_code"] == 200 and c["response_time_us"] > 0, c
    sent = e.tcp_send("127.0.0.1", target.tcp_port, "ping\n")
    assert sent["success"] and sent["body"] == "Sent 5 bytes", sent
    got = e.tcp_receive("127.0.0.1", target.tcp_port, until="\n")
    assert got["success"] and got["protocol_data"]["received_data"] == "ping\n", got
    assert e.tcp_disconnect("127.0.0.1", target.tcp_port)["success"]
    assert not e.tcp_disconnect("127.0.0.1", target.tcp_port)["success"]
    from helpers import free_port
    down = e.tcp_connect("127.0.0.1", free_port(), timeout_ms=1000)
    assert not down["success"] and "failed" in down["error_message"], down
    assert not e.tcp_connect("127.0.0.1", 99999)["success"]
    assert e.udp_send("127.0.0.1", target.udp_port, "dgram")
    assert e.udp_receive("127.0.0.1", target.udp_port) == "dgram"
    with pytest.raises(NotImplementedError, match="no ftp protocol"):
        e.ftp_connect("127.0.0.1", 21)


def test_session_manager_and_authentication_in_python(target):
    e = Engine()
    sm = get_session_manager()
    r = e.post(target.url("/login"), data={"username": "member7", "password": "secret"})
    found = sm.process_response("u7", r, [
        {"type": "json_path", "path": "token", "variable": "token"},
        {"type": "cookie", "name": "session", "variable": "session"},
        {"type": "header", "name": "Content-Type", "variable": "ctype"},
        {"type": "regex", "pattern": r'"token":"([^"]+)"', "variable": "again"}])
    assert found["token"] and found["token"] == found["again"]
    assert found["ctype"].startswith("application/json")
    me = e.get(target.url("/me"), headers=sm.prepare_request_headers("u7"))
    assert me.status_code == 200 and "member7" in me.text
    am = get_authentication_manager()
    am.register_flow("form", create_form_auth(target.url("/login"), "member8", "secret",
                                              token_path="token"))
    headers = am.authenticate("form", e, user_id="u8")
    assert e.get(target.url("/me"), headers=headers).status_code == 200


def test_reporters(target, tmp_path):
    out = io.StringIO()
    path = tmp_path / "r.json"
    rep = MultiReporter([ConsoleReporter(stream=out), JSONReporter(path)])

    async def user(vu):
        await vu.get(target.url("/json"))

    r = Engine().run_custom_test(user, users=2, duration=1.2, reporter=rep)
    text = out.getvalue()
    assert "req/s" in text and f"{r['total_requests']:,}" in text
    assert json.loads(path.read_text())["summary"]["total_requests"] == r["total_requests"]


def test_ctrl_c_stops_user_code_with_a_partial_result(target, tmp_path):
    script = tmp_path / "long.py"
    script.write_text(f"""
from loadspiker import Engine
async def user(vu):
    await vu.get({target.url("/json")!r})
    await vu.think_time(0.01)
r = Engine().run_custom_test(user, users=3, duration=30)
print("RESULT", r.interrupted, r["total_requests"], r.exit_code, flush=True)
""")
    p = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    time.sleep(2.0)
    p.send_signal(signal.SIGINT)
    out, _ = p.communicate(timeout=15)
    line = [x for x in out.splitlines() if x.startswith("RESULT")][0].split()
    assert line[1] == "True" and int(line[2]) > 0 and line[3] == "130"


def test_iterations_that_all_raise_fail_the_run(target):
    async def user(vu):
        await vu.get(target.url("/json"))  # the request succeeds, the iteration does not
        raise ValueError("the check in my code failed")

    r = Engine().run_custom_test(user, users=2, duration=0.5)
    assert r["total_requests"] > 0 and r["failed_requests"] == 0
    assert r.extra["iterations_failed"] == r.extra["iterations"] > 0
    assert r.exit_code == 1  # the CLI's rule: over half the iterations failed


def test_durations_must_be_finite():
    for bad in (float("inf"), float("nan"), -1):
        with pytest.raises(ValueError, match="duration"):
            Engine().run_custom_test(lambda vu: None, users=1, duration=bad)


def test_ctrl_c_stops_async_user_code_that_blocks_the_loop(target, tmp_path):
    script = tmp_path / "blocking.py"
    script.write_text(f"""
import time
from loadspiker import Engine
async def user(vu):
    await vu.get({target.url("/json")!r})
    time.sleep(3600)  # blocks the event loop: no await comes back
r = Engine().run_custom_test(user, users=2, duration=60)
print("RESULT", r.interrupted, r["total_requests"], r.exit_code, flush=True)
""")
    p = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    time.sleep(2.0)
    p.send_signal(signal.SIGINT)
    started = time.monotonic()
    out, _ = p.communicate(timeout=15)
    assert time.monotonic() - started < 5
    line = [x for x in out.splitlines() if x.startswith("RESULT")][0].split()
    assert line[1] == "True" and int(line[2]) > 0 and line[3] == "130"


def test_a_huge_scenario_is_refused_at_once():
    from loadspiker import Scenario
    s = Scenario("huge")
    for i in range(1_000_000):
        s.get(f"http://127.0.0.1:9/{i}")
    started = time.monotonic()
    with pytest.raises(ValueError, match="at most 64"):
        Engine().run_scenario(s, users=1, duration=1)
    assert time.monotonic() - started < 2


def test_loadspiker_run_script_py(target, tmp_path):
    script = tmp_path / "smoke.py"
    script.write_text(f"""
from loadspiker import Engine, Scenario
s = Scenario("smoke")
s.get({target.url("/json")!r})
r = Engine(worker_threads=1).run_scenario(s, users=1, duration=None, iterations=7)
print("REQUESTS", r["total_requests"])
raise SystemExit(r.exit_code)
""")
    from helpers import LOADSPIKER
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)  # the CLI finds the build's package itself
    p = subprocess.run([LOADSPIKER, "run", str(script)], capture_output=True, text=True,
                       timeout=60, env=env)
    assert p.returncode == 0, p.stderr
    assert "REQUESTS 7" in p.stdout
    p = subprocess.run([LOADSPIKER, "run", str(script), "-c", "5"], capture_output=True,
                       text=True, timeout=60, env=env)
    assert p.returncode != 0 and "sets its own load" in p.stderr
