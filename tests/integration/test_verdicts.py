"""Verdicts from real runs: checks counted per check, thresholds passing and failing with exit
codes 0 and 4, tag filters, and abort_on_fail stopping a run early with results written."""
import os
import subprocess
import time
import unittest

from helpers import LOADSPIKER, TargetTestCase, run_cli
from test_journeys import write


class Verdicts(TargetTestCase):
    def test_kaioken_checks_in_both_forms_are_counted_per_check(self):
        url = self.target.url("")
        path = write(f"""
            [load]
            concurrency = 2
            [[scenarios]]
            name = "json"
            url = "{url}/json"
            weight = 3
            tags = ["api"]
            [[scenarios]]
            name = "missing"
            url = "{url}/nope"
            [[checks]]
            name = "is ok"
            condition = "status == 200"
            [[checks]]
            status = 200
            body_contains = "alpha"
            max_latency = "5s"
            tags = ["api"]
            [[checks]]
            header_contains = {{ Content-Type = "json" }}
            scenario = "json"
            [[checks]]
            name = "json ok"
            condition = "json $.ok == true && json $.items[1].id > 1"
            scenario = "json"
            """)
        rc, doc, err = run_cli(path, "-n", "200")
        self.assertEqual(rc, 0, err)
        st = {s["name"]: s["requests"] for s in doc["scenarios"]}
        ok, missing = st["json"], st["missing"]
        self.assertEqual(ok + missing, 200)
        res = doc["checks"]["results"]
        self.assertEqual(res["is ok"], {"passed": ok, "total": 200, "pass_rate": ok / 200})
        self.assertEqual(res['status == 200 && body contains "alpha" && latency < 5s']["total"],
                         ok)
        self.assertEqual(res["json ok"]["passed"], ok)
        self.assertEqual(res['header Content-Type contains "json"']["pass_rate"], 1.0)
        self.assertAlmostEqual(doc["checks"]["overall_pass_rate"], (ok * 4) / (200 + ok * 3))
        # Checks count; they do not fail requests: the 404s are the only failures.
        self.assertEqual(doc["summary"]["failed"], missing)
        # ... unless a check says fail_request = true.
        with open(path) as f:
            text = f.read()
        strict = write(text.replace('condition = "json $.ok', 'fail_request = true\n'
                                    '            condition = "json $.ok').replace(
                                        "json $.ok == true", "json $.ok == false"))
        rc, doc, err = run_cli(strict, "-n", "100")
        self.assertEqual(doc["summary"]["failed"], 100, err)  # 404s, and the json ones now too

    def test_thresholds_pass_and_fail_with_exit_codes(self):
        base = f"""
            [target]
            url = "{self.target.url('/delay/20')}"
            [load]
            concurrency = 4
            """
        passing = base + """
            [thresholds]
            p95_latency_ms = "< 1000"
            p50_latency = "> 15ms"
            error_rate = "< 1%"
            http_req_duration = ["avg<1000", "min>=19"]
            http_reqs = ["count==40"]
            """
        rc, doc, err = run_cli(write(passing), "-n", "40")
        self.assertEqual(rc, 0, err)
        self.assertTrue(doc["thresholds"]["passed"])
        self.assertEqual(len(doc["thresholds"]["results"]), 6)
        failing = base + """
            [thresholds]
            p95_latency_ms = "< 5"
            error_rate = "< 1%"
            """
        rc, doc, err = run_cli(write(failing), "-n", "40")
        self.assertEqual(rc, 4, err)
        results = {r["metric"]: r for r in doc["thresholds"]["results"]}
        self.assertFalse(results["p95_latency_ms"]["passed"])
        self.assertGreaterEqual(results["p95_latency_ms"]["actual"], 20)  # the known delay
        self.assertTrue(results["error_rate"]["passed"])
        self.assertEqual(results["error_rate"]["actual"], 0)
        self.assertIn("thresholds failed", err)

    def test_tag_filters_judge_one_scenario(self):
        path = write(f"""
            [defaults]
            base_url = "{self.target.url('')}"
            [[scenarios]]
            name = "slow"
              [[scenarios.steps]]
              url = "/delay/50"
            [[scenarios]]
            name = "broken"
              [[scenarios.steps]]
              url = "/status/503"
            [thresholds]
            "http_req_duration{{scenario:slow}}" = ["p(50)>=50", "p(99)<1000"]
            "http_req_duration{{scenario:broken}}" = ["max<40"]
            "http_req_failed{{scenario:broken}}" = ["rate>0.99"]
            "http_req_failed{{scenario:slow}}" = ["rate==0"]
            """)
        rc, doc, err = run_cli(path, "-c", "4", "--iterations", "40")
        self.assertEqual(rc, 0, err)
        self.assertTrue(all(r["passed"] for r in doc["thresholds"]["results"]),
                        doc["thresholds"])
        bad = path.replace(".toml", "-bad.toml")
        with open(path) as f, open(bad, "w") as g:
            g.write(f.read().replace("scenario:slow}\" = [\"p", "scenario:nope}\" = [\"p"))
        p = subprocess.run([LOADSPIKER, "run", bad, "-n", "1"], capture_output=True, text=True)
        self.assertEqual(p.returncode, 1)
        self.assertIn("no scenario is named 'nope'", p.stderr)

    def test_abort_on_fail_stops_the_run_and_keeps_results(self):
        out = write("", name="result.json")
        path = write(f"""
            [target]
            url = "{self.target.url('/delay/20')}"
            [load]
            concurrency = 2
            duration = "20s"
            [thresholds]
            http_req_duration = [{{ threshold = "p(95)<5", abort_on_fail = true, delay_abort_eval = "500ms" }}]
            """)
        started = time.monotonic()
        p = subprocess.run([LOADSPIKER, "run", path, "-q", "-o", out], capture_output=True,
                           text=True, timeout=30)
        wall = time.monotonic() - started
        self.assertEqual(p.returncode, 4, p.stderr)
        self.assertLess(wall, 2.5)  # 0.5 s delay + one 250 ms tick + drain, not 20 s
        import json
        with open(out) as f:
            doc = json.load(f)
        self.assertTrue(doc["thresholds"]["results"][0]["aborted_run"])
        self.assertGreater(doc["summary"]["total_requests"], 10)

    def test_bad_thresholds_and_checks_are_config_errors(self):
        cases = {
            '[thresholds]\np95_latency_ms = "300"\n': "starts with an operator",
            '[thresholds]\np95_latency_ms = 300\n': "expected a string",
            '[thresholds]\nhttp_req_duration = ["rate<3"]\n': "http_req_duration takes",
            '[thresholds]\nhttp_reqs = [{ threshold = "rate>1", abort = true }]\n':
                "unknown key 'abort'",
            '[[checks]]\nname = "x"\n': "[[checks]] needs condition",
            '[[checks]]\ncondition = "status = 200"\n': "cannot read the check",
            '[[checks]]\nstatus = 200\ntags = ["nope"]\n': "matches no step",
        }
        for text, message in cases.items():
            with self.subTest(text):
                path = write(f'[target]\nurl = "{self.target.url("/")}"\n' + text)
                p = subprocess.run([LOADSPIKER, "validate", path], capture_output=True, text=True)
                self.assertEqual(p.returncode, 1, p.stderr)
                self.assertIn(message, p.stderr)


if __name__ == "__main__":
    unittest.main()
