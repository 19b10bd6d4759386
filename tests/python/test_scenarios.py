"""Form 1: declarative scenarios compiled to the engine's plan and run at native speed. The
original LoadSpiker examples (login with a token, REST CRUD, CSV-driven users, assertions,
performance assertions, mixed protocols), with counts checked against what the servers saw."""
import json
import os
import subprocess
import sys
import threading
import time

import pytest

import loadspiker
from loadspiker import Engine, RESTAPIScenario, Scenario, MixedProtocolScenario, HTTPRequest
from loadspiker.assertions import (body_contains, header_exists, json_path, or_, status_is,
                                   response_time_under, custom_assertion)
from loadspiker.authentication import create_form_auth, OAuth2ClientCredentials
from loadspiker.performance_assertions import (as_thresholds, avg_response_time_under,
                                               error_rate_below, max_response_time_under,
                                               run_performance_assertions,
                                               success_rate_at_least, throughput_at_least,
                                               total_requests_at_least)

HERE = os.path.dirname(os.path.abspath(__file__))


def engine():
    return Engine(worker_threads=1)


def test_iterations_match_nginx_log(nginx, fresh_log):
    s = Scenario("users")
    s.get(nginx.url("/user/1"), assertions=[status_is(200)])
    r = engine().run_scenario(s, users=4, duration=None, iterations=300)
    lines = fresh_log()
    assert r["total_requests"] == 300
    assert r["successful_requests"] == 300
    assert len(lines) == 300
    assert all(line[0] == "200" and line[3] == "/user/1" for line in lines)
    assert r.exit_code == 0 and r.passed
    # the JSON result is the CLI's: Kaioken's schema, the checks counted natively
    assert r.data["summary"]["total_requests"] == 300
    assert r.checks


def test_login_with_token_extraction(target):
    """The original API's login example: log in once per VU, keep the token, use it."""
    s = Scenario("member", base_url=target.url(""))
    s.add_request(HTTPRequest("/login", method="POST", form={"username": "member${VU_ID}",
                                                            "password": "secret"},
                              extract=[{"type": "json_path", "path": "token",
                                        "variable": "token"}],
                              once=True, assertions=[status_is(200)], name="login"))
    s.get("/me", headers={"Authorization": "Bearer ${token}"},
          assertions=[status_is(200), body_contains("member")], name="me")
    r = engine().run_scenario(s, users=3, duration=1)
    steps = {x["name"]: x for x in r.steps}
    assert steps["login"]["requests"] == 3  # once per VU
    assert steps["me"]["requests"] > 10
    assert r["failed_requests"] == 0
    assert r.exit_code == 0


def test_rest_crud(target):
    api = RESTAPIScenario(target.url(""), "crud")
    api.create_resource("/items", {"name": "widget"}, extract={"id": "json:$.id"},
                        assertions=[status_is(201)], name="create")
    api.get_resource("/items/${id}", assertions=[status_is(200), body_contains("widget")],
                     name="read")
    api.update_resource("/items/${id}", {"name": "renamed"},
                        assertions=[status_is(200), json_path("$.id"), body_contains("renamed")],
                        name="update")
    api.delete_resource("/items/${id}", assertions=[status_is(204)], name="delete")
    r = engine().run_scenario(api, users=2, duration=1)
    steps = {x["name"]: x["requests"] for x in r.steps}
    # every read, update and delete used an id the create handed out (404 otherwise)
    assert r["failed_requests"] == 0
    assert steps["create"] >= steps["read"] >= steps["delete"] > 5
    assert r.exit_code == 0


def test_csv_driven_users_unique(nginx, fresh_log, tmp_path):
    path = tmp_path / "users.csv"
    path.write_text("username,password\n" + "".join(f"u{i},p{i}\n" for i in range(40)))
    s = Scenario("csv")
    name = s.load_data_file(str(path), strategy="unique")
    assert name == "users"
    s.get(nginx.url("/user/${users.username}"))
    r = engine().run_scenario(s, users=4, duration=None, iterations=40)
    uris = sorted(line[3] for line in fresh_log())
    assert uris == sorted(f"/user/u{i}" for i in range(40))  # each row exactly once
    assert r["total_requests"] == 40


