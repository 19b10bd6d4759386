"""Kaioken users switch without touching a file: its example files' constructs, its flags, its
JSON types (checked against a JSON Schema written from Kaioken's output structs), and the bugs
a check against Kaioken's repository found (one test each)."""
import json
import os
import re
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.request

from helpers import LOADSPIKER, TargetTestCase, run_cli

HERE = os.path.dirname(__file__)


def write(folder, name, text):
    path = os.path.join(folder, name)
    with open(path, "w") as f:
        f.write(text)
    return path


class Bugs(TargetTestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="spiker-kaioken-")

    def cli(self, *args, timeout=60):
        return subprocess.run([LOADSPIKER, *args], capture_output=True, text=True,
                              timeout=timeout)

    def test_status_regex_searches_like_kaioken(self):
        # e-commerce.toml / spike-test.toml: "^[1-4]" passes 404s and fails 503s.
        path = write(self.dir, "t.toml", f"""
[target]
url = "{self.target.url('/status/404')}"
[load]
concurrency = 2
max_requests = 20
[[checks]]
name = "no server errors"
status_regex = "^[1-4]"
[[checks]]
name = "status has a 4"
condition = 'status matches "4"'
""")
        rc, doc, err = run_cli(path)
        results = doc["checks"]["results"]
        self.assertEqual(results["no server errors"]["passed"], 20, err)
        self.assertEqual(results["status has a 4"]["passed"], 20)
        path = write(self.dir, "t5.toml", f"""
[target]
url = "{self.target.url('/status/503')}"
[load]
max_requests = 10
[[checks]]
name = "no server errors"
status_regex = "^[1-4]"
""")
        rc, doc, err = run_cli(path)
        self.assertEqual(doc["checks"]["results"]["no server errors"]["passed"], 0)

    def test_target_header_builtins_render_when_the_file_has_checks(self):
        # rest-api.toml: X-Request-ID = "${REQUEST_ID}" with [[checks]].
        path = write(self.dir, "t.toml", f"""
[target]
url = "{self.target.url('/echo')}"
method = "POST"
body = "x"
[target.headers]
X-Request-ID = "${{REQUEST_ID}}"
[load]
concurrency = 1
max_requests = 5
[[checks]]
name = "id rendered"
condition = 'body matches "\\"X-Request-ID\\":\\"[0-9]+\\""'
[[checks]]
name = "no literal placeholder"
condition = 'body not contains "REQUEST_ID"'
""")
        rc, doc, err = run_cli(path, "-H", "X-Vu: ${VU_ID}")
        self.assertEqual(rc, 0, err)
        self.assertEqual(doc["checks"]["overall_pass_rate"], 1.0, doc["checks"])

    def test_kaiokens_zero_defaults_and_load_db_url(self):
        # Kaioken documents ramp_up = "0s" and warmup = "0s" as its defaults, and reads
        # db_url inside [load].
        db = os.path.join(self.dir, "load-db.db")
        path = write(self.dir, "zero.toml", f"""
[target]
url = "{self.target.url('/')}"
[load]
concurrency = 2
duration = "1s"
ramp_up = "0s"
warmup = "0s"
db_url = "{db}"
""")
        rc, doc, err = run_cli(path, timeout=30)
        self.assertEqual(rc, 0, err)
        self.assertGreater(doc["summary"]["total_requests"], 0)
        p = self.cli("history", db, "--json")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(len(json.loads(p.stdout)), 1)
        rc, doc, err = run_cli(self.target.url("/"), "--ramp-up", "0s", "--warmup", "0s",
                               "-d", "1s", "-c", "2", timeout=30)
        self.assertEqual(rc, 0, err)
        rc, doc, err = run_cli(self.target.url("/"), "--ramp-up", "-1s", "-d", "1s", timeout=30)
        self.assertEqual(rc, 2, err)

    def test_stages_win_over_load_duration_and_errors_name_file_keys(self):
        # capacity-test.toml: [load] duration with [[stages]], db_url after the last stage.
        path = write(self.dir, "cap.toml", f"""
[target]
url = "{self.target.url('/')}"
[load]
duration = "10m"
max_vus = 20
[[stages]]
duration = "1s"
target_rate = 50
[[stages]]
duration = "1s"
target_rate = 100
db_url = "{os.path.join(self.dir, 'runs.db')}"
""")
        rc, doc, err = run_cli(path, timeout=30)
        self.assertEqual(rc, 0, err)
        self.assertIn("[[stages]] set the run's length", err)
        self.assertIn("db_url is inside the last [[stages]]", err)
        self.assertLess(doc["summary"]["elapsed_secs"], 4)
        # The db_url was used: the run is in the history file.
        p = self.cli("history", os.path.join(self.dir, "runs.db"), "--json")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(len(json.loads(p.stdout)), 1)
        # 0 -> 50/s over 1 s, then 50 -> 100/s over 1 s: 25 + 75 arrivals.
        self.assertAlmostEqual(doc["summary"]["total_requests"], 100, delta=2)
        path = write(self.dir, "ramp.toml", f"""
[target]
url = "{self.target.url('/')}"
[load]
duration = "2s"
ramp_up = "5s"
""")
        p = self.cli("run", path)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("ramp.toml: [load] ramp_up: must not be longer than [load] duration",
                      p.stderr)
        self.assertNotIn("--ramp-up", p.stderr)

    def test_more_than_half_failed_says_why(self):
        rc, doc, err = run_cli(self.target.url("/status/500"), "-n", "20", "-c", "2")
        self.assertEqual(rc, 1)
        self.assertIn("error: 100% of requests failed (over 50%", err)

    def test_summary_names_the_file_and_its_scenarios(self):
        path = write(self.dir, "shop.toml", f"""
[load]
concurrency = 2
max_requests = 40
[[scenarios]]
name = "browse"
weight = 60
url = "{self.target.url('/json')}"
[[scenarios]]
name = "create"
weight = 40
method = "POST"
url = "{self.target.url('/echo')}"
body = "x"
[[checks]]
name = "ok"
status = 200
""")
        p = self.cli("run", path, "--no-tui")
        self.assertEqual(p.returncode, 0, p.stderr)
        head = p.stdout.splitlines()[0]
        self.assertIn("shop.toml: 2 scenarios (browse 60%, create 40%)", head)
        self.assertNotIn("GET http", head)

    def test_hlog_has_corrected_and_queue_tags(self):
        out = os.path.join(self.dir, "r.hlog")
        rc, doc, err = run_cli(self.target.url("/"), "--arrival-rate", "200", "-d", "2s",
                               "-o", out)
        self.assertEqual(rc, 0, err)
        with open(out) as f:
            lines = [l for l in f.read().splitlines() if l and not l.startswith(("#", '"'))]
        untagged = [l for l in lines if not l.startswith("Tag=")]
        corrected = [l for l in lines if l.startswith("Tag=corrected,")]
        queue = [l for l in lines if l.startswith("Tag=queue,")]
        self.assertGreaterEqual(len(untagged), 2)
        self.assertEqual(len(corrected), len(untagged))
        self.assertEqual(len(queue), len(untagged))

    def test_closed_model_stall_gets_a_hint(self):
        def stall():
            time.sleep(1.3)
            urllib.request.urlopen(self.target.url("/stall?ms=800")).read()
        t = threading.Thread(target=stall)
        t.start()
        p = self.cli("run", self.target.url("/"), "-c", "4", "-d", "4s", "--no-tui")
        t.join()
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("Stall", p.stdout)
        self.assertIn("--arrival-rate", p.stdout)
        # A run without a stall has no such line.
        p = self.cli("run", self.target.url("/"), "-c", "4", "-d", "3s", "--no-tui")
        self.assertNotIn("Stall", p.stdout)

    def test_numbers_in_outputs_have_no_exponents_and_have_units(self):
        md = os.path.join(self.dir, "r.md")
        html = os.path.join(self.dir, "r.html")
        path = write(self.dir, "t.toml", f"""
[target]
url = "{self.target.url('/bytes/20000')}"
[load]
concurrency = 1
max_requests = 200
[thresholds]
error_rate = "< 0.5"
p95_latency = "< 1s"
""")
        p = self.cli("run", path, "-o", md, "-o", html, "--no-tui")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("1 VU,", p.stdout)
        self.assertNotIn("1 VUs", p.stdout)
        self.assertRegex(p.stdout, r"p95_latency < 1s  \(actual [0-9.]+ ms\)")
        self.assertIn("error_rate < 0.5  (actual 0 (0%))", p.stdout)
        for path in (md, html):
            with open(path) as f:
                text = f.read()
            self.assertNotRegex(text, r"\d\.\d+e[+-]\d", path)
        with open(md) as f:
            text = f.read()
        self.assertIn("MiB", text)  # 200 x 20 kB received
        self.assertRegex(text, r"\| [0-9.]+ ms \|")

    def test_max_streams_groups_open_ceil_vus_over_streams(self):
        for c, want in ((50, 5), (45, 5), (5, 1)):
            rc, doc, err = run_cli(self.target.url("/"), "--http2", "-c", str(c),
                                   "--max-streams", "10", "-d", "1s", "-t", "2")
            self.assertEqual(rc, 0, err)
            self.assertEqual(doc["connections"]["opened"], want, c)

    def test_unknown_flags_get_a_suggestion(self):
        p = self.cli("run", self.target.url("/"), "--concurency", "5")
        self.assertEqual(p.returncode, 2)
        self.assertIn("did you mean --concurrency?", p.stderr)
        self.assertNotIn("were not expected", p.stderr)
        p = self.cli("run", self.target.url("/"), "--http3")
        self.assertEqual(p.returncode, 2)
        self.assertIn("--http3 is a Kaioken flag this build does not have", p.stderr)


