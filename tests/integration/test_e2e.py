"""The CLI end to end against the embedded target (`loadspiker serve`)."""
import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.request

from helpers import LOADSPIKER, Target, TargetTestCase, on_terminal, run_cli



def load_json(path):
    with open(path) as f:
        return json.load(f)


RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


class EndToEnd(TargetTestCase):
    def test_json_result_matches_the_reference_schema(self):
        rc, doc, err = run_cli(self.target.url("/json"), "-c", "4", "-t", "2", "-d", "2s",
                               "-H", "Authorization: Bearer sekret", "-H", "X-Trace: 1")
        self.assertEqual(rc, 0, err)
        md = doc["metadata"]
        self.assertEqual(md["tool"], "loadspiker")
        self.assertIsInstance(md["version"], str)
        self.assertRegex(md["started_at"], RFC3339)
        self.assertRegex(md["ended_at"], RFC3339)
        self.assertIsInstance(md["duration_secs"], int)
        self.assertIn(md["duration_secs"], (2, 3))
        self.assertEqual(md["target"], {"url": self.target.url("/json"), "method": "GET",
                                        "headers": ["Authorization: <redacted>", "X-Trace: 1"]})
        load = md["load"]
        self.assertEqual(load["concurrency"], 4)
        self.assertEqual(load["load_model"], "closed")
        self.assertEqual(load["timeout_ms"], 5000)
        for key in ("rate", "ramp_up_secs", "warmup_secs"):
            self.assertIsInstance(load[key], (int, float))
        self.assertNotIn("arrival_rate", load)  # omitted when not applicable, never null
        self.assertIsInstance(md["env"]["hostname"], str)
        self.assertIsInstance(md["env"]["os"], str)
        self.assertGreaterEqual(md["env"]["cpus"], 1)

        s = doc["summary"]
        total = s["total_requests"]
        self.assertGreater(total, 500)
        self.assertEqual(s["successful"] + s["failed"], total)
        self.assertEqual(s["failed"], 0)
        self.assertEqual(s["error_rate"], 0)
        self.assertAlmostEqual(s["requests_per_sec"], total / s["elapsed_secs"], delta=1)
        self.assertGreater(s["bytes_received"], total * 100)
        self.assertNotIn("arrival_rate", s)

        lat = doc["latency_us"]
        keys = ["min", "p50", "p75", "p90", "p95", "p99", "p999", "max"]
        for k in keys + ["mean", "stddev"]:
            self.assertIsInstance(lat[k], (int, float), k)
        values = [lat[k] for k in keys]
        self.assertEqual(values, sorted(values))
        self.assertGreater(lat["min"], 0)
        self.assertEqual(doc["status_codes"], {"200": total})
        self.assertEqual(doc["errors"], {})
        self.assertNotIn("corrected_latency_us", doc)
        tl = doc["timeline"]
        self.assertIn(len(tl), (2, 3))
        self.assertEqual([p["elapsed_secs"] for p in tl], list(range(len(tl))))
        self.assertEqual(sum(p["requests"] for p in tl), total)
        self.assertTrue(all(p["errors"] == 0 for p in tl))
        self.assertNotIn("sekret", json.dumps(doc))

    def test_known_delay_gives_known_percentiles(self):
        rc, doc, err = run_cli(self.target.url("/delay/50"), "-c", "10", "-n", "100")
        self.assertEqual(rc, 0, err)
        lat = doc["latency_us"]
        self.assertGreaterEqual(lat["min"], 50_000)
        self.assertLess(lat["p50"], 60_000)
        self.assertLess(lat["p99"], 80_000)
        # 10 connections x 50 ms: about 200 requests a second.
        self.assertAlmostEqual(doc["summary"]["requests_per_sec"], 200, delta=40)

    def test_stall_shows_in_the_tail(self):
        def stall():
            time.sleep(0.7)
            urllib.request.urlopen(self.target.url("/stall?ms=400")).read()
        t = threading.Thread(target=stall)
        t.start()
        rc, doc, err = run_cli(self.target.url("/"), "-c", "4", "-t", "1", "-d", "2s")
        t.join()
        self.assertEqual(rc, 0, err)
        self.assertGreaterEqual(doc["latency_us"]["max"], 300_000)
        self.assertLess(doc["latency_us"]["p50"], 50_000)

    def test_status_endpoint_and_error_rate_exit(self):
        rc, doc, _ = run_cli(self.target.url("/status/503"), "-n", "40", "-c", "2")
        self.assertEqual(rc, 1)
        self.assertEqual(doc["status_codes"], {"503": 40})
        self.assertEqual(doc["summary"]["error_rate"], 1.0)

    def test_login_token_then_me(self):
        req = urllib.request.Request(self.target.url("/login"), data=b'{"username":"ana"}',
                                     method="POST")
        token = json.loads(urllib.request.urlopen(req).read())["token"]
        rc, doc, err = run_cli(self.target.url("/me"), "-n", "30", "-c", "3",
                               "-H", f"Authorization: Bearer {token}")
        self.assertEqual(doc["status_codes"], {"200": 30})
        self.assertNotIn(token, json.dumps(doc) + err)
        rc, doc, _ = run_cli(self.target.url("/me"), "-n", "5", "-c", "1")
        self.assertEqual(doc["status_codes"], {"401": 5})

    def test_post_echo_with_body_file(self):
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            f.write('{"hello": "world"}')
        rc, doc, err = run_cli(self.target.url("/echo"), "-m", "POST", "--body-file", f.name,
                               "-n", "10", "-c", "1")
        os.unlink(f.name)
        self.assertEqual(rc, 0, err)
        self.assertEqual(doc["status_codes"], {"200": 10})

    def test_pipelining(self):
        rc, doc, err = run_cli(self.target.url("/"), "-c", "2", "-n", "1000", "--pipeline", "8")
        self.assertEqual(rc, 0, err)
        self.assertEqual(doc["status_codes"], {"200": 1000})
        self.assertEqual(doc["metadata"]["load"]["pipeline"], 8)

    def test_output_file_and_summary(self):
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "r.json")
            p = subprocess.run([LOADSPIKER, "run", self.target.url("/"), "-n", "200", "-c", "2",
                                "-o", out, "--no-tui"], capture_output=True, text=True, timeout=60)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(load_json(out)["summary"]["total_requests"], 200)
            for word in ("Summary", "Requests", "p99.9", "Status codes", "200: 200", "Errors",
                         "Throughput"):
                self.assertIn(word, p.stdout)

    def test_ctrl_c_keeps_partial_results(self):
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "partial.json")
            p = subprocess.Popen([LOADSPIKER, "run", self.target.url("/"), "-d", "60s", "-c", "2",
                                  "-t", "1", "--no-tui", "-o", out],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            time.sleep(1.5)
            start = time.time()
            p.send_signal(signal.SIGINT)
            stdout, _ = p.communicate(timeout=20)
            self.assertLess(time.time() - start, 5)
            self.assertEqual(p.returncode, 130)  # interrupted: partial results, not a pass
            doc = load_json(out)
            self.assertTrue(doc["metadata"]["interrupted"])
            self.assertGreater(doc["summary"]["total_requests"], 100)
            self.assertEqual(doc["errors"], {})
            self.assertIn("interrupted", stdout)

    def test_ipv6_loopback(self):
        try:
            socket.socket(socket.AF_INET6).bind(("::1", 0))
        except OSError:
            self.skipTest("no IPv6 loopback here")
        target6 = Target(host="::1")
        try:
            rc, doc, err = run_cli(target6.url("/json"), "-n", "100", "-c", "2")
        finally:
            target6.stop()
        self.assertEqual(rc, 0, err)
        self.assertEqual(doc["status_codes"], {"200": 100})
        self.assertEqual(doc["metadata"]["target"]["url"], target6.url("/json"))

    def test_bad_input_is_a_usage_error_naming_the_flag(self):
        cases = [
            (["run", "localhost:1"], "URL"),
            (["run", self.target.url(), "-d", "ten"], "--duration"),
            (["run", self.target.url(), "-n", "lots"], "--max-requests"),
            (["run", self.target.url(), "-c", "0"], "--concurrency"),
            (["run", self.target.url(), "-H", "nocolon"], "--header"),
            (["run", self.target.url(), "-m", "get it"], "--method"),
            (["run", self.target.url(), "--timeout", "0s"], "--timeout"),
            (["run", self.target.url(), "--no-such-flag"], "no-such-flag"),
            (["run"], "url"),
        ]
        for args, word in cases:
            p = subprocess.run([LOADSPIKER, *args], capture_output=True, text=True, timeout=10)
            self.assertEqual(p.returncode, 2, args)
            self.assertIn(word, p.stderr, args)
        p = subprocess.run([LOADSPIKER, "run", "http://no-such-host.invalid/", "-n", "1"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 1)
        self.assertIn("cannot resolve", p.stderr)

    def test_live_view_on_a_terminal(self):
        rc, text = on_terminal(["run", self.target.url("/"), "-d", "2s", "-c", "2", "-t", "1"])
        self.assertEqual(rc, 0)
        self.assertGreaterEqual(text.count("\x1b[7A"), 4)  # redrawn in place several times
        for word in ("RPS", "now", "avg", "p50", "p95", "p99", "status", "errors", "remaining"):
            self.assertIn(word, text)
        self.assertIn("█", text)  # progress bar
        self.assertIn("Summary", text)
        # A normal end says so; the abort hint belongs to an interrupted run only.
        self.assertNotIn("Ctrl-C again", text)
        self.assertIn("(done)", text)

    def test_plain_progress_lines_without_a_terminal(self):
        p = subprocess.run([LOADSPIKER, "run", self.target.url("/"), "-d", "6s", "-c", "2", "-t",
                            "1", "--no-tui"], capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0)
        lines = [l for l in p.stderr.splitlines() if l.startswith("[")]
        self.assertGreaterEqual(len(lines), 1)
        self.assertIn("rps=", lines[0])
        self.assertNotIn("\x1b[", p.stderr)


if __name__ == "__main__":
    unittest.main()