def test_csv_shared_strategy_is_circular(nginx, fresh_log, tmp_path):
    path = tmp_path / "names.csv"
    path.write_text("name\na\nb\n")
    s = Scenario("shared")
    s.load_data_file(str(path), strategy="shared")
    s.get(nginx.url("/user/${names.name}"))
    engine().run_scenario(s, users=2, duration=None, iterations=10)
    uris = [line[3] for line in fresh_log()]
    assert sorted(uris) == ["/user/a"] * 5 + ["/user/b"] * 5


def test_failed_assertion_is_counted(nginx):
    s = Scenario("wrong")
    s.get(nginx.url("/user/1"), assertions=[status_is(201)])
    r = engine().run_scenario(s, users=2, duration=None, iterations=50)
    checks = r.checks
    assert r["total_requests"] == 50
    # the check failed on every response, natively; the iterations failed
    assert sum(c["failed"] for c in checks.values()) == 50, checks
    assert r.exit_code == 1  # over half the iterations failed


def test_and_or_assertions_compile_to_native_checks(nginx):
    a = or_(status_is(500), body_contains("ok")) & header_exists("Content-Type")
    assert a.check == ('status == 500 && header Content-Type exists || '
                       'body contains "ok" && header Content-Type exists')
    s = Scenario("groups")
    s.get(nginx.url("/user/1"), assertions=[a, response_time_under(5000)])
    r = engine().run_scenario(s, users=1, duration=None, iterations=20)
    assert r["failed_requests"] == 0 and r.exit_code == 0


def test_custom_assertion_is_refused_in_a_declarative_scenario(nginx, fresh_log):
    s = Scenario("custom")
    s.get(nginx.url("/user/1"), assertions=[custom_assertion(lambda r: True)])
    with pytest.raises(ValueError, match="runs in Python"):
        engine().run_scenario(s, users=1, duration=1)
    assert fresh_log() == []


def test_bad_url_raises_before_sending(nginx, fresh_log):
    s = Scenario("bad")
    s.get(nginx.url("/user/1"))
    s.get("htp://127.0.0.1/x")
    with pytest.raises(loadspiker.RunError) as e:
        engine().run_scenario(s, users=1, duration=1)
    assert "htp" in str(e.value)
    assert fresh_log() == []  # nothing was sent
    with pytest.raises(ValueError, match="unknown keyword"):
        engine().run_scenario(s, users=1, duration=1, durration=3)
    with pytest.raises(ValueError, match="users"):
        engine().run_scenario(s, users=0, duration=1)


def test_bad_load_names_the_keyword(nginx):
    s = Scenario("ramp")
    s.get(nginx.url("/user/1"))
    with pytest.raises(loadspiker.RunError, match="ramp_up_duration="):
        engine().run_scenario(s, users=2, duration=1, ramp_up_duration=5)


def test_performance_assertions_on_the_real_result(nginx):
    s = Scenario("perf")
    s.get(nginx.url("/user/1"))
    r = engine().run_scenario(s, users=2, duration=1)
    ok, results = run_performance_assertions(r, [
        throughput_at_least(10), error_rate_below(1), success_rate_at_least(99),
        total_requests_at_least(r["total_requests"]), avg_response_time_under(1000)])
    assert ok, results
    ok, failures = run_performance_assertions(r, [max_response_time_under(0.000001),
                                                  total_requests_at_least(10**9)])
    assert not ok
    assert len(failures) == 2 and "Maximum response time" in failures[0], failures
    assert f"Total requests {r['total_requests']} is below minimum" in failures[1]


def test_performance_assertions_as_engine_thresholds(nginx):
    s = Scenario("gate")
    s.get(nginx.url("/user/1"))
    r = engine().run_scenario(s, users=2, duration=1,
                              thresholds=as_thresholds([max_response_time_under(0.000001)]))
    assert r.exit_code == 4  # thresholds failed: as `loadspiker run` exits
    assert not r.passed