class Flags(TargetTestCase):
    """Kaioken's flags that this build lacked: each does what Kaioken's does."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="spiker-flags-")

    def cli(self, *args, timeout=60):
        return subprocess.run([LOADSPIKER, *args], capture_output=True, text=True,
                              timeout=timeout)

    def test_basic_auth_debug_and_secrets(self):
        p = self.cli("run", self.target.url("/echo"), "-m", "POST", "-b", "hello",
                     "-a", "alice:s3cret", "-H", "X-Id: ${REQUEST_ID}", "--debug")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("> POST /echo HTTP/1.1", p.stdout)
        self.assertIn("> Authorization: <redacted>", p.stdout)
        self.assertIn("> X-Id: 1", p.stdout)
        self.assertIn("< HTTP/1.1 200 OK", p.stdout)
        self.assertIn('"body":"hello"', p.stdout)
        # The server echoed the header: its value is hidden in the body too.
        self.assertNotIn("YWxpY2U6czNjcmV0", p.stdout)  # base64("alice:s3cret")
        self.assertIn('"Authorization":"<redacted>"', p.stdout)

    def test_basic_auth_over_a_config_file(self):
        path = write(self.dir, "a.toml", f'[target]\nurl = "{self.target.url("/echo")}"\n'
                                         '[load]\nmax_requests = 1\n')
        p = self.cli("run", path, "-a", "bob:pw", "--debug")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("> Authorization: <redacted>", p.stdout)

    def test_cookie_jar_and_redirects(self):
        # /me answers 401 unless the session cookie from /login comes back.
        rc, doc, err = run_cli(self.target.url("/redirect/3"), "-n", "10", "-c", "1",
                               "--no-follow-redirects")
        self.assertEqual(doc["status_codes"], {"302": 10}, err)
        rc, doc, err = run_cli(self.target.url("/redirect/3"), "-n", "10", "-c", "1",
                               "--cookie-jar")
        self.assertEqual(doc["status_codes"]["200"], 10, err)  # followed to the end
        self.assertEqual(doc["status_codes"]["302"], 30)

    def test_urls_bodies_forms_and_random_urls(self):
        urls = write(self.dir, "urls.txt", f"{self.target.url('/status/201')}\n"
                                           f"{self.target.url('/status/202')}\n\n"
                                           f"{self.target.url('/status/203')}\n")
        rc, doc, err = run_cli("--urls-from-file", urls, "-n", "30", "-c", "3")
        self.assertEqual(rc, 0, err)
        self.assertEqual(doc["status_codes"], {"201": 10, "202": 10, "203": 10})  # round-robin
        rc, doc, err = run_cli("--rand-regex-url",
                               self.target.url("/status/20[0-4]"), "-n", "200", "-c", "2")
        self.assertEqual(rc, 0, err)
        self.assertEqual(set(doc["status_codes"]), {"200", "201", "202", "203", "204"})
        lines = write(self.dir, "bodies.txt", "a\nbbbb\n")
        rc, doc, err = run_cli(self.target.url("/echo"), "-m", "POST", "--body-lines-file",
                               lines, "-n", "4", "-c", "1")
        self.assertEqual(rc, 0, err)
        upload = write(self.dir, "up.txt", "file-content")
        p = self.cli("run", self.target.url("/echo"), "-m", "POST", "-F", "name=v",
                     "-F", f"f=@{upload};type=text/plain", "--debug")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("multipart/form-data; boundary=", p.stdout)
        self.assertIn('name=\\"f\\"; filename=\\"up.txt\\"', p.stdout)
        self.assertIn("file-content", p.stdout)
        other = write(self.dir, "two-hosts.txt", "http://127.0.0.1:1/\nhttp://127.0.0.2:1/\n")
        p = self.cli("run", "--urls-from-file", other)
        self.assertEqual(p.returncode, 2)
        self.assertIn("another host", p.stderr)

    def test_connect_to_bursts_and_fail_fast(self):
        rc, doc, err = run_cli("http://api.example.invalid:8000/json", "--connect-to",
                               f"api.example.invalid:8000:127.0.0.1:{self.target.port}",
                               "-n", "5")
        self.assertEqual(doc["status_codes"], {"200": 5}, err)
        # 3 bursts of 40 at 0, 500 ms and 1 s: 120 requests, each burst started together.
        rc, doc, err = run_cli(self.target.url("/"), "--burst-rate", "40", "--burst-delay",
                               "500ms", "-d", "1500ms")
        self.assertEqual(rc, 0, err)
        self.assertEqual(doc["summary"]["total_requests"], 120)
        self.assertEqual(doc["metadata"]["load"]["executor"], "bursts")
        p = self.cli("run", self.target.url("/"), "--burst-rate", "40")
        self.assertEqual(p.returncode, 2)
        self.assertIn("--burst-delay", p.stderr)
        path = write(self.dir, "ff.toml", f"""
