"""Journeys from TOML files: steps, extraction, cookies, data rows, DAG order and concurrency,
Kaioken's dependencies, redirects, and bad files, checked against what the servers saw."""
import os
import subprocess
import tempfile
import textwrap
import time
import unittest
from collections import Counter

from helpers import LOADSPIKER, Nginx, Target, TargetTestCase, run_cli


def write(text, name="test.toml", folder=None):
    folder = folder or tempfile.mkdtemp(prefix="spiker-journey-")
    path = os.path.join(folder, name)
    with open(path, "w") as f:
        f.write(textwrap.dedent(text))
    return path


def steps_of(doc):
    return {s["name"]: s for s in doc["journeys"]["steps"]}


class Journeys(TargetTestCase):
    def base(self):
        return f"[defaults]\nbase_url = \"{self.target.url('')}\"\n"

    def test_independent_steps_run_concurrently_within_an_iteration(self):
        path = write(self.base() + """
            [[scenarios]]
            name = "fan"
              [[scenarios.steps]]
              name = "a"
              url = "/delay/300"
              [[scenarios.steps]]
              name = "b"
              url = "/delay/300"
              depends_on = []
              [[scenarios.steps]]
              name = "join"
              url = "/"
              depends_on = ["a", "b"]
            """)
        started = time.monotonic()
        rc, doc, err = run_cli(path, "-c", "1", "--iterations", "3")
        wall = time.monotonic() - started
        self.assertEqual(rc, 0, err)
        self.assertEqual(doc["journeys"]["iterations"], 3)
        st = steps_of(doc)
        self.assertEqual([st[n]["requests"] for n in ("fan/a", "fan/b", "fan/join")], [3, 3, 3])
        # Two 300 ms steps side by side: ~0.9 s for three iterations; in sequence it is 1.8 s.
        self.assertGreater(wall, 0.85)
        self.assertLess(wall, 1.5, f"three iterations took {wall:.2f}s: steps did not overlap")

    def test_every_iteration_failing_fails_the_run(self):
        # Every request is a 200, but no iteration passes (the extraction finds nothing):
        # the run must not exit 0.
        path = write(self.base() + """
            [[scenarios]]
            name = "miss"
              [[scenarios.steps]]
              name = "get"
              url = "/json"
              extract = { id = "json:$.no_such_field" }
            """)
        rc, doc, err = run_cli(path, "-c", "1", "--iterations", "5")
        self.assertEqual(doc["errors"], {})
        self.assertEqual(doc["journeys"]["iterations_failed"], 5)
        self.assertEqual(rc, 1, err)
        self.assertIn("5 of 5 iterations failed", err)

    def test_tokens_and_cookies_reach_the_target(self):
        # /me answers 200 only with the bearer token /login issued; /cart only with its cookie.
        path = write(self.base() + """
            cookie_jar = true
            [[scenarios]]
            name = "m"
              [[scenarios.steps]]
              name = "login"
              method = "POST"
              url = "/login"
              json = { username = "vu${VU_ID}" }
              extract = { token = "json:$.token", user = "json:$.user" }
              [[scenarios.steps]]
              name = "me"
              url = "/me"
              auth = { bearer = "${token}" }
              checks = ['body contains "vu"']
              [[scenarios.steps]]
              name = "cart"
              url = "/cart"
              [[scenarios.steps]]
              name = "echo"
              url = "/echo?u=${user}"
              checks = ['body contains "u=vu"']
            """)
        rc, doc, err = run_cli(path, "-c", "4", "--iterations", "40")
        self.assertEqual(rc, 0, err)
        self.assertEqual(doc["status_codes"], {"200": 160})
        self.assertEqual(doc["journeys"]["checks_passed"], 80)
        self.assertEqual(doc["journeys"]["checks_failed"], 0)
        self.assertEqual(steps_of(doc)["m/cart"]["requests"], 40)

    def test_without_the_cookie_jar_the_session_is_not_sent(self):
        path = write(self.base() + """
            [[scenarios]]
            name = "m"
              [[scenarios.steps]]
              name = "login"
              method = "POST"
              url = "/login"
              [[scenarios.steps]]
              name = "cart"
              url = "/cart"
            """)
        rc, doc, err = run_cli(path, "-c", "1", "--iterations", "5")
        self.assertEqual(doc["status_codes"], {"200": 5, "401": 5}, err)

    def test_a_failed_step_skips_its_dependants_and_if_runs_the_fallback(self):
        path = write(self.base() + """
            [[scenarios]]
            name = "f"
              [[scenarios.steps]]
              name = "broken"
              url = "/status/500"
              [[scenarios.steps]]
              name = "after"
              url = "/"
              [[scenarios.steps]]
              name = "fallback"
              url = "/json"
              depends_on = ["broken"]
              if = "broken failed"
            """)
        rc, doc, err = run_cli(path, "-c", "2", "--iterations", "10")
        st = steps_of(doc)
        self.assertEqual(st["f/broken"]["failed_steps"], 10, err)
        self.assertEqual(st["f/after"]["requests"], 0)
        self.assertEqual(st["f/fallback"]["requests"], 10)
        self.assertEqual(doc["journeys"]["steps_skipped"], 10)
        self.assertEqual(doc["journeys"]["iterations_failed"], 10)
        self.assertEqual(doc["status_codes"], {"200": 10, "500": 10})

    def test_extraction_failure_fails_the_step_and_nothing_is_sent_unresolved(self):
        path = write(self.base() + """
            [[scenarios]]
            name = "x"
              [[scenarios.steps]]
              name = "get"
              url = "/json"
              extract = { missing = "json:$.no.such.key" }
              [[scenarios.steps]]
              name = "use"
              url = "/echo?v=${missing}"
            """)
        rc, doc, err = run_cli(path, "-c", "1", "--iterations", "4")
        self.assertEqual(doc["journeys"]["extract_failures"], 4, err)
        self.assertEqual(steps_of(doc)["x/use"]["requests"], 0)

    def test_kaioken_weight_zero_login_runs_once_per_vu_before_dependants(self):
        url = self.target.url("")
        path = write(f"""
            [target]
            url = "{url}/"
            [[scenarios]]
            name = "login"
            url = "{url}/login"
            method = "POST"
            weight = 0
            extract = {{ token = "json:$.token" }}
            [[scenarios]]
            name = "me"
            url = "{url}/me"
            headers = {{ Authorization = "Bearer ${{token}}" }}
            weight = 2
            [[scenarios]]
            name = "home"
            url = "{url}/"
            depends_on = "login"
            """)
        rc, doc, err = run_cli(path, "-c", "5", "-d", "1s")
        self.assertEqual(rc, 0, err)
        st = steps_of(doc)
        logins = st["me/login"]["requests"] + st["home/login"]["requests"]
        self.assertEqual(logins, 5)  # one per VU, whichever scenario it drew first
        self.assertNotIn("401", doc["status_codes"])
        self.assertGreater(st["me/me"]["requests"], st["home/home"]["requests"])

    def test_kaioken_extraction_section_makes_the_target_each_vus_login(self):
        url = self.target.url("")
        path = write(f"""
            [target]
            url = "{url}/login"
            method = "POST"
            body = '{{"username": "x"}}'
            [extraction]
            token = "$.token"
            [[scenarios]]
            name = "me"
            url = "{url}/me"
            headers = {{ Authorization = "Bearer ${{token}}" }}
            """)
        rc, doc, err = run_cli(path, "-c", "3", "--iterations", "30")
        self.assertEqual(rc, 0, err)
        st = steps_of(doc)
        self.assertEqual(st["me/target"]["requests"], 3)
        self.assertEqual(st["me/me"]["requests"], 30)
        self.assertEqual(doc["status_codes"], {"200": 33})

    def test_redirects_are_followed_unless_disabled(self):
        body = """
            [[scenarios]]
            name = "r"
              [[scenarios.steps]]
              url = "/redirect/3"
            """
        rc, doc, err = run_cli(write(self.base() + body), "-c", "1", "--iterations", "5")
        self.assertEqual(doc["status_codes"], {"200": 5, "302": 15}, err)
        self.assertEqual(doc["journeys"]["iterations_failed"], 0)
        rc, doc, err = run_cli(write(self.base() + "follow_redirects = false\n" + body), "-c", "1",
                               "--iterations", "5")
        self.assertEqual(doc["status_codes"], {"302": 5}, err)
        rc, doc, err = run_cli(write(self.base() + "max_redirects = 2\n" + body), "-c", "1",
                               "--iterations", "2")
        self.assertEqual(doc["journeys"]["redirect_failures"], 2, err)

    def test_created_ids_are_extracted_and_reused(self):
        rc, doc, err = run_cli(os.path.join(os.path.dirname(__file__), "..", "..", "examples",
                                            "rest-crud.toml"), "-c", "3", "--iterations", "30",
                               env=dict(os.environ, TARGET=self.target.url("").rstrip("/")))
        self.assertEqual(rc, 0, err)
        self.assertEqual(doc["status_codes"], {"201": 30, "200": 60, "204": 30})
        self.assertEqual(doc["journeys"]["checks_failed"], 0)

    def test_the_starter_files_journey_runs_once_uncommented(self):
        folder = tempfile.mkdtemp(prefix="spiker-init-")
        path = os.path.join(folder, "t.toml")
        subprocess.run([LOADSPIKER, "init", "-o", path, "-u", self.target.url("/json")],
                       check=True, capture_output=True)
        text = open(path).read()
        head, journey = text.split("# [[scenarios]]")
        journey = "\n".join(line.replace("# ", "", 1) if line.lstrip().startswith("#") and
                            not line.lstrip().startswith("# each") else line
                            for line in ("# [[scenarios]]" + journey).splitlines())
        with open(path, "w") as f:  # no warmup: every iteration counts
            f.write(head.replace('warmup = "2s"', "") + journey + "\n")
        rc, doc, err = run_cli(path, "-c", "2", "--iterations", "6")
        self.assertEqual(rc, 0, err)
        self.assertEqual(doc["status_codes"], {"200": 8})  # two logins, six /me
        self.assertEqual(doc["journeys"]["checks_passed"], 6)

    def test_one_journey_spans_two_hosts(self):
        other = Target()
        try:
            path = write(self.base() + f"""
                [[scenarios]]
                name = "two"
                  [[scenarios.steps]]
                  name = "login"
                  method = "POST"
                  url = "/login"
                  extract = {{ token = "json:$.token" }}
                  [[scenarios.steps]]
                  name = "elsewhere"
                  url = "{other.url('/echo')}?t=${{token}}"
                  checks = ['body contains "t=ls_"']
                """)
            rc, doc, err = run_cli(path, "-c", "2", "--iterations", "10")
        finally:
            other.stop()
        self.assertEqual(rc, 0, err)
        self.assertEqual(steps_of(doc)["two/elsewhere"]["requests"], 10)
        self.assertEqual(doc["journeys"]["checks_passed"], 10)
        self.assertEqual(doc["connections"]["opened"], 4)  # a connection per VU per host

    def test_scenarios_with_their_own_executors_run_side_by_side(self):
        path = write(self.base() + """
            [load]
            vus = 1
            duration = "2s"
            think_time = "100ms"
            [[scenarios]]
            name = "arrivals"
            executor = "constant-arrival-rate"
            arrival_rate = 20
            duration = "2s"
            max_vus = 10
              [[scenarios.steps]]
              url = "/json"
            [[scenarios]]
            name = "batch"
            executor = "per-vu-iterations"
            vus = 2
            iterations = 3
              [[scenarios.steps]]
              url = "/delay/10"
            [[scenarios]]
            name = "browse"
              [[scenarios.steps]]
              url = "/"
            """)
        rc, doc, err = run_cli(path)
        self.assertEqual(rc, 0, err)
        st = steps_of(doc)
        self.assertEqual(st["arrivals"]["requests"], 40)  # 20/s for 2 s, exactly
        self.assertEqual(st["batch"]["requests"], 6)      # 2 VUs x 3
        self.assertGreaterEqual(st["browse"]["requests"], 12)  # 1 VU, 100 ms think, 2 s
        self.assertLessEqual(st["browse"]["requests"], 21)
        executors = {x["scenario"]: x["executor"]
                     for x in doc["metadata"]["load"]["scenario_executors"]}
        self.assertEqual(executors, {"arrivals": "constant-arrival-rate",
                                     "batch": "per-vu-iterations"})
        bad = {
            "executor = \"per-vu-iterations\"\nduration = \"1s\"\nvus = 2\n":
                "but its keys describe constant-vus",
            "executor = \"constant-vus\"\nweight = 2\nvus = 1\nduration = \"1s\"\n":
                "has its own executor and a weight",
            "vus = 2\n": "vus on a scenario needs executor",
        }
        for keys, message in bad.items():
            text = self.base() + "[[scenarios]]\nname = \"s\"\n" + keys + \
                "  [[scenarios.steps]]\n  url = \"/\"\n"
            p = subprocess.run([LOADSPIKER, "validate", write(text)], capture_output=True,
                               text=True)
            self.assertEqual(p.returncode, 1, p.stderr)
            self.assertIn(message, p.stderr)

    def test_validate_prints_the_dag_and_graph_draws_it(self):
        path = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "dag-fanout.toml")
        out = subprocess.run([LOADSPIKER, "validate", path], capture_output=True, text=True)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("summary", out.stdout)
        self.assertIn("after profile, orders, news", out.stdout)
        out = subprocess.run([LOADSPIKER, "graph", path], capture_output=True, text=True)
        self.assertIn("flowchart TD", out.stdout)
        self.assertIn("s1 --> s4", out.stdout)
        out = subprocess.run([LOADSPIKER, "graph", path, "--format", "dot"], capture_output=True,
                             text=True)
        self.assertIn("s1 -> s4;", out.stdout)


