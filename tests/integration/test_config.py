"""Config files (-f): Kaioken's [target], [load] and [[stages]]; flags win; strict keys."""
import os
import subprocess
import tempfile
import unittest

from helpers import LOADSPIKER, Nginx, TargetTestCase, run_cli


class ConfigFiles(TargetTestCase):
    def write(self, text):
        f = tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False)
        f.write(text)
        f.close()
        self.addCleanup(os.unlink, f.name)
        return f.name

    def test_kaioken_config_runs(self):
        path = self.write(f"""
[target]
url = "http://127.0.0.1:{self.target.port}/echo"
method = "POST"
body = '{{"hello": "world"}}'
headers = {{ "Content-Type" = "application/json", "X-Api-Key" = "k-123" }}
timeout = "3s"

[load]
concurrency = 3
max_requests = 250
""")
        rc, doc, err = run_cli(path)  # `loadspiker run file.toml`, same as -f
        self.assertEqual(rc, 0, err)
        self.assertEqual(doc["summary"]["total_requests"], 250)
        self.assertEqual(doc["metadata"]["target"]["method"], "POST")
        self.assertIn("X-Api-Key: <redacted>", doc["metadata"]["target"]["headers"])
        self.assertEqual(doc["metadata"]["load"]["concurrency"], 3)
        self.assertEqual(doc["metadata"]["load"]["timeout_ms"], 3000)

    def test_stages_and_env_from_the_file(self):
        path = self.write("""
[target]
url = "http://127.0.0.1:${SPIKER_TEST_PORT}/"

[[stages]]
duration = "1s"
target_rate = 200

[[stages]]
duration = "1s"
target_rate = 200
""")
        env = dict(os.environ, SPIKER_TEST_PORT=str(self.target.port))
        rc, doc, err = run_cli("-f", path, env=env)
        self.assertEqual(rc, 0, err)
        self.assertEqual(doc["metadata"]["load"]["executor"], "ramping-arrival-rate")
        self.assertEqual(doc["summary"]["total_requests"], 300)  # 100 + 200

    def test_flags_win_over_the_file(self):
        path = self.write(f"""
[target]
url = "http://127.0.0.1:{self.target.port}/status/503"
[load]
concurrency = 9
max_requests = 1000
""")
        rc, doc, err = run_cli("-f", path, self.target.url("/"), "-c", "2", "-n", "40")
        self.assertEqual(rc, 0, err)
        self.assertEqual(doc["status_codes"], {"200": 40})
        self.assertEqual(doc["metadata"]["load"]["concurrency"], 2)

    def test_bad_files_exit_1_with_a_location(self):
        cases = [
            ("[target]\nurl = \"http://127.0.0.1:1/\"\n[load]\nconcurency = 3\n",
             ":4:1: unknown key 'concurency' in [load]; did you mean 'concurrency'?"),
            ("[target]\nurl = \"http://${NOT_SET_ANYWHERE}/\"\n", ":2: environment variable"),
            ("[target\n", ":1:"),
            ("[load]\nconcurrency = \"many\"\n", "expected a whole number"),
        ]
        for text, expected in cases:
            path = self.write(text)
            for cmd in (["run", "-f", path], ["validate", path]):
                p = subprocess.run([LOADSPIKER, *cmd], capture_output=True, text=True, timeout=10)
                self.assertEqual(p.returncode, 1, text)  # a bad config, not a bad flag
                self.assertIn(path + expected if expected.startswith(":") else expected,
                              p.stderr)

    def test_weighted_scenarios_against_nginx(self):
        nginx = Nginx()
        self.addCleanup(nginx.stop)
        path = self.write(f"""
[target]
headers = {{ "X-Common" = "1" }}

[load]
concurrency = 4
max_requests = 2000

[[scenarios]]
name = "page"
url = "{nginx.url('/index.html')}"
weight = 3
tags = {{ kind = "read" }}

[[scenarios]]
name = "submit"
url = "{nginx.url('/missing?id=${REQUEST_ID}')}"
method = "POST"
body = "x=${{RANDOM_STRING:5}}"
tags = ["write"]
""")
        rc, doc, err = run_cli(path)
        lines = nginx.log_lines()
        by_method = {m: sum(1 for l in lines if l[2] == m) for m in ("GET", "POST")}
        scenarios = {s["name"]: s for s in doc["scenarios"]}
        self.assertEqual(len(lines), 2000)
        self.assertEqual(scenarios["page"]["requests"], by_method["GET"])
        self.assertEqual(scenarios["submit"]["requests"], by_method["POST"])
        self.assertAlmostEqual(by_method["GET"] / 2000, 0.75, delta=0.05)
        self.assertEqual(doc["status_codes"], {"200": by_method["GET"], "404": by_method["POST"]})
        self.assertEqual(scenarios["page"]["tags"], {"kind": "read"})
        self.assertEqual(scenarios["submit"]["method"], "POST")
        self.assertTrue(all(l[4] == "7" for l in lines if l[2] == "POST"))
        self.assertEqual(len({l[3] for l in lines if l[2] == "POST"}), by_method["POST"])

    def test_init_writes_a_file_that_validates_and_runs(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "starter.toml")
            p = subprocess.run([LOADSPIKER, "init", "-o", path, "-u", self.target.url("/json")],
                               capture_output=True, text=True, timeout=10)
            self.assertEqual(p.returncode, 0, p.stderr)
            p = subprocess.run([LOADSPIKER, "validate", path], capture_output=True, text=True,
                               timeout=10)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn("is valid", p.stdout)
            self.assertIn("constant-vus", p.stdout)
            rc, doc, err = run_cli(path, "-d", "1s", "--warmup", "200ms")
            self.assertEqual(rc, 0, err)
            self.assertEqual(doc["status_codes"].keys(), {"200"})
            self.assertEqual(doc["metadata"]["load"]["concurrency"], 10)
            p = subprocess.run([LOADSPIKER, "init", "-o", path], capture_output=True, text=True)
            self.assertEqual(p.returncode, 2)  # exists: not overwritten without --force
            self.assertIn("--force", p.stderr)

    def test_dry_run_sends_nothing(self):
        p = subprocess.run([LOADSPIKER, "run", "http://no-such-host.invalid/x?id=${REQUEST_ID}",
                            "--arrival-rate", "50", "-d", "3s", "--dry-run"],
                           capture_output=True, text=True, timeout=10)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("constant-arrival-rate", p.stdout)
        self.assertIn("rendered per request", p.stdout)


if __name__ == "__main__":
    unittest.main()
