"""burstgridgo grids: run once as a workflow (DAG, count, splat, env vars, print, fail-fast,
manifests' checks) and under load (every VU's iteration), against nginx and the embedded
target, with counts from what the servers saw."""
import json
import os
import resource
import subprocess
import tempfile
import textwrap
import threading
import time
import unittest
import urllib.request

from helpers import LOADSPIKER, Nginx, Target, free_port


def write(tmp, text, name="grid.hcl"):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write(textwrap.dedent(text))
    return path


def grid(*args, env=None, timeout=120):
    p = subprocess.run([LOADSPIKER, *args], capture_output=True, text=True, timeout=timeout,
                       env=env)
    return p.returncode, p.stdout, p.stderr


class Grids(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.nginx = Nginx(extra_server="""
    location /get { return 200 '{"ok":true}'; }
    location /fan/ { return 200 'fan'; }
    location = /post { return 201 'made'; }
    location /fail/ { return 500 'broken'; }
""")
        cls.target = Target(threads=1)
        cls.tmp = tempfile.mkdtemp(prefix="spiker-grid-")

    @classmethod
    def tearDownClass(cls):
        cls.nginx.stop()
        cls.target.stop()

    def setUp(self):
        self.nginx.log_lines(0.1)
        open(self.nginx.log, "w").close()

    def log(self):
        return self.nginx.log_lines(0.3)

    def test_http_request_example_runs_in_dependency_order(self):
        n = self.nginx.url("")
        path = write(self.tmp, f"""
            step "http_request" "first" {{
              arguments {{
                url = "{n}/get"
              }}
            }}
            step "http_request" "second" {{
              arguments {{
                url = "{n}/fan/2"
              }}
              depends_on = ["first"]
            }}
            step "http_request" "third" {{
              arguments {{
                url = "{n}/fan/3"
              }}
              depends_on = ["http_request.first"]
            }}
            step "http_request" "final" {{
              arguments {{
                url    = "{n}/post"
                method = "POST"
                body   = "done"
              }}
              depends_on = ["step.http_request.second", "http_request.third"]
              check      = output.status_code == 201
            }}
            """)
        code, out, err = grid("run", path)
        self.assertEqual(code, 0, err)
        uris = [line[3] for line in self.log()]
        self.assertEqual(len(uris), 4)
        self.assertEqual(uris[0], "/get")
        self.assertEqual(uris[-1], "/post")
        self.assertIn("4 step runs ok", out)

    def test_static_count_fan_in_with_splat(self):
        n = self.nginx.url("")
        path = write(self.tmp, f"""
            resource "http_client" "shared" {{
              arguments {{
                timeout  = "5s"
                base_url = "{n}"
              }}
            }}
            step "http_request" "first" {{
              uses {{ client = resource.http_client.shared }}
              arguments {{ url = "/get" }}
            }}
            step "http_request" "fan" {{
              count = 10
              uses {{ client = resource.http_client.shared }}
              arguments {{ url = "/fan/${{count.index + 1}}" }}
              depends_on = ["http_request.first"]
            }}
            step "print" "all" {{
              arguments {{
                input = step.http_request.fan[*].output.status_code
              }}
            }}
            """)
        code, out, err = grid("run", path)
        self.assertEqual(code, 0, err)
        uris = sorted(line[3] for line in self.log())
        self.assertEqual(uris, sorted(["/get"] + [f"/fan/{i}" for i in range(1, 11)]))
        printed = json.loads(out[out.index("[print.all] ") + 12:out.index("]\n", out.index(
            "[print.all] ")) + 1])
        self.assertEqual(printed, [200] * 10)

    def test_dynamic_count_from_env_vars(self):
        n = self.nginx.url("")
        path = write(self.tmp, f"""
            step "env_vars" "config" {{
              arguments {{
                defaults = {{ "REQUEST_COUNT" = "2" }}
              }}
            }}
            step "http_request" "fan" {{
              count = tonumber(step.env_vars.config.output.vars.REQUEST_COUNT)
              arguments {{ url = "{n}/fan/${{count.index}}" }}
            }}
            """)
        self.assertEqual(grid("run", path)[0], 0)
        self.assertEqual(len(self.log()), 2)
        env = dict(os.environ, REQUEST_COUNT="7")
        self.assertEqual(grid("run", path, env=env)[0], 0)
        self.assertEqual(len(self.log()), 2 + 7)

    def test_env_vars_required_and_optional(self):
        path = write(self.tmp, """
            step "env_vars" "db" {
              arguments {
                prefix       = "GRIDTEST_"
                strip_prefix = true
                defaults     = { "GRIDTEST_HOST" = "localhost" }
                required     = ["GRIDTEST_HOST", "GRIDTEST_PASS"]
              }
            }
            step "print" "show" {
              arguments {
                input = step.env_vars.db.output.vars
              }
            }
            """)
        code, out, err = grid("run", path)
        self.assertEqual(code, 1)
        self.assertIn("required environment variables are not set: GRIDTEST_PASS", err + out)
        self.assertIn("skipped", err)
        env = dict(os.environ, GRIDTEST_PASS="s3cret")
        code, out, err = grid("run", path, env=env)
        self.assertEqual(code, 0, err)
        self.assertIn('"HOST": "localhost"', out)
        self.assertIn('"PASS": "s3cret"', out)

    def test_count_instances_run_in_parallel(self):
        t = self.target.url("/")
        path = write(self.tmp, f"""
            step "http_request" "slow" {{
              count = 8
              arguments {{ url = "{t}delay/400" }}
            }}
            """)
        start = time.monotonic()
        code, out, err = grid("run", path)
        elapsed = time.monotonic() - start
        self.assertEqual(code, 0, err)
        self.assertLess(elapsed, 1.5)  # 8 x 400 ms one after another would be 3.2 s

    def test_for_each_over_a_map_and_a_set(self):
        n = self.nginx.url("")
        path = write(self.tmp, f"""
            variable "pages" {{
              default = {{ home = "/fan/home", about = "/fan/about" }}
            }}
            step "http_request" "page" {{
              for_each = var.pages
              arguments {{ url = "{n}${{each.value}}?name=${{each.key}}" }}
            }}
            step "http_request" "tag" {{
              for_each = toset(["b", "a", "b"])
              arguments {{ url = "{n}/fan/${{each.key}}-${{each.value}}" }}
              depends_on = [step.http_request.page]
            }}
            step "print" "codes" {{
              arguments {{
                input = [step.http_request.page["home"].output.status_code,
                         step.http_request.page.about.output.status_code,
                         length(step.http_request.tag)]
              }}
            }}
            """)
        code, out, err = grid("validate", path)
        self.assertEqual(code, 0, err)
        self.assertIn("http_request.page  (for_each)", out)
        code, out, err = grid("run", "--json", path)
        self.assertEqual(code, 0, err)
        uris = [line[3] for line in self.log()]
        self.assertEqual(sorted(uris[:2]), ["/fan/about?name=about", "/fan/home?name=home"])
        self.assertEqual(sorted(uris[2:]), ["/fan/a-a", "/fan/b-b"])
        self.assertIn('[print.codes] [\n  200,\n  200,\n  2\n]', out)
        self.assertIn('http_request.page["about"]', err)
        doc = json.loads(out[out.index("{"):])
        keys = sorted(s.get("key", "") for s in doc["steps"] if s["step"] == "http_request.tag")
        self.assertEqual(keys, ["a", "b"])
        for each, expected in [
                ("42", "bad.hcl:2:14: for_each must be a map, or a set or list of strings: it "
                       "is a number"),
                ('["a", 1]', "bad.hcl:2:14: for_each must be a map, or a set or list of "
                             "strings: it holds a number"),
                ("each.key", "bad.hcl:2:14: each.key is not set in a step's for_each")]:
            p = write(self.tmp, f'step "print" "p" {{\n  for_each = {each}\n'
                      '  arguments { input = each.key }\n}\n', name="bad.hcl")
            code, out, err = grid("validate", p)
            self.assertEqual(code, 2, out)
            self.assertIn(expected, err)
        p = write(self.tmp, 'step "print" "p" {\n  count = 2\n  for_each = ["a"]\n'
                  '  arguments { input = 1 }\n}\n', name="bad.hcl")
        code, out, err = grid("validate", p)
        self.assertIn("bad.hcl:3:14: step 'print.p' has both count and for_each", err)
        p = write(self.tmp, 'step "print" "p" {\n  arguments { input = each.value }\n}\n',
                  name="bad.hcl")
        code, out, err = grid("validate", p)
        self.assertIn("each.key and each.value are only set in a step with for_each", err)
        p = write(self.tmp, f'step "http_request" "p" {{\n  for_each = ["a"]\n'
                  f'  arguments {{ url = "{n}/get" }}\n}}\n', name="bad.hcl")
        code, out, err = grid("run", "-c", "1", "-d", "1s", p)
        self.assertEqual(code, 2, out)
        self.assertIn("for_each is not supported under load yet", err)

    def test_step_options_retry_timeouts_enabled_delays_continue(self):
        n = self.nginx.url("")
        t = self.target.url("/")
        path = write(self.tmp, f"""
            step "http_request" "flaky" {{
              arguments {{ url = "{n}/fail/retry" }}
              check = output.status_code == 200
              continue_on_failure = true
              tags  = ["api", "retry"]
              retry {{
                attempts = 3
                backoff {{
                  strategy = "constant"
                  initial  = "150ms"
                }}
              }}
            }}
            step "http_request" "slow" {{
              arguments {{ url = "{t}delay/3000" }}
              continue_on_failure = true
              timeouts {{ execution = "200ms" }}
            }}
            step "http_request" "off" {{
              enabled = false
              arguments {{ url = "{n}/fan/off" }}
            }}
            step "http_request" "after" {{
              arguments {{ url = "{n}/fan/after" }}
              delay_before = "300ms"
              delay_after  = "200ms"
              depends_on = [step.http_request.flaky, step.http_request.slow,
                            step.http_request.off]
            }}
            step "print" "last" {{
              arguments {{ input = step.http_request.off.output }}
              depends_on = [step.http_request.after]
            }}
            """)
        code, out, err = grid("validate", path)
        self.assertIn("http_request.flaky  tags api, retry", out)
        start = time.monotonic()
        code, out, err = grid("run", path)
        took = time.monotonic() - start
        self.assertEqual(code, 0, err)
        uris = [line[3] for line in self.log()]
        self.assertEqual(uris, ["/fail/retry"] * 3 + ["/fan/after"])
        self.assertIn("try 1 of 3 failed", err)
        self.assertIn("try 2 of 3 failed", err)
        self.assertIn("(continue_on_failure: the run goes on)", err)
        self.assertIn("enabled is false", err)
        self.assertIn("[print.last] null", out)
        self.assertGreater(took, 0.3 + 0.3 + 0.2)  # two backoffs, delay_before, delay_after
        self.assertLess(took, 2.5)  # the 3 s delay was cut at 200 ms
        bad = [('  retry {\n    attempts = 0\n  }\n', "grid.hcl:4:16: retry.attempts is a whole "
                "number from 1 to 100"),
               ('  delay_before = "soon"\n', 'grid.hcl:3:18: delay_before = "soon" is not a '
                "duration"),
               ('  timeouts {\n    deadline = "1m"\n  }\n', "grid.hcl:4:5: timeouts.deadline "
                "is not supported yet"),
               ('  rate_limit {\n    limit = 1\n  }\n', "grid.hcl:3:3: a rate_limit { } block "
                "is not supported yet"),
               ('  concurrency {\n    limit = 1\n  }\n', "grid.hcl:3:3: a concurrency { } "
                "block is not supported yet"),
               ('  on_error {\n    action = "x"\n  }\n', "grid.hcl:3:3: a on_error { }"),
               ('  env = { A = "b" }\n', "grid.hcl:3:3: 'env' is not supported yet"),
               ('  priority = 1\n', "grid.hcl:3:3: 'priority' is not supported yet"),
               ('  retry {\n    retry_on = ["x"]\n  }\n', "grid.hcl:4:5: retry.retry_on is "
                "not supported yet"),
               ('  continue_on_failure = "maybe"\n', "grid.hcl:3:25: continue_on_failure is "
                "true or false"),
               ('  sensitive = step.print.x.output\n', "grid.hcl:3:15: sensitive is read "
                "before the run")]
        for extra, expected in bad:
            p = write(self.tmp, 'step "print" "p" {\n  arguments { input = 1 }\n' + extra + '}\n',
                      name="bad.hcl")
            code, out, err = grid("validate", p)
            self.assertEqual(code, 2, out + err)
            self.assertIn(expected.replace("grid.hcl", "bad.hcl"), err)
        p = write(self.tmp, f'step "http_request" "p" {{\n  arguments {{ url = "{n}/get" }}\n'
                  '  retry {\n    attempts = 2\n  }\n}\n', name="bad.hcl")
        code, out, err = grid("run", "-c", "1", "-d", "1s", p)
        self.assertEqual(code, 2, out)
        self.assertIn("retry { } is not supported under load yet", err)

    def test_sensitive_steps_are_redacted_in_every_output(self):
        n = self.nginx.url("")
        path = write(self.tmp, f"""
            step "print" "secret" {{
              sensitive = true
              arguments {{ input = "hunter2" }}
            }}
            step "http_request" "token" {{
              sensitive = true
              arguments {{ url = "{n}/fail/hunter2" }}
              check = output.body == "ok"
            }}
            """)
        for args in [("run",), ("run", "--json"), ("grid", "-log-format", "json")]:
            code, out, err = grid(*args, path)
            self.assertEqual(code, 1, err)
            self.assertNotIn("hunter2", out + err)
            self.assertNotIn("broken", out + err)
            self.assertIn("(sensitive)", out + err)
        self.assertIn("[print.secret] (sensitive)", grid("run", path)[1])

    def test_fail_fast_cancels_running_steps_and_skips_dependants(self):
        t = self.target.url("/")
        path = write(self.tmp, f"""
            step "http_request" "slow" {{
              arguments {{ url = "{t}delay/2000" }}
            }}
            step "http_request" "after_slow" {{
              arguments {{ url = "{t}json" }}
              depends_on = ["slow"]
            }}
            step "http_request" "broken" {{
              arguments {{ url = "{t}status/500" }}
              check = output.status_code == 200
            }}
            """)
        start = time.monotonic()
        code, out, err = grid("run", path, "--json")
        elapsed = time.monotonic() - start
        self.assertEqual(code, 1)
        doc = json.loads(out)
        by = {s["step"]: s for s in doc["steps"]}
        self.assertEqual(by["http_request.broken"]["status"], "failed")
        self.assertIn("check failed", by["http_request.broken"]["error"])
        self.assertEqual(by["http_request.slow"]["status"], "cancelled")
        self.assertLess(by["http_request.slow"]["ms"], 100 + by["http_request.broken"]["ms"])
        self.assertEqual(by["http_request.after_slow"]["status"], "skipped")
        self.assertLess(elapsed, 1.0)  # not the 2 s of the cancelled step

    def test_a_cycle_is_named(self):
        n = self.nginx.url("")
        path = write(self.tmp, f"""
            step "http_request" "a" {{
              arguments {{ url = "{n}/get?${{step.http_request.b.output.status_code}}" }}
            }}
            step "http_request" "b" {{
              arguments {{ url = "{n}/get" }}
              depends_on = ["a"]
            }}
            """)
        code, out, err = grid("run", path)
        self.assertEqual(code, 2)
        self.assertRegex(err, r"cycle: http_request\.(a|b) -> http_request\.(a|b) -> "
                              r"http_request\.(a|b)")
        self.assertEqual(self.log(), [])

    def test_input_errors_have_file_line_column(self):
        path = write(self.tmp, """
            step "http_request" "x" {
              arguments {
                url     = "http://127.0.0.1:1/"
                headers = "not a map"
              }
            }
            """, "typed.hcl")
        code, out, err = grid("run", path)
        self.assertEqual(code, 2)
        self.assertIn("typed.hcl:5:", err)
        self.assertIn("map(string) required, got string", err)
        path = write(self.tmp, """
            step "http_request" "x" {
              arguments {
                method = "GET"
              }
            }
            """, "missing.hcl")
        code, out, err = grid("run", path)
        self.assertEqual(code, 2)
        self.assertIn("needs the input 'url'", err)
        path = write(self.tmp, """
            step "http_request" "x" {
              arguments {
                ur = "http://127.0.0.1:1/"
              }
            }
            """, "typo.hcl")
        code, out, err = grid("run", path)
        self.assertEqual(code, 2)
        self.assertIn("did you mean 'url'", err)

    def test_module_manifests_are_enforced(self):
        mods = os.path.join(self.tmp, "modules")
        os.makedirs(mods, exist_ok=True)
        write(mods, """
            runner "http_request" {
              input "url" {
                type = string
              }
              input "retries" {
                type = number
              }
            }
            runner "kafka_publish" {
              input "topic" {
                type = string
              }
            }
            """, "manifest.hcl")
        path = write(self.tmp, f"""
            step "http_request" "x" {{
              arguments {{ url = "{self.nginx.url('/get')}" }}
            }}
            """, "needs.hcl")
        code, out, err = grid("run", path, "--modules-path", mods)
        self.assertEqual(code, 2)
        self.assertIn("needs.hcl:2:", err)
        self.assertIn("needs the input 'retries' (number)", err)
        path = write(self.tmp, """
            step "kafka_publish" "k" {
              arguments { topic = "t" }
            }
            """, "kafka.hcl")
        code, out, err = grid("run", path, "--modules-path", mods)
        self.assertEqual(code, 2)
        self.assertIn("no implementation in this build", err)
        self.assertEqual(self.log(), [])

    def test_variables_locals_functions_and_a_directory(self):
        n = self.nginx.url("")
        d = os.path.join(self.tmp, "dir")
        os.makedirs(os.path.join(d, "more"), exist_ok=True)
        write(d, f"""
            variable "who" {{
              type    = string
              default = "ann"
            }}
            locals {{
              base = "{n}"
              path = "/fan/${{upper(var.who)}}"
            }}
            """, "vars.hcl")
        write(os.path.join(d, "more"), """
            step "http_request" "one" {
              arguments {
                url = format("%s%s-%d", local.base, local.path, length([1, 2, 3]))
              }
            }
            """, "steps.hcl")
        self.assertEqual(grid("run", d)[0], 0)
        self.assertEqual(grid("run", d, "--var", "who=bob")[0], 0)
        self.assertEqual([line[3] for line in self.log()], ["/fan/ANN-3", "/fan/BOB-3"])
        code, out, err = grid("validate", d)
        self.assertEqual(code, 0, err)
        self.assertIn("http_request.one", out)
        code, out, err = grid("graph", d, "--format", "dot")
        self.assertEqual(code, 0, err)
        self.assertIn("digraph", out)

    def test_grid_under_load_counts_match_nginx(self):
        n = self.nginx.url("")
        path = write(self.tmp, f"""
            step "http_request" "start" {{
              arguments {{ url = "{n}/get" }}
            }}
            step "http_request" "fan" {{
              count = 5
              arguments {{ url = "{n}/fan/${{count.index}}" }}
              depends_on = ["start"]
            }}
            step "http_request" "end" {{
              arguments {{
                url    = "{n}/post"
                method = "POST"
                json   = {{ done = true }}
              }}
              depends_on = ["fan"]
              check = output.status_code == 201
            }}
            """)
        code, out, err = grid("run", path, "-c", "20", "-d", "5s", "--json", "-t", "1")
        self.assertEqual(code, 0, err)
        doc = json.loads(out)
        iterations = doc["journeys"]["iterations"]
        lines = self.log()
        self.assertGreater(iterations, 100)
        self.assertEqual(doc["summary"]["total_requests"], len(lines))
        # Every iteration started with the first step; the time limit stops new steps, so the
        # last iteration of each of the 20 VUs may be cut short: the rest sent all 7 requests.
        starts = sum(1 for line in lines if line[3] == "/get")
        ends = sum(1 for line in lines if line[3] == "/post")
        self.assertEqual(starts, iterations)
        self.assertGreaterEqual(ends, iterations - 20)
        self.assertEqual(len(lines) - starts - ends, sum(
            1 for line in lines if line[3].startswith("/fan/")))
        self.assertGreaterEqual(len(lines), (iterations - 20) * 7)
        self.assertLessEqual(len(lines), iterations * 7)
        self.assertEqual(doc["checks"]["overall_pass_rate"], 1.0)

    def test_outputs_flow_into_later_steps_under_load(self):
        t = self.target.url("/")
        path = write(self.tmp, f"""
            loadspiker {{
              vus        = 2
              iterations = 20
              thresholds = {{
                error_rate      = "< 1%"
                http_req_failed = ["rate<0.01"]
              }}
            }}
            step "http_request" "login" {{
              arguments {{
                url    = "{t}login"
                method = "POST"
                form   = {{ username = "member1", password = "pw" }}
              }}
            }}
            step "http_request" "me" {{
              arguments {{
                url     = "{t}me"
                headers = {{ Authorization = "Bearer ${{step.http_request.login.output.json.token}}" }}
              }}
              check = output.status_code == 200
            }}
            step "print" "done" {{
              arguments {{ input = step.http_request.me.output.status_code }}
            }}
            """)
        code, out, err = grid("run", path, "--json")
        self.assertEqual(code, 0, err)
        doc = json.loads(out)
        self.assertEqual(doc["journeys"]["iterations"], 20)
        self.assertEqual(doc["summary"]["total_requests"], 40)
        self.assertEqual(doc["summary"]["failed"], 0)
        self.assertEqual(len(doc["thresholds"]["results"]), 2)
        self.assertTrue(doc["thresholds"]["passed"])
        code, out, err = grid("run", path, "-c", "1", "-d", "1s")  # print cannot read a value
        self.assertEqual(code, 0, err)

    def test_socketio_ping_pong(self):
        port = free_port()
        stats = os.path.join(self.tmp, "sio.json")
        server = subprocess.Popen(["/usr/bin/python3", os.path.join(os.path.dirname(__file__),
                                                                    "socketio_server.py"),
                                   str(port), stats], stdout=subprocess.PIPE, text=True)
        self.assertEqual(server.stdout.readline().strip(), "ready")
        server.stdout.close()
        try:
            path = write(self.tmp, f"""
                step "socketio" "ping_pong" {{
                  arguments {{
                    url        = "http://127.0.0.1:{port}"
                    emit_event = "ping"
                    on_event   = "pong"
                    timeout    = "5s"
                    emit_data  = {{ message = "Hello, World!" }}
                  }}
                }}
                resource "socketio_client" "shared" {{
                  arguments {{ url = "ws://127.0.0.1:{port}/socket.io/" }}
                }}
                step "socketio_request" "many" {{
                  count = 3
                  uses {{ client = resource.socketio_client.shared }}
                  arguments {{
                    emit_event = "ping"
                    on_event   = "pong"
                    emit_data  = {{ n = count.index }}
                  }}
                }}
                """)
            code, out, err = grid("run", path, "--json")
            self.assertEqual(code, 0, err)
            doc = json.loads(out)
            data = [s["output"]["response_data"] for s in doc["steps"]]
            self.assertIn({"message": "Hello, World!"}, data)
            self.assertEqual(sorted(d["n"] for d in data if "n" in d), [0, 1, 2])
        finally:
            server.terminate()
            server.wait(timeout=10)
        with open(stats) as f:
            seen = json.load(f)
        # One connection of its own, one shared by the three requests; every ping answered,
        # and every Engine.IO ping the server sent got its pong.
        self.assertEqual(seen, {"connections": 2, "pings": 4, "pongs_answered": 4})

    def test_cmd_s3_and_protocol_runners(self):
        target = Target(threads=1, echoes=True)
        try:
            t = target.url("/")
            path = write(self.tmp, f"""
                step "cmd" "hello" {{
                  arguments {{ command = ["sh", "-c", "echo hi-$((1 + 1))"] }}
                  check = output.exit_code == 0
                }}
                step "s3" "upload" {{
                  arguments {{
                    url  = "{t}echo?X-Amz-Signature=abc"
                    body = trimspace(step.cmd.hello.output.stdout)
                  }}
                }}
                step "tcp" "say" {{
                  arguments {{
                    url    = "tcp://127.0.0.1:{target.tcp_port}"
                    action = "send"
                    body   = "line-${{step.s3.upload.output.status_code}}\\n"
                  }}
                }}
                step "tcp" "hear" {{
                  arguments {{
                    url    = "tcp://127.0.0.1:{target.tcp_port}"
                    action = "receive"
                    until  = "\\n"
                  }}
                  depends_on = ["say"]
                }}
                step "websocket" "open" {{
                  arguments {{
                    url    = "ws://127.0.0.1:{target.port}/ws"
                    action = "connect"
                  }}
                }}
                step "websocket" "send" {{
                  arguments {{
                    url    = "ws://127.0.0.1:{target.port}/ws"
                    action = "send"
                    body   = "hello ws"
                  }}
                  depends_on = ["open"]
                }}
                step "websocket" "hear" {{
                  arguments {{
                    url    = "ws://127.0.0.1:{target.port}/ws"
                    action = "receive"
                  }}
                  depends_on = ["send"]
                }}
                step "print" "all" {{
                  arguments {{
                    input = [step.tcp.hear.output.body, step.websocket.hear.output.body]
                  }}
                }}
                """)
            code, out, err = grid("run", path)
            self.assertEqual(code, 0, err + out)
            self.assertIn('"line-200\\n"', out)
            self.assertIn('"hello ws"', out)
            slow = write(self.tmp, """
                step "cmd" "slow" {
                  arguments {
                    command = ["sleep", "5"]
                    timeout = "200ms"
                  }
                }
                """, "slow.hcl")
            start = time.monotonic()
            code, out, err = grid("run", slow)
            self.assertEqual(code, 1)
            self.assertIn("timed out after 200 ms", err + out)
            self.assertLess(time.monotonic() - start, 2)
        finally:
            target.stop()

    def test_burstgridgo_flags_and_healthcheck(self):
        t = self.target.url("/")
        path = write(self.tmp, f"""
            step "http_request" "slow" {{
              count = 4
              arguments {{ url = "{t}delay/300" }}
            }}
            """)
        port = free_port()
        p = subprocess.Popen([LOADSPIKER, "grid", "-g", path, "-workers", "1", "-log-format",
                              "json", "-healthcheck-port", str(port)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        health = None
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and health is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                    health = r.status
            except OSError:
                time.sleep(0.05)
        out, err = p.communicate(timeout=30)
        self.assertEqual(p.returncode, 0, err)
        self.assertEqual(health, 200)
        lines = [json.loads(x) for x in err.splitlines() if x.startswith("{")]
        self.assertEqual([x["status"] for x in lines], ["ok"] * 4)
        self.assertGreater(json.loads(out)["elapsed_secs"], 1.1)  # -workers 1: one at a time


class StepSchema(unittest.TestCase):
    """burstgridgo's step schema and CLI: what its current version parses either works with
    its meaning or is refused by name at file:line:col (exit 2), before anything is sent."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="spiker-grid-schema-")

    def refused(self, text, *expected, args=("validate",)):
        path = write(self.tmp, text)
        code, out, err = grid(*args, path)
        self.assertEqual(code, 2, out + err)
        for e in expected:
            self.assertIn(e, err)
        return err

    def test_grid_without_a_path_prints_usage(self):
        code, out, err = grid("grid")
        self.assertEqual(code, 0, err)
        self.assertIn("Usage:", out)
        self.assertIn("-modules-path", out)

    def test_count_that_is_not_a_whole_number_is_refused_before_running(self):
        for count, shown in [("5.5", "5.5"), ('"five"', "five"), ("-1", "-1"),
                             ("var.n", "2.5")]:
            text = ('variable "n" {\n  default = 2.5\n}\n'
                    f'step "print" "p" {{\n  count = {count}\n  arguments {{ input = 1 }}\n}}\n')
            for args in [("validate",), ("run",), ("grid",)]:
                err = self.refused(text, "grid.hcl:5:11: count must be a whole number >= 0, "
                                   "not " + shown, args=args)
                self.assertNotIn("[print.p]", err)

    def test_depends_on_takes_references_as_well_as_strings(self):
        path = write(self.tmp, """
            resource "http_client" "c" {
              arguments { timeout = "5s" }
            }
            step "print" "first" {
              arguments { input = "one" }
            }
            step "print" "second" {
              arguments { input = "two" }
              depends_on = [step.print.first, resource.http_client.c]
            }
            step "print" "third" {
              arguments { input = "three" }
              depends_on = [
                step.print.second,
                "print.first",
              ]
            }
            """)
        code, out, err = grid("validate", path)
        self.assertEqual(code, 0, err)
        self.assertIn("print.second  after resource.http_client.c, print.first", out)
        self.assertIn("print.third  after print.first, print.second", out)
        code, out, err = grid("run", path)
        self.assertEqual(code, 0, err)
        lines = [x for x in out.splitlines() if x.startswith("[print.")]
        self.assertEqual(lines, ["[print.first] one", "[print.second] two", "[print.third] three"])
        base = 'step "print" "first" {\n  arguments { input = 1 }\n}\n'
        for deps, expected in [
                ("[step.print.nope]", "grid.hcl:6:17: depends_on names 'print.nope', which is "
                                      "not a step of this grid"),
                ("[step.print]", "grid.hcl:6:17: depends_on: step.print names no step"),
                ("step.print.first", "grid.hcl:6:16: depends_on is a list: write depends_on = "
                                     "[ ... ] around it"),
                ("[42]", "grid.hcl:6:17: depends_on lists steps"),
                ("[step.print.second]", "grid.hcl:6:17: a step cannot depend on itself")]:
            self.refused(base + f'step "print" "second" {{\n  arguments {{ input = 2 }}\n'
                         f'  depends_on = {deps}\n}}\n', expected)

    def test_two_arguments_blocks_are_an_error(self):
        self.refused('step "print" "p" {\n  arguments { input = 1 }\n  arguments { input = 2 }\n'
                     '}\n', "grid.hcl:3:3: a second arguments block in step 'print.p'")
        self.refused('resource "http_client" "c" {\n  arguments {}\n  arguments {}\n}\n' + PRINT,
                     "grid.hcl:3:3: a second arguments block in resource")
        self.refused('step "print" "p" {\n  uses {}\n  uses {}\n  arguments { input = 1 }\n}\n',
                     "grid.hcl:3:3: a second uses block")


def measured(args, timeout=60):
    """Runs `loadspiker ARGS`; returns (exit code, stdout + stderr, seconds, peak RSS in MiB).
    Killed at `timeout` (the exit code is then -9). The peak is the child's own high-water mark
    (VmHWM, read as it runs), or wait4's when that passes this process's own peak: wait4 counts
    the memory a spawned child starts with, this (test) process's."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.monotonic()
    hwm = 0
    with tempfile.TemporaryFile() as out:
        p = subprocess.Popen([LOADSPIKER, *args], stdout=out, stderr=subprocess.STDOUT)
        while True:
            pid, status, usage = os.wait4(p.pid, os.WNOHANG)
            if pid:
                break
            try:
                with open(f"/proc/{p.pid}/status") as f:
                    for line in f:
                        if line.startswith("VmHWM:"):
                            hwm = max(hwm, int(line.split()[1]) / 1024)
            except (OSError, ValueError):
                pass
            if time.monotonic() - start > timeout:
                p.kill()
                pid, status, usage = os.wait4(p.pid, 0)
                break
            time.sleep(0.01)
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode("utf-8", "replace")
    peak = usage.ru_maxrss / 1024
    return p.returncode, text, time.monotonic() - start, peak if peak > own + 1 else hwm


PRINT = 'step "print" "p" {\n  arguments { input = 1 }\n}\n'


class HostileGrids(unittest.TestCase):
    """Grids made to exhaust the reader, the evaluator or the runner (an audit's cases): each is
    refused with its limit named at file:line:col (exit 2, nothing sent) or fails its step, in
    well under a second or two of its timeout, with bounded memory. Inputs are generated here."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="spiker-hostile-grid-")

    def refused(self, text, *expected, args=("validate",), seconds=5, mib=300):
        path = os.path.join(self.tmp, "grid.hcl")
        with open(path, "w") as f:
            f.write(text)
        code, out, took, rss = measured([*args, path], timeout=seconds + 10)
        self.assertEqual(code, 2, out[:2000])
        for e in expected:
            self.assertIn(e, out[:4000])
        self.assertLess(took, seconds, out[:2000])
        self.assertLess(rss, mib, out[:2000])
        return out

    def test_50000_nested_blocks_are_an_error_not_a_crash(self):
        n = 50000
        self.refused(PRINT + "a {\n" * n + "}\n" * n,
                     "grid.hcl:204:1: blocks are nested too deeply: more than 200 levels")

    def test_deep_expressions_are_an_error_not_a_crash(self):
        n = 50000
        for expr in ["1" + " + 1" * 200000, "(" * n + "1" + ")" * n, "[" * n + "]" * n,
                     "{a = " * n + "1" + "}" * n, "[for x in " * n + "[]" + " : x]" * n,
                     '"${' * n + "1" + '}"' * n, "x" + ".a" * n,
                     '"' + "%{ if true }" * n + "%{ endif }" * n + '"']:
            out = self.refused(f"locals {{\n  x = {expr}\n}}\n" + PRINT,
                               "grid.hcl:2:", "nested too deeply: more than 200 levels")
            self.assertLess(len(out), 1000)  # the long line is shown around its column

    def test_range_of_huge_floats_ends_at_once(self):
        self.refused("locals {\n  r = range(1e16, 1e16 + 10)\n}\n" + PRINT,
                     "grid.hcl:2:7: call to function 'range' failed: range: a step of 1 cannot "
                     "count from 1e+16", seconds=2, mib=100)
        self.refused("locals {\n  r = range(0, 1e12)\n}\n" + PRINT,
                     "would make 1000000000000 values: more than 1000000", seconds=2, mib=100)

    def test_what_an_expression_builds_is_bounded(self):
        cases = [
            ("[for a in range(1000000) : [for b in range(1000) : b]]",
             "grid.hcl:2:7: the result would hold more than 1000000 values"),
            ('join("", [for i in range(100000) : format("%9999s", "")])',
             "more than 16 MiB of text"),
            ("[for a in range(100000) : length([for b in range(1000) : b])]",
             "more than 5000000 steps (the limit on one expression's work"),
            ('jsondecode("' + "[" * 100000 + "]" * 100000 + '")', "more than 256 levels deep"),
        ]
        for expr, expected in cases:
            self.refused(f"locals {{\n  r = {expr}\n}}\n" + PRINT, expected, mib=400)
        # Doubling through locals: each is small to write, the 30th would be 2^31 values.
        text = "locals {\n  l0 = [1, 2]\n" + "".join(
            f"  l{i} = [local.l{i - 1}, local.l{i - 1}]\n" for i in range(1, 31)) + "}\n"
        self.refused(text + PRINT, "more than 1000000 values", mib=400)
        # Each local within the limits, all of them (the object `local`) past them.
        text = "locals {\n" + "".join(f"  l{i} = range(600000)\n" for i in range(20)) + "}\n"
        self.refused(text + PRINT, "grid.hcl:3:3: with this local, all locals together (one "
                     "object, `local`): the result would hold more than 1000000 values", mib=400)

    def test_16000_chained_locals_read_in_linear_time(self):
        n = 16000
        text = "locals {\n" + "".join(f"  l{i} = local.l{i + 1} + 1\n" for i in range(n - 1))
        text += f"  l{n - 1} = 0\n}}\n" + 'step "print" "p" {\n  arguments { input = local.l0 }\n}\n'
        path = os.path.join(self.tmp, "locals.hcl")
        with open(path, "w") as f:
            f.write(text)
        code, out, took, rss = measured(["run", path], timeout=15)
        self.assertEqual(code, 0, out[:2000])
        self.assertIn(f"[print.p] {n - 1}", out)
        self.assertLess(took, 2)  # 7 to 11 s when `local` was rebuilt after each one, in passes
        self.assertLess(rss, 200)
        self.refused("locals {\n  a = local.b\n  b = local.a\n}\n" + PRINT, "in a cycle: local.")
        self.refused("locals {\n  a = 1\n}\nlocals {\n  a = 2\n}\n" + PRINT,
                     "grid.hcl:5:3: local 'a' is defined twice (first at")

    def test_count_limits_are_named_under_load_and_run_once(self):
        for count, shown in [("1e9", "count is 1000000000: more than 100000 instances"),
                             ("1e300", "count is 1e+300: more than 100000 instances")]:
            text = (f'step "http_request" "p" {{\n  count = {count}\n'
                    '  arguments { url = "http://127.0.0.1:9/" }\n}\n')
            for args in [("validate",), ("run",), ("run", "-c", "1", "-d", "1s")]:
                self.refused(text, "grid.hcl:2:11: " + shown, "(the limit on count)",
                             args=args, seconds=2, mib=100)
        text = 'step "print" "p" {\n  count = 60000\n  arguments { input = 1 }\n}\n'
        self.refused(text + text.replace('"p"', '"q"'),
                     "grid.hcl:6:11: with this step the grid makes 120000 step instances: more "
                     "than 100000", seconds=2, mib=100)
        text = ('step "http_request" "p" {\n  count = 1000\n'
                '  arguments { url = "http://127.0.0.1:9/" }\n}\n')
        self.refused(text, "its count of 1000 makes more steps than a journey holds (64 in all",
                     args=("run", "-c", "1", "-d", "1s"), seconds=2, mib=100)

    def test_validate_refuses_the_ports_run_would_refuse(self):
        for url, expected in [("http://127.0.0.1:70000/x", "port must be 1..65535"),
                              ("http://127.0.0.1:abc/x", "invalid port"),
                              ("tcp://127.0.0.1:70000", "port must be 1..65535"),
                              ("nope://127.0.0.1:80", "'nope://' is not a scheme")]:
            runner = "tcp" if url.startswith(("tcp", "nope")) else "http_request"
            extra = '\n    action = "send"\n    body = "x"' if runner == "tcp" else ""
            text = f'step "{runner}" "p" {{\n  arguments {{\n    url = "{url}"{extra}\n  }}\n}}\n'
            for args in [("validate",), ("run",)]:
                self.refused(text, "grid.hcl:3:5: input 'url': ", expected, args=args)
        self.refused('resource "http_client" "c" {\n  arguments {\n'
                     '    base_url = "http://127.0.0.1:99999"\n  }\n}\n'
                     'step "http_request" "p" {\n  uses { client = resource.http_client.c }\n'
                     '  arguments { url = "/x" }\n}\n',
                     "grid.hcl:3:5: input 'base_url': ", "port must be 1..65535")

    def cmd(self, arguments, seconds):
        path = os.path.join(self.tmp, "cmd.hcl")
        with open(path, "w") as f:
            f.write('step "cmd" "c" {\n  arguments {\n' + arguments + "  }\n}\n")
        code, out, took, rss = measured(["run", path], timeout=seconds + 10)
        self.assertEqual(code, 1, out[:2000])
        self.assertLess(took, seconds, out[:2000])
        self.assertLess(rss, 200, out[:2000])
        return out

    def test_cmd_timeout_holds_when_the_child_never_reads_its_stdin(self):
        # 1 MB for a child that never reads: the write blocked, and the timeout with it (30 s).
        out = self.cmd('    command = ["sleep", "30"]\n    timeout = "1s"\n'
                       '    stdin   = join("", [for i in range(100000) : "0123456789"])\n', 3)
        self.assertIn("timed out after 1000 ms (killed)", out)
        # A child that closes its output early is still held to its timeout.
        out = self.cmd('    command = ["sh", "-c", "exec >&- 2>&-; sleep 30"]\n'
                       '    timeout = "1s"\n', 3)
        self.assertIn("timed out after 1000 ms (killed)", out)

    def test_cmd_output_capture_is_capped(self):
        out = self.cmd('    command = ["yes"]\n    timeout = "20s"\n', 5)
        self.assertIn("its stdout passed 8 MiB (the limit on a cmd step's captured output): "
                      "killed", out)
        out = self.cmd('    command = ["sh", "-c", "yes >&2"]\n    timeout = "20s"\n', 5)
        self.assertIn("its stderr passed 8 MiB", out)


if __name__ == "__main__":
    unittest.main()