class DataAndBadFiles(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.nginx = Nginx(extra_server='location /u/ { return 200 "ok\\n"; }')

    @classmethod
    def tearDownClass(cls):
        cls.nginx.stop()

    def names_seen(self):
        return [line[3].split("/u/")[1] for line in self.nginx.log_lines()
                if line[3].startswith("/u/")]

    def data_file(self, n):
        folder = tempfile.mkdtemp(prefix="spiker-data-")
        with open(os.path.join(folder, "users.csv"), "w") as f:
            f.write("name,pw\n" + "".join(f"user{i},p{i}\n" for i in range(n)))
        return folder

    def toml(self, strategy, extra=""):
        return f"""
            [defaults]
            base_url = "{self.nginx.url('')}"
            [data.users]
            file = "users.csv"
            strategy = "{strategy}"
            {extra}
            [[scenarios]]
            name = "s"
              [[scenarios.steps]]
              url = "/u/${{users.name}}"
            """

    def test_unique_rows_are_used_once_across_vus_and_segments(self):
        folder = self.data_file(40)
        path = write(self.toml("unique"), folder=folder)
        open(self.nginx.log, "w").close()
        for seg in ("0:1/2", "1/2:1"):
            rc, doc, err = run_cli(path, "-c", "4", "-d", "20s", "--segment", seg,
                                   "--segment-sequence", "0,1/2,1", timeout=30)
            self.assertEqual(rc, 0, err)
            self.assertGreaterEqual(doc["journeys"]["data_exhausted"], 1)
            self.assertLess(doc["metadata"]["duration_secs"], 10)  # stopped when rows ran out
        seen = Counter(self.names_seen())
        self.assertEqual(set(seen), {f"user{i}" for i in range(40)})
        self.assertEqual(set(seen.values()), {1})

    def test_sequential_and_per_vu_rows(self):
        folder = self.data_file(5)
        open(self.nginx.log, "w").close()
        rc, doc, err = run_cli(write(self.toml("per-vu"), folder=folder), "-c", "3",
                               "--per-vu-iterations", "4", "-t", "1")
        self.assertEqual(rc, 0, err)
        self.assertEqual(Counter(self.names_seen()), {"user0": 4, "user1": 4, "user2": 4})
        open(self.nginx.log, "w").close()
        rc, doc, err = run_cli(write(self.toml("sequential"), folder=folder), "-c", "1",
                               "--iterations", "7")
        self.assertEqual(self.names_seen(), [f"user{i % 5}" for i in range(7)], err)

    def test_bad_files_exit_1_with_their_message_and_send_nothing(self):
        base = f"[defaults]\nbase_url = \"{self.nginx.url('')}\"\n"
        step = "[[scenarios]]\nname = \"s\"\n  [[scenarios.steps]]\n"
        cases = {
            "unknown key": (step + "  url = \"/\"\n  metod = \"GET\"\n",
                            "unknown key 'metod' in [[scenarios.steps]]; did you mean 'method'?"),
            "unknown variable": (step + "  url = \"/${tokn}\"\n", "unknown variable ${tokn}"),
            "cycle": (step + "  name = \"a\"\n  url = \"/\"\n  depends_on = \"b\"\n"
                      "  [[scenarios.steps]]\n  name = \"b\"\n  url = \"/\"\n"
                      "  depends_on = \"a\"\n", "dependency cycle: a -> b -> a"),
            "bad extractor": (step + "  url = \"/\"\n  extract = { t = \"xpath:/a\" }\n",
                              "cannot extract 'xpath:/a'"),
            "bad json path": (step + "  url = \"/\"\n  extract = { t = \"json:a.b\" }\n",
                              "must start with $"),
            "bad regex": (step + "  url = \"/\"\n  extract = { t = \"regex:(a\" }\n",
                          "bad regular expression"),
            "bad check": (step + "  url = \"/\"\n  checks = [\"status = 200\"]\n",
                          "cannot read the check"),
            "missing data": ("[data.u]\nfile = \"/nonexistent.csv\"\n" + step + "  url = \"/\"\n",
                             "cannot read '/nonexistent.csv'"),
            "unknown column": ("[data.u]\nfile = \"%s\"\n" % os.path.join(self.data_file(2),
                                                                         "users.csv")
                               + step + "  url = \"/${u.email}\"\n", "unknown variable ${u.email}"),
            "orphan weight 0": ("[[scenarios]]\nname = \"a\"\nurl = \"%s\"\nweight = 0\n"
                                "[[scenarios]]\nname = \"b\"\nurl = \"%s\"\n"
                                % (self.nginx.url("/"), self.nginx.url("/")),
                                "has weight = 0 and no scenario depends on it"),
            "bad executor": ("[load]\nexecutor = \"constant-arrival-rate\"\nvus = 2\n" + step
                             + "  url = \"/\"\n", "executor = \"constant-arrival-rate\""),
            "wrong type": (step + "  url = \"/\"\n  depends_on = 3\n", "depends_on: expected"),
        }
        open(self.nginx.log, "w").close()
        for name, (text, message) in cases.items():
            with self.subTest(name):
                path = write(base + text)
                for cmd in (["validate", path], ["run", path]):
                    p = subprocess.run([LOADSPIKER, *cmd], capture_output=True, text=True,
                                       timeout=20)
                    self.assertEqual(p.returncode, 1, p.stderr)
                    self.assertIn(message, p.stderr)
                    self.assertIn("test.toml", p.stderr)
        self.assertEqual(self.nginx.log_lines(), [])  # nothing ran


class OpenFiles(unittest.TestCase):
    def test_the_open_files_check_counts_the_lanes_of_a_dag(self):
        """100 VUs with four steps at once need four connections each: refused before the run
        with a 256-file limit, not failing mid-run on EMFILE."""
        import resource
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "fan.toml")
            with open(path, "w") as f:
                f.write(textwrap.dedent("""
                    [defaults]
                    base_url = "http://127.0.0.1:9"
                    [load]
                    vus = 100
                    duration = "1s"
                    [[scenarios]]
                    name = "fan"
                    [[scenarios.steps]]
                    name = "a"
                    url = "/a"
                    [[scenarios.steps]]
                    name = "b"
                    url = "/b"
                    depends_on = []
                    [[scenarios.steps]]
                    name = "c"
                    url = "/c"
                    depends_on = []
                    [[scenarios.steps]]
                    name = "d"
                    url = "/d"
                    depends_on = []
                    """))

            def limit():
                resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))

            p = subprocess.run([LOADSPIKER, "run", path, "--json"], capture_output=True,
                               text=True, timeout=60, preexec_fn=limit)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("up to 4 connections each", p.stderr)
        self.assertIn("need 464 open files", p.stderr)


if __name__ == "__main__":
    unittest.main()
