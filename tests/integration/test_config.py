"""Config files (-f): Kaioken's [target], [load] and [[stages]]; flags win; strict keys."""
import json
import os
import subprocess
import tempfile
import unittest

from helpers import LOADSPIKER, TargetTestCase, run_cli


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
        p = subprocess.run([LOADSPIKER, "run", "-f", path, "--json"], capture_output=True,
                           text=True, timeout=60, env=env)
        self.assertEqual(p.returncode, 0, p.stderr)
        doc = json.loads(p.stdout)
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

    def test_bad_files_are_usage_errors_with_a_location(self):
        cases = [
            ("[target]\nurl = \"http://127.0.0.1:1/\"\n[load]\nconcurency = 3\n",
             ":4:1: unknown key 'concurency' in [load]; did you mean 'concurrency'?"),
            ("[target]\nurl = \"http://${NOT_SET_ANYWHERE}/\"\n", ":2: environment variable"),
            ("[target\n", ":1:"),
            ("[load]\nconcurrency = \"many\"\n", "expected a whole number"),
        ]
        for text, expected in cases:
            path = self.write(text)
            p = subprocess.run([LOADSPIKER, "run", "-f", path], capture_output=True, text=True,
                               timeout=10)
            self.assertEqual(p.returncode, 2, text)
            self.assertIn(path + expected if expected.startswith(":") else expected, p.stderr)


if __name__ == "__main__":
    unittest.main()