def test_load_models(nginx, fresh_log):
    s = Scenario("open")
    s.get(nginx.url("/user/1"))
    r = engine().run_scenario(s, duration=2, arrival_rate=100, max_vus=20)
    assert r.data["metadata"]["load"]["executor"] == "constant-arrival-rate"
    assert 190 <= r["total_requests"] <= 201
    assert len(fresh_log()) == r["total_requests"]
    r = engine().run_scenario(s, users=None, duration=None,
                              stages=[("1s", 2), {"duration": 1, "target": 4}])
    assert r.data["metadata"]["load"]["executor"] == "ramping-vus"


def test_mixed_protocols(target):
    m = MixedProtocolScenario("mixed")
    m.tcp_send("127.0.0.1", target.tcp_port, "HELLO ${VU_ID}\n", name="tcp out")
    m.tcp_receive("127.0.0.1", target.tcp_port, until="\n",
                  assertions=[body_contains("HELLO")], name="tcp in")
    m.udp_send("127.0.0.1", target.udp_port, "ping", name="udp out")
    m.udp_receive("127.0.0.1", target.udp_port, assertions=['body == "ping"'] and
                  [body_contains("ping")], name="udp in")
    m.websocket_connect(target.url("/ws").replace("http", "ws"), name="ws connect")
    m.websocket_send("hi ws", name="ws send")
    m.websocket_receive(match=body_contains("hi ws"), name="ws receive")
    m.websocket_close(name="ws close")
    r = engine().run_scenario(m, users=2, duration=1)
    steps = {x["name"]: x for x in r.steps}
    assert set(steps) == {"tcp out", "tcp in", "udp out", "udp in", "ws connect", "ws send",
                          "ws receive", "ws close"}
    assert all(x["requests"] > 3 for x in steps.values())
    assert r["failed_requests"] == 0, r.data.get("errors")


def test_registered_protocol_actions_are_scenario_methods(target):
    s = Scenario("raw")
    s.tcp_send(f"tcp://127.0.0.1:{target.tcp_port}", "x\n")
    s.tcp_receive(f"tcp://127.0.0.1:{target.tcp_port}", until="\n")
    r = engine().run_scenario(s, users=1, duration=None, iterations=20)
    assert r["total_requests"] == 40 and r["failed_requests"] == 0
    with pytest.raises(AttributeError, match="not an action"):
        s.ftp_upload


def test_tcp_scenario_builder_of_the_original_api_runs_for_real(target):
    from loadspiker.scenarios import TCPScenario
    s = TCPScenario("127.0.0.1", target.tcp_port, "echo")
    s.add_echo_test("hello\n", timeout_ms=2000)
    assert [o["type"] for o in s.build_tcp_operations()] == [
        "tcp_connect", "tcp_send", "tcp_receive", "tcp_disconnect"]
    assert s.hostname == "127.0.0.1" and s.port == target.tcp_port
    r = engine().run_scenario(s, users=2, duration=None, iterations=10)
    # connect, send, receive, close: four requests an iteration, all answered
    assert r["total_requests"] == 40 and r["failed_requests"] == 0, r.data.get("errors")
    from loadspiker.scenarios import MixedProtocolScenario
    m = MixedProtocolScenario("mix")
    m.add_http_request(target.url("/json"), "GET")
    assert m.build_mixed_operations()[0]["type"] == "http"
    r = engine().run_scenario(m, users=1, duration=None, iterations=5)
    assert r["total_requests"] == 5 and r["failed_requests"] == 0


def test_form_login_flow_compiles_to_a_login_step(target):
    s = Scenario("auth", base_url=target.url(""))
    s.set_auth(create_form_auth("/login", "member1", "secret", token_path="token"))
    s.get("/me", assertions=[status_is(200)], name="me")
    s.get("/cart", assertions=[status_is(200)], name="cart")
    r = engine().run_scenario(s, users=2, duration=1)
    steps = {x["name"]: x["requests"] for x in r.steps}
    assert steps["login"] == 2 and steps["me"] > 5
    assert r["failed_requests"] == 0


def test_gil_is_released_during_run_scenario(nginx):
    ticks = [0]
    stop = threading.Event()

    def spin():
        while not stop.is_set():
            ticks[0] += 1
            time.sleep(0.001)

    t = threading.Thread(target=spin)
    t.start()
    s = Scenario("gil")
    s.get(nginx.url("/user/1"))
    r = engine().run_scenario(s, users=2, duration=1.5)
    stop.set()
    t.join()
    assert r["total_requests"] > 0
    assert ticks[0] > 300  # the Python thread ran all along (1 ms sleeps)


