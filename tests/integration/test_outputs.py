"""Outputs from real runs: every format at once, JUnit validated by xmllint, the HDR interval
log round-tripping, `report` from a saved result, `merge` of segment runs against what the
server saw, `compare` exit codes 0, 3 and 5, and the HTML page in headless Chromium."""
import base64
import csv
import io
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest
import zlib

from helpers import LOADSPIKER, Nginx, TargetTestCase, run_cli


def cli(*args, timeout=60):
    return subprocess.run([LOADSPIKER, *args], capture_output=True, text=True, timeout=timeout)


class Outputs(TargetTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.dir = tempfile.mkdtemp(prefix="spiker-outputs-")
        cls.files = {ext: os.path.join(cls.dir, "r" + ext) for ext in
                     (".json", ".csv", ".md", ".html", ".xml", ".hlog", ".series.csv", ".jsonl")}
        config = os.path.join(cls.dir, "t.toml")
        with open(config, "w") as f:
            f.write(f"""
[target]
url = "{cls.target.url('/delay/10')}"
[load]
concurrency = 4
duration = "2s"
[[checks]]
name = "ok"
condition = "status == 200"
[thresholds]
p95_latency_ms = "< 1000"
http_req_failed = ["rate<0.5"]
error_rate = "< 0.000001"
""")
        args = ["run", config, "-q"]
        for path in cls.files.values():
            args += ["-o", path]
        cls.result = subprocess.run([LOADSPIKER, *args], capture_output=True, text=True, timeout=60)
        with open(cls.files[".json"]) as f:
            cls.doc = json.load(f)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)
        super().tearDownClass()

    def test_every_format_is_written_and_agrees_with_the_json(self):
        self.assertEqual(self.result.returncode, 0, self.result.stderr)
        with open(self.files[".csv"]) as f:
            rows = dict(csv.reader(f))
        self.assertEqual(int(rows["total_requests"]), self.doc["summary"]["total_requests"])
        self.assertEqual(int(rows["status_200"]), self.doc["status_codes"]["200"])
        self.assertAlmostEqual(float(rows["latency_p99_ms"]), self.doc["latency_us"]["p99"] / 1000)
        self.assertEqual(rows["thresholds_passed"], "true")
        with open(self.files[".md"]) as f:
            md = f.read()
        self.assertIn(f"| {self.doc['summary']['total_requests']} |", md)
        self.assertIn("## Thresholds: passed", md)
        with open(self.files[".series.csv"]) as f:
            series = list(csv.DictReader(f))
        self.assertEqual(sum(int(r["requests"]) for r in series),
                         sum(p["requests"] for p in self.doc["timeline"]))
        with open(self.files[".jsonl"]) as f:
            lines = [json.loads(line) for line in f]
        self.assertEqual([x["requests"] for x in lines],
                         [p["requests"] for p in self.doc["timeline"]])

    def test_junit_validates_with_a_case_per_threshold_and_check(self):
        p = subprocess.run(["xmllint", "--noout", self.files[".xml"]], capture_output=True,
                           text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(self.files[".xml"]) as f:
            xml = f.read()
        self.assertEqual(xml.count("<testcase "), 4)  # three thresholds, one check
        self.assertIn('tests="4" failures="0"', xml)

    def test_hlog_round_trips(self):
        with open(self.files[".hlog"]) as f:
            lines = [line.strip() for line in f if line.strip() and not line.startswith(("#", '"'))]
        timeline = [p for p in self.doc["timeline"] if p.get("latency_hist")]
        self.assertEqual(len(lines), len(timeline))
        for line, point in zip(lines, timeline):
            start, length, max_ms, hist = line.split(",")
            self.assertEqual(float(start), point["elapsed_secs"])
            self.assertEqual(float(length), point.get("partial_secs", 1.0))  # last: cut short
            self.assertEqual(hist, point["latency_hist"])
            raw = base64.b64decode(hist)
            self.assertEqual(raw[:4], bytes.fromhex("1c849314"))  # V2 compressed cookie (Java's)
            inner = zlib.decompress(raw[8:])
            self.assertEqual(inner[:4], bytes.fromhex("1c849313"))  # V2 encoding cookie
            self.assertGreaterEqual(float(max_ms), point["p99_us"] / 1000 - 0.001)

    def test_report_renders_a_saved_result(self):
        out = os.path.join(self.dir, "again.md")
        p = cli("report", self.files[".json"], "-o", out)
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(out) as f, open(self.files[".md"]) as g:
            self.assertEqual(f.read(), g.read())
        p = cli("report", self.files[".csv"])
        self.assertEqual(p.returncode, 1)
        self.assertIn("not a JSON result", p.stderr)
        # An unknown extension: JSON, Kaioken's default --format, with a note.
        txt = os.path.join(self.dir, "x.txt")
        p = cli("run", self.target.url("/"), "-n", "1", "-o", txt)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("written as JSON", p.stderr)
        with open(txt) as f:
            self.assertEqual(json.load(f)["summary"]["total_requests"], 1)

    def test_an_unwritable_output_is_refused_before_the_run(self):
        started = time.monotonic()
        p = cli("run", self.target.url("/"), "-d", "10s", "-o",
                os.path.join(self.dir, "no-such-folder", "r.json"))
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertLess(time.monotonic() - started, 5)  # refused up front, not after 10 s
        self.assertIn("cannot write there", p.stderr)
        self.assertNotIn("Result written", p.stdout)

    def test_a_full_stdout_is_an_error(self):
        with open("/dev/full", "w") as full:
            for args in (["report", self.files[".json"]],
                         ["run", self.target.url("/"), "-n", "10", "--json"]):
                p = subprocess.run([LOADSPIKER, *args], stdout=full, stderr=subprocess.PIPE,
                                   text=True, timeout=60)
                self.assertEqual(p.returncode, 1, args)
                self.assertIn("could not write to standard output", p.stderr, args)

    def test_secrets_are_redacted_everywhere(self):
        with tempfile.TemporaryDirectory() as d:
            config = os.path.join(d, "s.toml")
            with open(config, "w") as f:
                f.write('redact = ["X-Tenant"]\n')
            outs = [os.path.join(d, "r" + ext) for ext in (".json", ".md", ".html", ".csv")]
            args = [self.target.url("/?token=tok-123&page=2&api_key=key-456"), "-n", "5",
                    "-f", config, "-H", "X-Session-Id: sess-789", "-H", "X-Custom-Auth: auth-000",
                    "-H", "X-Tenant: tenant-111", "-H", "X-Trace: visible-222", "--redact",
                    "X-Other"]
            for o in outs:
                args += ["-o", o]
            p = cli("run", *args)
            self.assertEqual(p.returncode, 0, p.stderr)
            texts = [p.stdout, p.stderr]
            for o in outs:
                with open(o) as f:
                    texts.append(f.read())
        for text in texts:
            for secret in ("tok-123", "key-456", "sess-789", "auth-000", "tenant-111"):
                self.assertNotIn(secret, text)
        joined = "\n".join(texts)
        self.assertIn("visible-222", joined)  # not every header is a secret
        self.assertIn("page=2", joined)
        self.assertIn("token=<redacted>", joined)
        # Credentials in a URL are refused without being echoed.
        p = cli("run", "http://admin:hunter2@127.0.0.1:9/", "-n", "1")
        self.assertEqual(p.returncode, 2)
        self.assertNotIn("hunter2", p.stderr + p.stdout)
        self.assertIn("credentials in the URL", p.stderr)

    def test_compare_exit_codes(self):
        base = os.path.join(self.dir, "base.json")
        slow = os.path.join(self.dir, "slow.json")
        opened = os.path.join(self.dir, "open.json")
        cli("run", self.target.url("/delay/5"), "-c", "2", "-n", "200", "-q", "-o", base)
        cli("run", self.target.url("/delay/40"), "-c", "2", "-n", "100", "-q", "-o", slow)
        cli("run", self.target.url("/delay/5"), "--arrival-rate", "100", "-d", "1s", "-q",
            "-o", opened)
        self.assertEqual(cli("compare", base, base).returncode, 0)
        p = cli("compare", base, slow, "--json")
        self.assertEqual(p.returncode, 3, p.stderr)
        doc = json.loads(p.stdout)
        self.assertTrue(doc["has_regressions"])
        self.assertIn("latency_p99", [r["metric"] for r in doc["regressions"]])
        p = cli("compare", base, opened)
        self.assertEqual(p.returncode, 5)
        self.assertIn("--force", p.stderr)
        self.assertNotEqual(cli("compare", base, opened, "--force").returncode, 5)

    def test_html_page_in_headless_chromium(self):
        browser = shutil.which("chromium")
        if browser is None:
            self.skipTest("chromium is not installed: run scripts/install-deps")
        profile = tempfile.mkdtemp(prefix="spiker-chromium-")
        try:
            p = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu",
                                f"--user-data-dir={profile}", "--enable-logging=stderr",
                                "--v=0", "--dump-dom", "file://" + self.files[".html"]],
                               capture_output=True, text=True, timeout=120)
        finally:
            shutil.rmtree(profile, ignore_errors=True)
        self.assertEqual(p.returncode, 0, p.stderr[-2000:])
        dom = p.stdout
        console_errors = [line for line in p.stderr.splitlines()
                          if "CONSOLE" in line and ("ERROR" in line or "error" in line)]
        self.assertEqual(console_errors, [])
        # Chart.js ran (embedded; no network) and every chart got its data: the page script
        # writes each chart's series and their point counts on its canvas.
        seconds = len(self.doc["timeline"])
        if self.doc["timeline"][-1].get("partial_secs", 1) < 0.25:
            seconds -= 1  # a sliver of a last second is left out of the charts, and said so
            self.assertIn("are left out of these charts", dom)
        self.assertRegex(dom, r'<body data-charts="(\d+)"')
        drawn = int(re.search(r'<body data-charts="(\d+)"', dom).group(1))
        self.assertGreaterEqual(drawn, 7)  # VUs, rps, latency, histogram, spectrum, status, checks
        series = dict(re.findall(r'<canvas id="(chart-[a-z]+)" [^>]*data-series="([^"]*)"', dom))
        self.assertIn(f"requests/s:{seconds}", series["chart-rps"])
        self.assertIn(f"errors/s:{seconds}", series["chart-rps"])
        self.assertIn(f"p99:{seconds}", series["chart-latency"])
        self.assertIn(f"VUs:{seconds}", series["chart-vus"])
        self.assertIn("requests:40", series["chart-histogram"])
        self.assertIn("service time:13", series["chart-spectrum"])
        self.assertIn("requests:1", series["chart-scenarios"])  # the file's one scenario
        self.assertIn("requests:1", series["chart-steps"])
        self.assertIn(f"{self.doc['summary']['total_requests']:,}", dom)
        self.assertIn('id="thresholds"', dom)
        # No number written with an exponent, and the units are named.
        text = re.sub(r"<script.*?</script>", "", dom, flags=re.S)
        self.assertNotRegex(text, r"\d\.\d+e[+-]\d")
        self.assertIn(" ms</td>", text)


