"""Redis (redis://) against a real redis-server started on a free loopback port: counts from
the server's INFO commandstats, a journey mixing HTTP and Redis with extraction across both,
error replies counted by prefix, bad commands refused before anything is sent, and the Python
API and grid runner that come from the one registration."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

from helpers import LOADSPIKER, Target, free_port, run_cli, wait_for_port

BUILD_PYTHON = os.path.join(os.path.dirname(LOADSPIKER), "..", "..", "python")


class RedisServer:
    def __init__(self, *extra):
        self.port = free_port()
        self.password = extra[1] if extra[:1] == ("--requirepass",) else None
        self.proc = subprocess.Popen(
            [shutil.which("redis-server") or "/usr/bin/redis-server", "--port", str(self.port),
             "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", *extra],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port)
        self.url = f"redis://127.0.0.1:{self.port}"

    def cli(self, *args):
        auth = ["--no-auth-warning", "-a", self.password] if self.password else []
        return subprocess.run(["redis-cli", "-p", str(self.port), *auth, *args],
                              capture_output=True, text=True, check=True).stdout

    def calls(self):
        out = {}
        for line in self.cli("info", "commandstats").splitlines():
            if line.startswith("cmdstat_"):
                name, rest = line[8:].split(":", 1)
                fields = dict(kv.split("=") for kv in rest.split(","))
                out[name] = int(fields["calls"])
        return out

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


class Redis(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.redis = RedisServer()
        cls.target = Target(threads=1)
        cls.tmp = tempfile.mkdtemp(prefix="spiker-redis-")

    @classmethod
    def tearDownClass(cls):
        cls.redis.stop()
        cls.target.stop()

    def setUp(self):
        self.redis.cli("config", "resetstat")

    def test_rediss_runs_over_tls(self):
        # A TLS terminator (socat) in front of the server: rediss:// speaks TLS to it.
        key, cert = os.path.join(self.tmp, "key.pem"), os.path.join(self.tmp, "cert.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                        key, "-out", cert, "-days", "1", "-subj", "/CN=localhost", "-addext",
                        "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
        port = free_port()
        tls = subprocess.Popen(["socat", f"OPENSSL-LISTEN:{port},cert={cert},key={key},"
                                "verify=0,fork,reuseaddr", f"TCP:127.0.0.1:{self.redis.port}"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for_port(port)
            before = self.redis.calls().get("incr", 0)
            code, doc, err = run_cli(f"rediss://127.0.0.1:{port}", "--command", "INCR tls",
                                     "--cacert", cert, "-c", "2", "-n", "200")
            self.assertEqual(code, 0, err)
            self.assertEqual(self.redis.calls().get("incr", 0) - before, 200)
            self.assertEqual(doc["connections"]["tls_handshake_us"]["count"], 2)
        finally:
            tls.terminate()
            tls.wait(timeout=10)

    def test_load_counts_match_commandstats(self):
        code, doc, err = run_cli(self.redis.url, "--command",
                                 "SET key:${RANDOM_INT:1:100} v${ITERATION}", "-c", "10", "-n",
                                 "5000", "-t", "1")
        self.assertEqual(code, 0, err)
        self.assertEqual(doc["summary"]["total_requests"], 5000)
        self.assertEqual(doc["redis"]["commands"], 5000)
        self.assertEqual(doc["redis"]["replies"], 5000)
        self.assertEqual(self.redis.calls().get("set"), 5000)
        self.assertEqual(doc["metadata"]["load"]["protocol"], "redis")

    def test_pipelining_counts_match(self):
        code, doc, err = run_cli(self.redis.url, "--command", "INCR pipelined", "-c", "4",
                                 "-n", "4000", "--pipeline", "8", "-t", "1")
        self.assertEqual(code, 0, err)
        self.assertEqual(doc["summary"]["total_requests"], 4000)
        self.assertEqual(self.redis.calls().get("incr"), 4000)
        self.assertEqual(self.redis.cli("get", "pipelined").strip(), "4000")
        code, doc, err = run_cli("tcp://127.0.0.1:1", "-b", "x", "--pipeline", "2", "-n", "1")
        self.assertEqual(code, 2)  # tcp:// does not pipeline
        self.assertIn("--pipeline does not apply", err)

    def test_journey_mixing_http_and_redis(self):
        path = os.path.join(self.tmp, "mix.toml")
        with open(path, "w") as f:
            f.write(f"""
[[scenarios]]
name = "mix"
  [[scenarios.steps]]
  name = "create"
  method = "POST"
  url = "{self.target.url('/items')}"
  json = {{ name = "widget" }}
  extract = {{ id = "json:$.id" }}
  [[scenarios.steps]]
  name = "store"
  action = "redis.command"
  url = "{self.redis.url}"
  command = "SET item:${{id}} widget-${{id}}"
  checks = ['value == "OK"']
  [[scenarios.steps]]
  name = "read"
  action = "redis"
  command = ["GET", "item:${{id}}"]
  checks = ['body contains "widget-"']
  extract = {{ stored = "body" }}
  [[scenarios.steps]]
  name = "echo"
  url = "{self.target.url('/echo')}"
  method = "POST"
  body = "${{stored}}"
  checks = ['body contains "widget-"']