def test_progress_callback_and_outputs(nginx, tmp_path):
    seen = []
    s = Scenario("out")
    s.get(nginx.url("/user/1"))
    out = tmp_path / "r.json"
    r = engine().run_scenario(s, users=2, duration=2.2, on_progress=seen.append,
                              outputs=[str(out)])
    assert len(seen) >= 2 and seen[-1]["finished"]
    assert seen[-1]["requests"] == r["total_requests"]
    assert json.loads(out.read_text())["summary"]["total_requests"] == r["total_requests"]
    r.write(tmp_path / "r.html")
    r.write(tmp_path / "r.md")
    assert "<html" in (tmp_path / "r.html").read_text().lower()
    assert f"| {r['total_requests']:,} |" in (tmp_path / "r.md").read_text()


def test_percentile_matches_a_known_delay(target):
    s = Scenario("delay")
    s.get(target.url("/delay/40"))
    r = engine().run_scenario(s, users=4, duration=None, iterations=40)
    assert 40 <= r.percentile(50) < 45
    assert 40 <= r.percentile(99) < 60
    assert r.percentile(100) * 1000 == r["max_response_time_us"]


def test_to_toml_runs_with_the_cli(nginx, tmp_path):
    s = Scenario("exported")
    s.get(nginx.url("/user/${VU_ID}"), assertions=[status_is(200)])
    path = tmp_path / "plan.toml"
    path.write_text(s.to_toml(load={"vus": 2, "iterations": 10}))
    from helpers import run_cli
    code, doc, err = run_cli(str(path))
    assert code == 0, err
    assert doc["summary"]["total_requests"] == 10


def test_ctrl_c_stops_the_run_and_returns_the_partial_result(nginx, tmp_path):
    script = tmp_path / "long.py"
    script.write_text(f"""
from loadspiker import Engine, Scenario
s = Scenario("long")
s.get({nginx.url("/user/1")!r})
r = Engine(worker_threads=1).run_scenario(s, users=2, duration=30)
print("RESULT", r.interrupted, r["total_requests"], r.exit_code, flush=True)
""")
    p = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True,
                         env=dict(os.environ))
    time.sleep(2.0)
    p.send_signal(__import__("signal").SIGINT)
    out, _ = p.communicate(timeout=15)
    line = [x for x in out.splitlines() if x.startswith("RESULT")][0].split()
    assert line[1] == "True" and int(line[2]) > 0 and line[3] == "130"


def test_protocol_scenarios_and_start_load_test(target, nginx, fresh_log):
    from loadspiker import TCPScenario, UDPScenario, WebSocketScenario, WebsiteScenario
    tcp = TCPScenario("127.0.0.1", target.tcp_port, name="tcp")
    tcp.send("line ${ITERATION}\n")
    tcp.receive(until="\n", assertions=[body_contains("line")])
    udp = UDPScenario("127.0.0.1", target.udp_port, name="udp")
    udp.send(hex="68 69")
    udp.receive(assertions=[body_contains("hi")])
    ws = WebSocketScenario(target.url("/ws").replace("http", "ws"), name="ws")
    ws.connect()
    ws.send(json={"n": "${ITERATION}"})
    ws.receive(match=body_contains('"n"'))
    ws.close()
    site = WebsiteScenario(target.url(""), name="site")
    site.visit_page("/cookies/set?seen=1")
    site.visit_page("/cookies", assertions=[body_contains("seen")])
    e = engine()
    for s in (tcp, udp, ws, site):
        r = e.run_scenario(s, users=1, duration=None, iterations=10)
        assert r["failed_requests"] == 0, (s.name, r.data.get("errors"))
        assert r["total_requests"] == 10 * len(s.steps)
        assert all(c["failed"] == 0 and c["total"] == 10 for c in r.checks.values()), r.checks
    r = e.start_load_test([{"url": nginx.url("/user/a")}, nginx.url("/user/b")], users=1,
                          duration=0.5)
    uris = {line[3] for line in fresh_log()}
    assert uris == {"/user/a", "/user/b"} and r["total_requests"] > 10