class SegmentMerge(unittest.TestCase):
    def test_three_segments_merge_to_what_the_server_saw(self):
        nginx = Nginx()
        folder = tempfile.mkdtemp(prefix="spiker-merge-")
        try:
            parts = []
            for seg in ("0:1/3", "1/3:2/3", "2/3:1"):
                out = os.path.join(folder, seg.replace("/", "_").replace(":", "-") + ".json")
                p = cli("run", nginx.url("/index.html"), "-c", "6", "-n", "3000", "--segment", seg,
                        "--segment-sequence", "0,1/3,2/3,1", "-q", "-o", out)
                self.assertEqual(p.returncode, 0, p.stderr)
                parts.append(out)
            merged = os.path.join(folder, "all.json")
            p = cli("merge", *parts, "-o", merged)
            self.assertEqual(p.returncode, 0, p.stderr)
            with open(merged) as f:
                doc = json.load(f)
            docs = []
            for path in parts:
                with open(path) as f:
                    docs.append(json.load(f))
            self.assertEqual(doc["summary"]["total_requests"], 3000)
            self.assertEqual(sum(d["summary"]["total_requests"] for d in docs), 3000)
            self.assertEqual(len(nginx.log_lines()), 3000)
            self.assertEqual(doc["status_codes"], {"200": 3000})
            self.assertEqual(doc["latency_us"]["count"], 3000)
            self.assertEqual(doc["metadata"]["merged_from"], parts)
            # A merged percentile lies within the segments' own (it is not their average).
            for key in ("p50", "p99", "max"):
                values = [d["latency_us"][key] for d in docs]
                self.assertGreaterEqual(doc["latency_us"][key], min(values))
                self.assertLessEqual(doc["latency_us"][key], max(values))
        finally:
            nginx.stop()
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
