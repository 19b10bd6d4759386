"""-x/--proxy: plain HTTP through an HTTP proxy in absolute form, everything else (HTTPS,
WebSocket, h2c, raw TCP) through CONNECT, and all of it through SOCKS5, with and without proxy
credentials; the proxy's log says which way each connection went."""
import os
import subprocess
import sys
import tempfile
import unittest

from helpers import LOADSPIKER, Target, free_port, run_cli, wait_for_port

HERE = os.path.dirname(os.path.abspath(__file__))


class Proxy:
    def __init__(self, cred=None):
        self.port = free_port()
        self.log = tempfile.mktemp(prefix="spiker-proxy-", suffix=".log")
        self.proc = subprocess.Popen(
            ["/usr/bin/python3", os.path.join(HERE, "proxy_server.py"), str(self.port), self.log,
             *([cred] if cred else [])], stdout=subprocess.DEVNULL)
        wait_for_port(self.port)

    def lines(self):
        if not os.path.exists(self.log):
            return []
        with open(self.log) as f:
            return f.read().split()

    def entries(self):
        if not os.path.exists(self.log):
            return []
        with open(self.log) as f:
            return [line.split()[0] for line in f if line.strip()]

    def stop(self):
        self.proc.kill()
        self.proc.wait()


class ThroughProxies(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="spiker-proxy-")
        cls.cert = os.path.join(cls.dir, "cert.pem")
        cls.plain = Target(echoes=True)
        cls.tls = Target(tls_cert_out=cls.cert)
        cls.proxy = Proxy()
        cls.authed = Proxy("alice:pa55")

    @classmethod
    def tearDownClass(cls):
        for x in (cls.plain, cls.tls, cls.proxy, cls.authed):
            x.stop()

    def run_via(self, proxy_url, proxy, *args):
        before = len(proxy.entries())
        rc, doc, err = run_cli(*args, "-x", proxy_url, "-c", "2", timeout=60)
        return rc, doc, err, proxy.entries()[before:]

    def test_http_proxy_forwards_plain_http_and_tunnels_the_rest(self):
        url = f"http://127.0.0.1:{self.proxy.port}"
        rc, doc, err, ways = self.run_via(url, self.proxy, self.plain.url("/json"), "-n", "40")
        self.assertEqual(doc["status_codes"], {"200": 40}, err)
        self.assertEqual(ways, ["forward"] * doc["connections"]["opened"])
        rc, doc, err, ways = self.run_via(url, self.proxy, self.tls.url("/json"), "-n", "40",
                                          "--cacert", self.cert)
        self.assertEqual(doc["status_codes"], {"200": 40}, err)
        self.assertEqual(ways, ["connect"] * doc["connections"]["opened"])
        rc, doc, err, ways = self.run_via(url, self.proxy, self.plain.url("/json"), "-n", "40",
                                          "--http2")
        self.assertEqual(doc["status_codes"], {"200": 40}, err)
        self.assertEqual(set(ways), {"connect"})
        rc, doc, err, ways = self.run_via(url, self.proxy, f"ws://127.0.0.1:{self.plain.port}/ws",
                                          "-d", "1s", "-b", "hi")
        self.assertEqual(rc, 0, err)
        self.assertGreater(doc["websocket"]["messages_received"], 5)
        self.assertEqual(set(ways), {"connect"})

    def test_socks5_carries_every_tcp_protocol(self):
        url = f"socks5://127.0.0.1:{self.proxy.port}"
        for args in ([self.plain.url("/json")], [self.tls.url("/json"), "--cacert", self.cert],
                     [f"tcp://127.0.0.1:{self.plain.tcp_port}", "-b", "PING\\n",
                      "--expect-until", "\\n"]):
            with self.subTest(target=args[0]):
                rc, doc, err, ways = self.run_via(url, self.proxy, *args, "-n", "30")
                self.assertEqual(rc, 0, err)
                self.assertEqual(doc["summary"]["failed"], 0)
                self.assertEqual(doc["summary"]["total_requests"], 30)
                self.assertEqual(ways, ["socks"] * doc["connections"]["opened"])

    def test_proxy_credentials_and_refusals(self):
        good = f"alice:pa55@127.0.0.1:{self.authed.port}"
        for scheme, target in (("http", self.plain.url("/json")), ("http", self.tls.url("/json")),
                               ("socks5", self.plain.url("/json"))):
            with self.subTest(scheme=scheme, target=target):
                tls = ["--cacert", self.cert] if target.startswith("https") else []
                rc, doc, err, ways = self.run_via(f"{scheme}://{good}", self.authed, target,
                                                  "-n", "20", *tls)
                self.assertEqual(doc["status_codes"], {"200": 20}, err)
                self.assertNotIn("pa55", str(doc))  # not in any output
        bad = f"alice:wrong@127.0.0.1:{self.authed.port}"
        rc, doc, err, _ = self.run_via(f"http://{bad}", self.authed, self.plain.url("/"), "-n", "5")
        self.assertEqual(doc["status_codes"], {"407": 5})  # the proxy's answer, counted
        for scheme, target in (("http", self.tls.url("/")), ("socks5", self.plain.url("/"))):
            tls = ["--cacert", self.cert] if target.startswith("https") else []
            rc, doc, err, _ = self.run_via(f"{scheme}://{bad}", self.authed, target, "-n", "5",
                                           *tls)
            self.assertEqual(rc, 1)
            self.assertIn("connect", doc["errors"], scheme)

    def test_file_key_and_bad_input(self):
        path = os.path.join(self.dir, "p.toml")
        with open(path, "w") as f:
            f.write(f'[target]\nurl = "{self.plain.url("/json")}"\n'
                    f'proxy = "socks5://127.0.0.1:{self.proxy.port}"\n[load]\nmax_requests = 10\n')
        before = len(self.proxy.entries())
        rc, doc, err = run_cli(path)
        self.assertEqual(doc["status_codes"], {"200": 10}, err)
        self.assertIn("socks", self.proxy.entries()[before:])
        for proxy, word in (("ftp://h:1", "not supported"), ("http://h:99999", "port"),
                            ("http://:8080", "no host")):
            rc, doc, err = run_cli(self.plain.url("/"), "-x", proxy, "-n", "1")
            self.assertEqual(rc, 2, proxy)
            self.assertIn(word, err)
        rc, doc, err = run_cli(f"udp://127.0.0.1:{self.plain.udp_port}", "-x",
                               f"socks5://127.0.0.1:{self.proxy.port}", "-n", "1", "-b", "x")
        self.assertEqual(rc, 2)
        self.assertIn("UDP", err)


if __name__ == "__main__":
    unittest.main()
