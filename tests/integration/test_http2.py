"""HTTP/2 against servers that are not ours: nginx (h2c and TLS with ALPN) and nghttpd.
Request counts are checked against what the servers logged."""
import os
import shutil
import subprocess
import tempfile
import time
import unittest

from helpers import Nginx, Target, free_port, run_cli, wait_for_port
from test_tls import make_cert


class H2cNginx(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.target = Target(threads=1)  # slow answers behind nginx: /delay/N
        upstream = f"http://127.0.0.1:{cls.target.port}"
        cls.nginx = Nginx(http2=True, keepalive_requests=1000000, extra_server=f"""
    location /delay/ {{ proxy_pass {upstream}; proxy_http_version 1.1;
                        proxy_set_header Connection ""; }}
    location /items {{ proxy_pass {upstream}; proxy_http_version 1.1;
                       proxy_set_header Connection ""; }}
    location = /reset {{ return 444; }}""")

    @classmethod
    def tearDownClass(cls):
        cls.nginx.stop()
        cls.target.stop()

    def h2_lines(self, before):
        lines = self.nginx.log_lines()[before:]
        return [l for l in lines if l[6] == "HTTP/2.0"]

    def test_counts_match_the_server_and_streams_share_connections(self):
        before = len(self.nginx.log_lines(settle=0))
        rc, doc, err = run_cli(self.nginx.url("/index.html"), "--http2", "-c", "20",
                               "--max-streams", "10", "-n", "1000", "-t", "1")
        self.assertEqual(rc, 0, err)
        self.assertEqual(doc["status_codes"], {"200": 1000})
        self.assertEqual(doc["metadata"]["load"]["protocol"], "h2c")
        self.assertEqual(doc["http2"]["protocol"], "h2c")
        lines = self.h2_lines(before)
        self.assertEqual(len(lines), 1000)
        self.assertEqual(len({l[7] for l in lines}), 2)  # 20 VUs over 2 connections
        self.assertEqual(doc["connections"]["opened"], 2)
        # Bytes on the wire: at least the bodies nginx sent, less than HTTP/1.1 would take.
        self.assertGreater(doc["summary"]["bytes_received"], 1000 * 612)

    def test_disable_keepalive_makes_a_connection_per_request(self):
        before = len(self.nginx.log_lines(settle=0))
        rc, doc, err = run_cli(self.nginx.url("/index.html"), "--http2", "-c", "4",
                               "--max-streams", "2", "-n", "60", "-t", "1",
                               "--disable-keepalive")
        self.assertEqual(rc, 0, err)
        self.assertEqual(doc["status_codes"], {"200": 60})
        lines = self.h2_lines(before)
        self.assertEqual(len(lines), 60)
        self.assertEqual(len({l[7] for l in lines}), 60)  # nginx saw 60 connections
        self.assertEqual(doc["connections"]["opened"], 60)

    def test_streams_multiplex_on_one_connection(self):
        start = time.monotonic()
        rc, one, err = run_cli(self.nginx.url("/delay/100"), "--http2", "-c", "1", "-n", "10",
                               "-t", "1")
        one_s = time.monotonic() - start
        self.assertEqual(rc, 0, err)
        start = time.monotonic()
        rc, ten, err = run_cli(self.nginx.url("/delay/100"), "--http2", "-c", "10",
                               "--max-streams", "10", "-n", "10", "-t", "1")
        ten_s = time.monotonic() - start
        self.assertEqual(rc, 0, err)
        self.assertEqual(ten["status_codes"], {"200": 10})
        self.assertEqual(ten["connections"]["opened"], 1)
        self.assertEqual(one["connections"]["opened"], 1)
        self.assertGreaterEqual(one_s, 1.0)
        # Ten streams at once on one connection: about a tenth of the time (plus start-up).
        self.assertLess(ten_s, one_s / 3)
        self.assertGreaterEqual(ten["latency_us"]["p50"], 100_000)

    def test_reset_streams_are_counted_as_errors(self):
        rc, doc, err = run_cli(self.nginx.url("/reset"), "--http2", "-c", "4",
                               "--max-streams", "4", "-n", "40", "-t", "1")
        self.assertEqual(rc, 1, err)  # every request failed
        self.assertEqual(doc["errors"], {"reset": 40})
        self.assertEqual(doc["http2"]["rst_streams"], 40)

    def test_journey_steps_post_extract_and_check_over_h2c(self):
        d = tempfile.mkdtemp()
        path = os.path.join(d, "j.toml")
        with open(path, "w") as f:
            f.write(f"""
[target]
url = "{self.nginx.url()}"
http2 = true
max_streams = 4
[load]
vus = 4
iterations = 40
[[scenarios]]
name = "create"
method = "POST"
url = "/items"
headers = {{ "Content-Type" = "application/json" }}
body = '{{"name": "widget-${{REQUEST_ID}}"}}'
extract = {{ id = "json:$.id" }}
[[scenarios]]
name = "read"
url = "/items/${{id}}"
depends_on = "create"
[[checks]]
name = "read returns the widget"
step = "read"
condition = "body contains 'widget-'"
""")
        rc, doc, err = run_cli("-f", path)
        shutil.rmtree(d)
        self.assertEqual(rc, 0, err)
        self.assertEqual(doc["metadata"]["load"]["protocol"], "h2c")
        self.assertEqual(doc["errors"], {})
        self.assertEqual(sorted(doc["status_codes"]), ["200", "201"])
        self.assertEqual(doc["journeys"]["iterations"], 40)
        self.assertEqual(doc["journeys"]["extract_failures"], 0)
        # Every read found the item the create before it made (its id extracted from JSON).
        check = doc["checks"]["results"]["read returns the widget"]
        self.assertEqual(check["passed"], doc["status_codes"]["200"])
        self.assertEqual(check["total"], check["passed"])


class H2NginxTls(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="spiker-h2tls-")
        crt, key = make_cert(cls.dir, "localhost",
                             ["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        cls.crt = crt
        cls.nginx = Nginx(tls=(crt, key), http2=True, keepalive_requests=50)

    @classmethod
    def tearDownClass(cls):
        cls.nginx.stop()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def test_alpn_picks_h2_and_http1_stays_http1(self):
        before = len(self.nginx.log_lines(settle=0))
        rc, doc, err = run_cli(self.nginx.url("/index.html"), "--cacert", self.crt, "-c", "4",
                               "--max-streams", "2", "-n", "40", "-t", "1")
        self.assertEqual(rc, 0, err)
        self.assertEqual(doc["metadata"]["load"]["protocol"], "h2")
        self.assertEqual(doc["status_codes"], {"200": 40})
        lines = self.nginx.log_lines()[before:]
        # The ALPN probe is a handshake without a request: nothing is logged for it.
        self.assertEqual([l[6] for l in lines], ["HTTP/2.0"] * 40)
        self.assertEqual(doc["connections"]["tls_handshake_us"]["count"], 2)
        rc, doc, err = run_cli(self.nginx.url("/index.html"), "--cacert", self.crt, "--http1",
                               "-c", "2", "-n", "20", "-t", "1")
        self.assertEqual(rc, 0, err)
        self.assertEqual(doc["metadata"]["load"]["protocol"], "http/1.1")
        lines = self.nginx.log_lines()[before + 40:]
        self.assertEqual([l[6] for l in lines], ["HTTP/1.1"] * 20)

    def test_goaway_reconnects_and_is_counted(self):
        # nginx ends an h2 connection with GOAWAY after keepalive_requests (50) streams.
        before = len(self.nginx.log_lines(settle=0))
        rc, doc, err = run_cli(self.nginx.url("/index.html"), "--cacert", self.crt, "-c", "10",
                               "--max-streams", "10", "-n", "500", "-t", "1")
        self.assertEqual(rc, 0, err)
        self.assertEqual(doc["status_codes"], {"200": 500})
        self.assertEqual(doc["errors"], {})
        self.assertGreaterEqual(doc["http2"]["goaways"], 9)
        self.assertGreaterEqual(doc["connections"]["opened"], 10)
        self.assertEqual(len(self.nginx.log_lines()[before:]), 500)

    def test_http2_flag_fails_clearly_on_a_server_without_h2(self):
        plain = Nginx(tls=(self.crt, self.crt.replace(".pem", ".key")))
        try:
            rc, _, err = run_cli(plain.url("/index.html"), "--cacert", self.crt, "--http2",
                                 "-n", "1")
        finally:
            plain.stop()
        self.assertEqual(rc, 2, err)
        self.assertIn("chose 'http/1.1' by ALPN", err)

    def test_tls_version_bounds_and_resumption_off(self):
        rc, doc, err = run_cli(self.nginx.url("/index.html"), "--cacert", self.crt, "--tls-max",
                               "1.2", "--no-tls-resume", "--disable-keepalive", "--http1",
                               "-c", "1", "-n", "5", "-t", "1")
        self.assertEqual(rc, 0, err)
        self.assertEqual(doc["connections"]["tls_resumed"], 0)
        self.assertEqual(doc["connections"]["tls_full"], 5)
        rc, doc, err = run_cli(self.nginx.url("/index.html"), "--cacert", self.crt,
                               "--disable-keepalive", "--http1", "-c", "1", "-n", "5", "-t", "1")
        self.assertEqual(rc, 0, err)
        self.assertEqual(doc["connections"]["tls_resumed"], 4)


class TlsOptions(unittest.TestCase):
    """--tls-min/--tls-max, --ciphers and --sni, checked against what nginx negotiated."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="spiker-tlsopt-")
        # A certificate for a name that is not the address the URL uses.
        cls.crt, key = make_cert(cls.dir, "only.test", ["-addext", "subjectAltName=DNS:only.test"])
        cls.nginx = Nginx(tls=(cls.crt, key))

    @classmethod
    def tearDownClass(cls):
        cls.nginx.stop()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def last(self, n):
        return self.nginx.log_lines()[-n:]

    def run_ok(self, *args):
        rc, doc, err = run_cli(self.nginx.url("/index.html"), "--cacert", self.crt, "--sni",
                               "only.test", "-c", "1", "-n", "3", "-t", "1", *args)
        self.assertEqual(rc, 0, err)
        self.assertEqual(doc["status_codes"], {"200": 3})
        return self.last(3)

    def test_sni_names_the_server_to_verify(self):
        rc, doc, err = run_cli(self.nginx.url("/index.html"), "--cacert", self.crt, "-n", "2",
                               "-c", "1", "-t", "1")
        self.assertEqual(doc["errors"], {"tls": 2})  # 127.0.0.1 is not only.test
        lines = self.run_ok()
        self.assertEqual({l[10] for l in lines}, {"only.test"})

    def test_versions(self):
        self.assertEqual({l[8] for l in self.run_ok("--tls-max", "1.2")}, {"TLSv1.2"})
        self.assertEqual({l[8] for l in self.run_ok("--tls-min", "1.3")}, {"TLSv1.3"})
        rc, _, err = run_cli(self.nginx.url("/"), "--tls-min", "1.1", "-n", "1",
                             check_json=False)
        self.assertEqual(rc, 2)
        self.assertIn("TLS before 1.2 is not offered", err)

    def test_ciphers(self):
        lines = self.run_ok("--tls-max", "1.2", "--ciphers", "ECDHE-RSA-AES128-GCM-SHA256")
        self.assertEqual({l[9] for l in lines}, {"ECDHE-RSA-AES128-GCM-SHA256"})
        lines = self.run_ok("--tls-min", "1.3", "--ciphers", "TLS_CHACHA20_POLY1305_SHA256")
        self.assertEqual({l[9] for l in lines}, {"TLS_CHACHA20_POLY1305_SHA256"})
        rc, _, err = run_cli(self.nginx.url("/"), "--ciphers", "NO-SUCH-CIPHER", "-n", "1",
                             check_json=False)
        self.assertEqual(rc, 2)
        self.assertIn("--ciphers", err)


class EmbeddedTargetSpeaksHttp2(unittest.TestCase):
    def test_h2c_with_prior_knowledge(self):
        target = Target()
        try:
            p = subprocess.run(["curl", "-s", "--http2-prior-knowledge", "-o", "/dev/null", "-w",
                                "%{http_version} %{http_code}", target.url("/json")],
                               capture_output=True, text=True, timeout=10)
            self.assertEqual(p.stdout, "2 200")  # a client that is not ours agrees
            start = time.monotonic()
            rc, doc, err = run_cli(target.url("/delay/200"), "--http2", "-c", "10",
                                   "--max-streams", "10", "-n", "10", "-t", "1")
            took = time.monotonic() - start
        finally:
            target.stop()
        self.assertEqual(rc, 0, err)
        self.assertEqual(doc["status_codes"], {"200": 10})
        self.assertEqual(doc["connections"]["opened"], 1)
        self.assertLess(took, 1.5)  # ten 200 ms answers at once, not one after another

    def test_tls_with_a_generated_certificate_and_alpn(self):
        d = tempfile.mkdtemp()
        pem = os.path.join(d, "target.pem")
        target = Target(tls_cert_out=pem)
        url = target.url("/json", host="localhost")  # the name the certificate carries
        try:
            p = subprocess.run(["curl", "-s", "--cacert", pem, "-o", "/dev/null", "-w",
                                "%{http_version} %{http_code}", url],
                               capture_output=True, text=True, timeout=10)
            self.assertEqual(p.stdout, "2 200")
            rc, doc, err = run_cli(url, "--cacert", pem, "-c", "4", "--max-streams", "2", "-n",
                                   "100", "-t", "1")
            self.assertEqual(rc, 0, err)
            self.assertEqual(doc["metadata"]["load"]["protocol"], "h2")
            self.assertEqual(doc["status_codes"], {"200": 100})
            rc, doc, err = run_cli(url, "--cacert", pem, "--http1", "-c", "2", "-n", "20")
            self.assertEqual(rc, 0, err)
            self.assertEqual(doc["metadata"]["load"]["protocol"], "http/1.1")
        finally:
            target.stop()
            shutil.rmtree(d)


class MaxConcurrentStreams(unittest.TestCase):
    def test_server_limit_is_respected(self):
        target = Target(threads=1)
        nginx = Nginx(http2=True, extra_server=f"""
    http2_max_concurrent_streams 2;
    location /delay/ {{ proxy_pass http://127.0.0.1:{target.port}; }}""")
        try:
            start = time.monotonic()
            rc, doc, err = run_cli(nginx.url("/delay/100"), "--http2", "-c", "8",
                                   "--max-streams", "8", "-n", "8", "-t", "1")
            took = time.monotonic() - start
        finally:
            nginx.stop()
            target.stop()
        self.assertEqual(rc, 0, err)
        self.assertEqual(doc["status_codes"], {"200": 8})
        self.assertEqual(doc["errors"], {})
        self.assertEqual(doc["connections"]["opened"], 1)
        # Two at a time: four rounds of 100 ms.
        self.assertGreaterEqual(took, 0.38)
        # Each stream was sent only when the server had room: none waited inside the server.
        self.assertLess(doc["latency_us"]["max"], 190_000)


class Nghttpd(unittest.TestCase):
    def test_counts_match_nghttpd(self):
        nghttpd = shutil.which("nghttpd")
        if nghttpd is None:
            raise unittest.SkipTest("nghttpd is not installed: run scripts/install-deps")
        d = tempfile.mkdtemp(prefix="spiker-nghttpd-")
        with open(os.path.join(d, "index.html"), "w") as f:
            f.write("hello\n")
        port = free_port()
        log = open(os.path.join(d, "log"), "w+")
        p = subprocess.Popen([nghttpd, "--no-tls", "-v", "-d", d, "-a", "127.0.0.1", str(port)],
                             stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_for_port(port)
            rc, doc, err = run_cli(f"http://127.0.0.1:{port}/index.html", "--http2", "-c", "6",
                                   "--max-streams", "3", "-n", "300", "-t", "1")
        finally:
            p.terminate()
            p.wait(timeout=10)
        log.seek(0)
        seen = sum(1 for line in log if ":path: /index.html" in line)
        log.close()
        shutil.rmtree(d)
        self.assertEqual(rc, 0, err)
        self.assertEqual(doc["status_codes"], {"200": 300})
        self.assertEqual(seen, 300)
        self.assertEqual(doc["connections"]["opened"], 2)


if __name__ == "__main__":
    unittest.main()
