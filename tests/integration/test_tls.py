"""TLS against nginx with a self-signed certificate: verification on by default."""
import os
import shutil
import subprocess
import tempfile
import unittest

from helpers import Nginx, run_cli


def make_cert(directory, name, extra=()):
    key = os.path.join(directory, f"{name}.key")
    crt = os.path.join(directory, f"{name}.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-keyout", key, "-out", crt, "-subj", f"/CN={name}", *extra],
                   check=True, capture_output=True)
    return crt, key


class Tls(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if shutil.which("openssl") is None:
            raise unittest.SkipTest("openssl is not installed: run scripts/install-deps")
        cls.dir = tempfile.mkdtemp(prefix="spiker-tls-")
        cls.server_crt, server_key = make_cert(
            cls.dir, "localhost", ["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        cls.client_crt, cls.client_key = make_cert(cls.dir, "client")
        cls.nginx = Nginx(tls=(cls.server_crt, server_key), extra_server=f"""
    ssl_client_certificate {cls.client_crt};
    ssl_verify_client optional;
    location = /mtls {{ if ($ssl_client_verify != SUCCESS) {{ return 403; }} return 200 "hi\\n"; }}""")

    @classmethod
    def tearDownClass(cls):
        cls.nginx.stop()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def test_untrusted_certificate_fails_as_tls(self):
        rc, doc, _ = run_cli(self.nginx.url("/index.html"), "-c", "2", "-n", "6")
        self.assertEqual(rc, 1)
        self.assertEqual(doc["errors"], {"tls": 6})

    def test_cacert_trusts_it(self):
        rc, doc, err = run_cli(self.nginx.url("/index.html"), "-c", "2", "-n", "200",
                               "--cacert", self.server_crt)
        self.assertEqual(rc, 0, err)
        self.assertEqual(doc["status_codes"], {"200": 200})
        self.assertEqual(doc["connections"]["opened"], 2)
        self.assertEqual(doc["connections"]["tls_handshake_us"]["count"], 2)
        # Wire bytes include TLS records: more than nginx's plain bytes_sent.
        plain = sum(int(l[1]) for l in self.nginx.log_lines()[-200:])
        self.assertGreater(doc["summary"]["bytes_received"], plain)

    def test_host_name_is_verified(self):
        url = f"https://localhost:{self.nginx.port}/index.html"
        rc, doc, _ = run_cli(url, "-n", "5", "-c", "1", "--cacert", self.server_crt)
        self.assertEqual(doc["status_codes"], {"200": 5})
        # The certificate is for "localhost", not for this client's name.
        rc, doc, _ = run_cli(url, "-n", "3", "-c", "1", "--cacert", self.client_crt)
        self.assertEqual(doc["errors"], {"tls": 3})

    def test_reconnects_resume_the_tls_session(self):
        open(self.nginx.log, "w").close()
        rc, doc, err = run_cli(self.nginx.url("/index.html"), "-c", "1", "-t", "1", "-n", "40",
                               "--disable-keepalive", "--cacert", self.server_crt)
        self.assertEqual(rc, 0, err)
        self.assertEqual(doc["connections"]["opened"], 40)
        reused = [l[5] for l in self.nginx.log_lines()]
        self.assertEqual(len(reused), 40)
        self.assertGreaterEqual(reused.count("r"), 38)  # all but the first (and its ticket)
        self.assertEqual(doc["connections"]["tls_resumed"], reused.count("r"))

    def test_insecure_skips_verification(self):
        rc, doc, err = run_cli(self.nginx.url("/index.html"), "-n", "50", "--insecure")
        self.assertEqual(rc, 0, err)
        self.assertEqual(doc["status_codes"], {"200": 50})

    def test_client_certificate(self):
        rc, doc, _ = run_cli(self.nginx.url("/mtls"), "-n", "5", "-c", "1", "--insecure")
        self.assertEqual(doc["status_codes"], {"403": 5})
        rc, doc, err = run_cli(self.nginx.url("/mtls"), "-n", "5", "-c", "1", "--insecure",
                               "--cert", self.client_crt, "--key", self.client_key)
        self.assertEqual(doc["status_codes"], {"200": 5}, err)

    def test_bad_cacert_path_is_a_usage_error(self):
        rc, doc, err = run_cli(self.nginx.url("/"), "-n", "1", "--cacert", "/nonexistent.pem")
        self.assertEqual(rc, 2)
        self.assertIn("--cacert", err)


if __name__ == "__main__":
    unittest.main()