[target]
url = "{self.target.url('/status/500')}"
[load]
concurrency = 2
duration = "20s"
[thresholds]
error_rate = "< 0.1"
""")
        start = time.time()
        rc, doc, err = run_cli(path, "--fail-fast")
        self.assertEqual(rc, 4, err)
        self.assertLess(time.time() - start, 10)  # aborted, not 20 s
        self.assertTrue(doc["thresholds"]["results"][0].get("aborted_run"))

    def test_accepted_kaioken_flags(self):
        p = self.cli("run", self.target.url("/"), "-n", "3", "--serious", "-y", "--no-tui")
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_prometheus_endpoint_and_pushgateway(self):
        import http.server
        from helpers import free_port
        port = free_port()
        proc = subprocess.Popen([LOADSPIKER, "run", self.target.url("/"), "-c", "2", "-d", "3s",
                                 "--prometheus-port", str(port), "--json"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        scraped = None
        deadline = time.time() + 10
        while time.time() < deadline and scraped is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=1) as r:
                    text = r.read().decode()
                    self.assertIn("text/plain", r.headers["Content-Type"])
                m = re.search(r"^loadspiker_requests_total (\d+)$", text, re.M)
                if m and int(m.group(1)) > 0:
                    scraped = int(m.group(1))
            except OSError:
                time.sleep(0.2)
        out, err = proc.communicate(timeout=30)
        self.assertEqual(proc.returncode, 0, err)
        self.assertIsNotNone(scraped, "no sample with requests from /metrics during the run")
        self.assertLessEqual(scraped, json.loads(out)["summary"]["total_requests"])
        for word in ("loadspiker_latency_p99_ms", 'loadspiker_responses_total{status="200"}',
                     "# TYPE loadspiker_requests_total counter"):
            self.assertIn(word, text)
        pushed = {}

        class Gateway(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                pushed[self.path] = body.decode()
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        gateway = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Gateway)
        thread = threading.Thread(target=gateway.serve_forever)
        thread.start()
        try:
            rc, doc, err = run_cli(self.target.url("/"), "-n", "77", "--prometheus-pushgateway",
                                   f"http://127.0.0.1:{gateway.server_port}/")
            self.assertEqual(rc, 0, err)
            self.assertIn("loadspiker_requests_total 77\n", pushed["/metrics/job/loadspiker"])
            # Kaioken's names and job, pushed during the run (not only at its end).
            times = []

            class Timed(Gateway):
                def do_POST(self):
                    times.append(time.monotonic())
                    Gateway.do_POST(self)
            gateway.RequestHandlerClass = Timed
            started = time.monotonic()
            rc, doc, err = run_cli(self.target.url("/"), "-c", "4", "-d", "3s",
                                   "--prometheus-pushgateway",
                                   f"http://127.0.0.1:{gateway.server_port}",
                                   "--prometheus-prefix", "kaioken")
            self.assertEqual(rc, 0, err)
            during = [t for t in times if t - started < 2.8]
            self.assertGreaterEqual(len(during), 2, times)
            final = pushed["/metrics/job/kaioken"]
            total = doc["summary"]["total_requests"]
            self.assertIn(f"kaioken_requests_total {total}\n", final)
            for word in ("kaioken_vus_max 4\n", "kaioken_rps ", "kaioken_latency_p99_ms ",
                         "kaioken_requests_success_total ", "kaioken_error_rate "):
                self.assertIn(word, final)
            self.assertNotIn("loadspiker_", final)
            rc, doc, err = run_cli(self.target.url("/"), "-n", "1", "--prometheus-prefix", "9x")
            self.assertEqual(rc, 2)
        finally:
            gateway.shutdown()
            gateway.server_close()
            thread.join(timeout=10)
        # Both at once: refused, as Kaioken refuses them.
        rc, doc, err = run_cli(self.target.url("/"), "-n", "1", "--prometheus-pushgateway",
                               "http://127.0.0.1:9/", "--prometheus-port", "9100")
        self.assertEqual(rc, 2)
        self.assertIn("exclude each other", err)

    def test_dry_run_lists_every_scenario_with_its_weight(self):
        path = write(self.dir, "mix.toml", f"""