""")
        code, doc, err = run_cli(path, "-c", "2", "--iterations", "30")
        self.assertEqual(code, 0, err)
        self.assertEqual(doc["journeys"]["iterations"], 30)
        self.assertEqual(doc["checks"]["overall_pass_rate"], 1.0)
        self.assertEqual(doc["summary"]["failed"], 0)
        calls = self.redis.calls()
        self.assertEqual((calls.get("set"), calls.get("get")), (30, 30))
        keys = self.redis.cli("--scan", "--pattern", "item:*").split()
        self.assertGreaterEqual(len(keys), 30)

    def test_error_replies_are_counted_by_prefix(self):
        self.redis.cli("set", "astring", "x")
        code, doc, err = run_cli(self.redis.url, "--command", "LPUSH astring y", "-c", "2",
                                 "-n", "50")
        self.assertEqual(code, 1)  # every request failed
        self.assertEqual(doc["summary"]["failed"], 50)
        self.assertEqual(doc["redis"]["errors_WRONGTYPE"], 50)
        code, doc, err = run_cli(self.redis.url, "--command", "NOSUCHCOMMAND", "-n", "5")
        self.assertEqual(doc["redis"]["errors_ERR"], 5)
        # A step that expects the error passes on it (the request still counts as failed).
        path = os.path.join(self.tmp, "wrongtype.toml")
        with open(path, "w") as f:
            f.write(f"""
[[scenarios]]
name = "w"
  [[scenarios.steps]]
  name = "ok1"
  action = "redis"
  url = "{self.redis.url}"
  command = "PING"
  [[scenarios.steps]]
  name = "ok2"
  action = "redis"
  command = "PING"
  [[scenarios.steps]]
  name = "push"
  action = "redis"
  command = ["LPUSH", "astring", "has \\"quotes\\" and spaces"]
  checks = ['error == "WRONGTYPE"']
""")
        code, doc, err = run_cli(path, "-c", "1", "--iterations", "3")
        self.assertEqual(code, 0, err)
        self.assertEqual(doc["checks"]["overall_pass_rate"], 1.0)
        self.assertEqual(doc["redis"]["errors_WRONGTYPE"], 3)

    def test_bad_commands_are_refused_before_sending(self):
        code, doc, err = run_cli(self.redis.url, "--command", "SET \"open", "-n", "5")
        self.assertEqual(code, 2)
        self.assertIn("quotes must close", err)
        code, doc, err = run_cli(self.redis.url, "-n", "5")
        self.assertEqual(code, 2)
        self.assertIn("give a Redis command", err)
        sent = {k: v for k, v in self.redis.calls().items()
                if not k.startswith(("config", "info"))}
        self.assertEqual(sent, {})  # nothing reached the server

    def test_auth_resp3_and_select(self):
        server = RedisServer("--requirepass", "s3cret")
        try:
            code, doc, err = run_cli(server.url, "--command", "SET k v", "-n", "10")
            self.assertEqual(doc["redis"]["errors_NOAUTH"], 10)
            code, doc, err = run_cli(server.url, "--command", "SET k v", "-n", "10", "--auth",
                                     "wrong")
            self.assertEqual(doc["summary"]["failed"], 10)
            self.assertEqual(doc["redis"]["errors_WRONGPASS"], 10)
            self.assertNotIn("wrong", json.dumps(doc))  # the password is in no output
            code, doc, err = run_cli(server.url, "--command", "SET a${REQUEST_ID} v", "-n", "10",
                                     "-c", "2", "--auth", "default:s3cret", "--resp", "3",
                                     "--db", "2")
            self.assertEqual(code, 0, err)
            self.assertNotIn("s3cret", json.dumps(doc))
            self.assertEqual(server.cli("-n", "2", "dbsize").strip(), "10")
            self.assertEqual(server.cli("-n", "0", "dbsize").strip(), "0")
            code, doc, err = run_cli(server.url, "--command", "HGETALL nothing", "-n", "1",
                                     "--auth", "s3cret", "--resp", "3")
            self.assertEqual(code, 0, err)  # a RESP3 map reply
        finally:
            server.stop()

    def test_a_killed_server_is_a_reset_then_reconnects(self):
        server = RedisServer()
        p = subprocess.Popen([LOADSPIKER, "run", server.url, "--command", "PING", "-c", "2",
                              "-d", "3s", "--json", "--timeout", "500ms"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(1.0)
        server.proc.kill()
        server.proc.wait()
        out, err = p.communicate(timeout=30)
        doc = json.loads(out)
        self.assertGreater(doc["summary"]["successful"], 100)
        errors = doc["errors"]
        self.assertTrue(errors.get("reset", 0) + errors.get("refused", 0) > 0, errors)

    def test_python_and_grid_reach_redis_from_its_registration(self):
        env = dict(os.environ, PYTHONPATH=os.path.abspath(BUILD_PYTHON))
        script = f"""
import loadspiker
e = loadspiker.Engine(worker_threads=1)
r = e.redis_command({self.redis.url!r}, "SET py 1")
assert r.ok and r.text == "OK", r
assert e.redis_command({self.redis.url!r}, "GET py").text == "1"
s = loadspiker.Scenario("r")
s.redis_command({self.redis.url!r}, "INCR counter")
res = e.run_scenario(s, users=2, duration=None, iterations=25)
print("REQUESTS", res["total_requests"], res["failed_requests"])
"""
        p = subprocess.run(["/usr/bin/python3", "-c", script], capture_output=True, text=True,
                           env=env, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("REQUESTS 25 0", p.stdout)
        self.assertEqual(self.redis.cli("get", "counter").strip(), "25")
        grid = os.path.join(self.tmp, "redis.hcl")
        with open(grid, "w") as f:
            f.write(f"""
step "redis" "set" {{
  arguments {{
    url     = "{self.redis.url}"
    action  = "command"
    command = "SET grid hello"
  }}
}}
step "redis" "get" {{
  arguments {{
    url     = "{self.redis.url}"
    action  = "command"
    command = "GET grid"
  }}
  depends_on = ["set"]
}}
step "print" "got" {{
  arguments {{ input = step.redis.get.output.body }}
}}
""")
        p = subprocess.run([LOADSPIKER, "run", grid], capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("[print.got] hello", p.stdout)


if __name__ == "__main__":
    unittest.main()
