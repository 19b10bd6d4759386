"""LoadSpiker against a real nginx: what we report equals what nginx logged."""
import re
import time
import unittest

from helpers import Nginx, run_cli


class NginxCounts(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.nginx = Nginx(extra_server="""
    location = /gz { gzip on; gzip_min_length 0; gzip_types text/plain; default_type text/plain;
                     return 200 "compressible compressible compressible compressible\\n"; }
    location /short/ { keepalive_requests 7; }""")

    @classmethod
    def tearDownClass(cls):
        cls.nginx.stop()

    def setUp(self):
        open(self.nginx.log, "w").close()  # truncate: nginx appends to the same open file

    def assert_matches_log(self, doc, status="200"):
        lines = self.nginx.log_lines()
        self.assertEqual(doc["summary"]["total_requests"], len(lines))
        self.assertEqual(doc["status_codes"], {status: len(lines)})
        self.assertEqual(doc["errors"], {})
        self.assertEqual(doc["summary"]["bytes_received"], sum(int(l[1]) for l in lines))
        return lines

    def test_duration_run_counts_equal_access_log(self):
        rc, doc, err = run_cli(self.nginx.url("/index.html"), "-c", "8", "-t", "2", "-d", "2s")
        self.assertEqual(rc, 0, err)
        self.assertGreater(doc["summary"]["total_requests"], 1000)
        self.assert_matches_log(doc)
        self.assertEqual(sum(p["requests"] for p in doc["timeline"]),
                         doc["summary"]["total_requests"])

    def test_max_requests_sends_exactly_n(self):
        rc, doc, err = run_cli(self.nginx.url("/index.html"), "-c", "7", "-t", "2", "-n", "1000")
        self.assertEqual(rc, 0, err)
        self.assertEqual(doc["summary"]["total_requests"], 1000)
        self.assertEqual(len(self.assert_matches_log(doc)), 1000)

    def test_status_codes_and_failure_exit(self):
        rc, doc, _ = run_cli(self.nginx.url("/missing"), "-c", "4", "-n", "200")
        self.assertEqual(rc, 1)  # error rate over 50%
        self.assertEqual(doc["summary"]["failed"], 200)
        self.assertEqual(doc["summary"]["successful"], 0)
        self.assert_matches_log(doc, status="404")

    def test_chunked_responses_count_wire_bytes(self):
        rc, doc, err = run_cli(self.nginx.url("/gz"), "-c", "4", "-n", "300",
                               "-H", "Accept-Encoding: gzip")
        self.assertEqual(rc, 0, err)
        lines = self.assert_matches_log(doc)
        self.assertEqual(len(lines), 300)

    def test_server_closing_keepalive_connections(self):
        # nginx closes each connection after 7 requests ("Connection: close"): we reconnect.
        rc, doc, err = run_cli(self.nginx.url("/short/"), "-c", "3", "-n", "700")
        self.assertEqual(rc, 1)  # /short/ has no index: 404 (but every one counted)
        lines = self.nginx.log_lines()
        self.assertEqual(len(lines), 700)
        self.assertEqual(doc["summary"]["total_requests"], 700)
        self.assertEqual(doc["errors"], {})
        self.assertGreaterEqual(doc["connections"]["opened"], 100)

    def test_disable_keepalive_opens_a_connection_per_request(self):
        rc, doc, err = run_cli(self.nginx.url("/index.html"), "-c", "4", "-n", "300",
                               "--disable-keepalive")
        self.assertEqual(rc, 0, err)
        self.assert_matches_log(doc)
        self.assertEqual(doc["connections"]["opened"], 300)

    def test_post_body_is_sent(self):
        rc, doc, err = run_cli(self.nginx.url("/missing"), "-m", "POST", "-b", "hello", "-n", "20")
        lines = self.nginx.log_lines()
        self.assertEqual(len(lines), 20)
        self.assertTrue(all(l[2] == "POST" for l in lines))


    def test_builtin_variables_are_rendered_per_request(self):
        start_ms = time.time() * 1000
        rc, doc, err = run_cli(
            self.nginx.url("/missing?id=${REQUEST_ID}&vu=${VU_ID}&it=${ITERATION}"
                           "&n=${RANDOM_INT:1:3}&t=${TIMESTAMP_MS}&u=${UUID}"),
            "-c", "3", "-t", "2", "-n", "300", "-m", "POST", "-b", "x=${RANDOM_STRING:8}")
        lines = self.nginx.log_lines()
        self.assertEqual(len(lines), 300)
        params = [dict(kv.split("=") for kv in l[3].split("?")[1].split("&")) for l in lines]
        self.assertEqual(len({p["id"] for p in params}), 300)  # unique per request
        self.assertEqual({p["vu"] for p in params}, {"1", "2", "3"})
        self.assertTrue({p["n"] for p in params} <= {"1", "2", "3"})
        self.assertEqual(len({p["n"] for p in params}), 3)
        self.assertTrue(all(start_ms - 1000 <= int(p["t"]) <= time.time() * 1000 for p in params))
        self.assertEqual(len({p["u"] for p in params}), 300)
        self.assertTrue(all(re.fullmatch(r"[0-9a-f-]{36}", p["u"]) for p in params))
        self.assertEqual({int(p["it"]) for p in params}, set(range(max(int(p["it"]) for p in params) + 1)))
        self.assertTrue(all(l[4] == "10" for l in lines))  # Content-Length of the rendered body


if __name__ == "__main__":
    unittest.main()