[[scenarios]]
name = "browse"
url = "{self.target.url('/')}"
weight = 3
[[scenarios]]
name = "api"
url = "{self.target.url('/json')}"
weight = 1
""")
        p = self.cli("run", path, "--dry-run")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout, r"browse +GET \S+/ +\(weight 3, 75%\)")
        self.assertRegex(p.stdout, r"api +GET \S+/json +\(weight 1, 25%\)")

    def test_asks_before_loading_another_machine_on_a_terminal(self):
        import socket
        from helpers import Target, on_terminal
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            try:
                u.connect(("10.255.255.255", 1))  # no packet is sent: picks the route's address
                ip = u.getsockname()[0]
            except OSError:
                ip = None
        if not ip or ip.startswith("127.") or ip == "0.0.0.0":
            self.skipTest("this machine has no address besides loopback")
        target = Target(host="0.0.0.0")
        try:
            url = f"http://{ip}:{target.port}/"

            def asked(answer, *flags, to=url):
                return on_terminal(["run", to, "-n", "5", "-c", "1", "--no-tui", *flags],
                                   answer=answer)

            rc, text = asked(b"n\n")
            self.assertIn("is not on this machine", text)
            self.assertEqual(rc, 2, text)
            self.assertIn("not confirmed", text)
            rc, text = asked(b"y\n")
            self.assertEqual(rc, 0, text)
            rc, text = asked(None, "-y")
            self.assertEqual(rc, 0, text)
            self.assertNotIn("[y/N]", text)
            # Loopback is never asked about.
            rc, text = asked(None, to=self.target.url("/"))
            self.assertEqual(rc, 0, text)
            self.assertNotIn("[y/N]", text)
        finally:
            target.stop()

    def test_completions_and_man_page(self):
        p = self.cli("completions", "bash")
        self.assertEqual(p.returncode, 0)
        script = write(self.dir, "c.bash", p.stdout)
        done = subprocess.run(
            ["bash", "-c", f"source {script}; COMP_WORDS=(loadspiker run --concu); "
                           "COMP_CWORD=2; _loadspiker; echo ${COMPREPLY[@]}; "
                           "COMP_WORDS=(loadspiker imp); COMP_CWORD=1; _loadspiker; "
                           "echo ${COMPREPLY[@]}"], capture_output=True, text=True, timeout=10)
        self.assertEqual(done.stdout.split(), ["--concurrency", "import"], done.stderr)
        for shell, word in (("zsh", "#compdef loadspiker"), ("fish", "complete -c loadspiker"),
                            ("powershell", "Register-ArgumentCompleter -Native -CommandName "
                                           "loadspiker"),
                            ("elvish", "edit:completion:arg-completer[loadspiker]")):
            p = self.cli("completions", shell)
            self.assertEqual(p.returncode, 0)
            self.assertIn(word, p.stdout)
            self.assertIn("burst-rate", p.stdout)
            if shell in ("powershell", "elvish"):  # Kaioken's other two shells
                self.assertIn("'--concurrency'", p.stdout)
                self.assertEqual(p.stdout.count("{"), p.stdout.count("}"), shell)
                self.assertEqual(p.stdout.count("'") % 2, 0, shell)
        self.assertEqual(self.cli("completions", "tcsh").returncode, 2)
        p = self.cli("man")
        self.assertTrue(p.stdout.startswith(".TH LOADSPIKER 1"))
        rendered = subprocess.run(["groff", "-man", "-Tutf8", "-ww"], input=p.stdout,
                                  capture_output=True, text=True, timeout=10)
        self.assertEqual(rendered.stderr, "")
        for word in ("--concurrency", "--burst-delay", "loadspiker import", "EXIT STATUS"):
            self.assertIn(word, re.sub(r".\x08", "", rendered.stdout))
        p = self.cli("compare", "--serious", "--help")
        self.assertEqual(p.returncode, 0)


class History(TargetTestCase):
    def test_db_url_keeps_runs_lists_their_trend_and_compare_reads_them(self):
        folder = tempfile.mkdtemp(prefix="spiker-history-")
        db = os.path.join(folder, "runs.db")
        docs = []
        for delay in (1, 5):
            rc, doc, err = run_cli(self.target.url(f"/delay/{delay}"), "-c", "4", "-d", "1s",
                                   "--db-url", db)
            self.assertEqual(rc, 0, err)
            docs.append(doc)
        p = subprocess.run([LOADSPIKER, "history", db, "--json"], capture_output=True,
                           text=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        runs = json.loads(p.stdout)
        self.assertEqual([r["id"] for r in runs], [1, 2])
        for run, doc in zip(runs, docs):
            self.assertEqual(run["requests"], doc["summary"]["total_requests"])
            self.assertEqual(run["p99_us"], doc["latency_us"]["p99"])
            self.assertEqual(run["started_at"], doc["metadata"]["started_at"])
        p = subprocess.run([LOADSPIKER, "history", db], capture_output=True, text=True,
                           timeout=30)
        self.assertIn("Trend over these 2 runs", p.stdout)
        self.assertIn("/delay/5", p.stdout)
        # 1 ms -> 5 ms: p99 regressed; compare reads runs by FILE#ID.
        p = subprocess.run([LOADSPIKER, "compare", f"{db}#1", f"{db}#2", "--json"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertTrue(json.loads(p.stdout)["has_regressions"])
        p = subprocess.run([LOADSPIKER, "compare", f"{db}#1", f"{db}#9"], capture_output=True,
                           text=True, timeout=30)
        self.assertEqual(p.returncode, 1)
        self.assertIn("no run with that id", p.stderr)
        # A path that cannot hold the file fails before anything is sent.
        rc, doc, err = run_cli(self.target.url("/"), "-n", "5", "--db-url",
                               "/nonexistent/dir/runs.db")
        self.assertEqual(rc, 2)
        self.assertIn("--db-url", err)


class JsonSchema(TargetTestCase):
    """Our results load where Kaioken's `compare` reads them: every mode validated against a
    JSON Schema written from Kaioken's serde structs (integers where it declares u32/u64)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        import jsonschema
        with open(os.path.join(HERE, "kaioken_result.schema.json")) as f:
            cls.validator = jsonschema.Draft202012Validator(json.load(f))

    def check(self, doc):
        errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
                  for e in self.validator.iter_errors(doc)]
        self.assertEqual(errors, [])

    def test_closed_paced_open_journey_and_websocket_results_match_kaioken(self):
        folder = tempfile.mkdtemp(prefix="spiker-schema-")
        journey = write(folder, "j.toml", f"""
[target]
url = "{self.target.url('/')}"
[load]
concurrency = 2
duration = "1s"
ramp_up = "500ms"
warmup = "200ms"
[[scenarios]]
name = "browse"
weight = 3
url = "{self.target.url('/json')}"
tags = ["read", "catalog"]
[[scenarios]]
name = "post"
url = "{self.target.url('/echo')}"
method = "POST"
body = "x"
tags = {{ kind = "write" }}
[[checks]]
name = "ok"
status = 200
[thresholds]
p95_latency = "< 1s"
error_rate = "< 0.5"
""")
        runs = [
            [self.target.url("/"), "-c", "2", "-d", "1s"],
            [self.target.url("/"), "-c", "2", "-r", "100.5", "-d", "1s"],
            [self.target.url("/"), "--arrival-rate", "150.7", "-d", "1s"],
            [self.target.url("/"), "--stage", "1s:50/s", "--stage", "1s:100/s"],
            [journey],
            [f"ws://127.0.0.1:{self.target.port}/ws", "-c", "2", "-d", "1s", "-b", "hi"],
        ]
        for args in runs:
            with self.subTest(args=args[1:] or args):
                rc, doc, err = run_cli(*args, timeout=30)
                self.assertEqual(rc, 0, err)
                self.check(doc)
                self.assertEqual(doc["metadata"]["env"]["os"], "linux")
        rc, doc, err = run_cli(journey, timeout=30)
        self.assertEqual([s["name"] for s in doc["scenarios"]], ["browse", "post"])
        self.assertEqual(doc["scenarios"][0]["tags"], {"read": "", "catalog": ""})
        self.assertEqual(doc["scenarios"][1]["tags"], {"kind": "write"})
        self.assertEqual(doc["metadata"]["target"]["url"], self.target.url("/"))
        self.assertEqual(doc["metadata"]["load"]["ramp_up_secs"], 1)  # 0.5 s rounded
        self.assertIn("steps", doc["journeys"])
        rc, doc, err = run_cli(self.target.url("/"), "--arrival-rate", "150.7", "-d", "1s")
        self.assertEqual(doc["metadata"]["load"]["arrival_rate"], 151)
        self.assertEqual(doc["metadata"]["load"]["arrival_rate_exact"], 150.7)


if __name__ == "__main__":
    unittest.main()
