"""Raw TCP, TLS and UDP (tcp://, tls://, udp://) against servers we did not write: a Python
socketserver echo that counts what it received, socat, and the embedded target's echoes."""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

from helpers import LOADSPIKER, Target, free_port, run_cli, wait_for_port

PY = "/usr/bin/python3"
HERE = os.path.dirname(os.path.abspath(__file__))


class EchoServer:
    """raw_echo_server.py on free ports; stop() returns what it counted."""

    def __init__(self, *flags, tcp=True, udp=True):
        self.dir = tempfile.mkdtemp(prefix="spiker-raw-")
        self.stats = os.path.join(self.dir, "stats.json")
        self.tcp = free_port() if tcp else 0
        self.udp = free_port() if udp else 0
        self.proc = subprocess.Popen(
            [PY, os.path.join(HERE, "raw_echo_server.py"), "--tcp", str(self.tcp), "--udp",
             str(self.udp), "--stats", self.stats, *flags], stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout.readline().strip() == "ready"  # bound: no probe connection
        self.proc.stdout.close()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=10)
        with open(self.stats) as f:
            counts = json.load(f)
        shutil.rmtree(self.dir, ignore_errors=True)
        return counts


class Tcp(unittest.TestCase):
    def test_exchanges_match_what_the_server_received(self):
        s = EchoServer(udp=False)
        rc, doc, err = run_cli(f"tcp://127.0.0.1:{s.tcp}", "-b", r"PING ${REQUEST_ID}\n",
                               "--expect-until", r"\n", "-n", "500", "-c", "5")
        counts = s.stop()
        self.assertEqual(rc, 0, err)
        self.assertEqual(doc["summary"]["successful"], 500)
        self.assertEqual(doc["summary"]["failed"], 0)
        self.assertEqual(counts["tcp_lines"], 500)           # every exchange reached the server
        self.assertEqual(counts["tcp_connections"], 5)        # one connection per VU, kept
        self.assertEqual(doc["tcp"]["messages_sent"], 500)
        self.assertEqual(doc["tcp"]["messages_received"], 500)
        self.assertEqual(doc["tcp"]["bytes_sent"], counts["tcp_bytes"])
        self.assertEqual(doc["metadata"]["load"].get("protocol", "tcp"), "tcp")

    def test_disable_keepalive_makes_a_connection_per_exchange(self):
        s = EchoServer(udp=False)
        rc, doc, err = run_cli(f"tcp://127.0.0.1:{s.tcp}", "-b", r"x\n", "--expect-bytes", "2",
                               "-n", "60", "-c", "3", "--disable-keepalive")
        counts = s.stop()
        self.assertEqual(rc, 0, err)
        self.assertEqual(doc["summary"]["successful"], 60)
        self.assertEqual(counts["tcp_connections"], 60)
        self.assertEqual(doc["connections"]["opened"], 60)

    def test_hex_payload_and_byte_count(self):
        s = EchoServer(udp=False)
        rc, doc, err = run_cli(f"tcp://127.0.0.1:{s.tcp}", "--payload-hex", "00 01 02 0a 41",
                               "--expect-bytes", "5", "-n", "100", "-c", "2")
        counts = s.stop()
        self.assertEqual(rc, 0, err)
        self.assertEqual(doc["summary"]["successful"], 100)
        self.assertEqual(counts["tcp_bytes"], 500)
        self.assertEqual(counts["tcp_lines"], 100)  # the 0x0a in each payload

    def test_a_silent_server_times_out(self):
        s = EchoServer("--tcp-silent", udp=False)
        rc, doc, err = run_cli(f"tcp://127.0.0.1:{s.tcp}", "-b", r"hi\n", "--expect-until",
                               r"\n", "-n", "4", "-c", "2", "--timeout", "300ms")
        counts = s.stop()
        self.assertEqual(rc, 1, err)  # every exchange failed
        self.assertEqual(doc["errors"].get("timeout"), 4)
        self.assertEqual(counts["tcp_lines"], 4)
        self.assertLessEqual(doc["metadata"]["duration_secs"] if "duration_secs" in doc["metadata"]
                             else 0, 10)

    def test_server_closing_is_counted_and_reconnected(self):
        s = EchoServer("--tcp-close-after", "5", udp=False)
        rc, doc, err = run_cli(f"tcp://127.0.0.1:{s.tcp}", "-b", r"a\n", "--expect-until", r"\n",
                               "-n", "50", "-c", "1")
        counts = s.stop()
        self.assertEqual(rc, 0, err)
        self.assertEqual(doc["summary"]["successful"], 50)
        self.assertEqual(counts["tcp_connections"], 10)
        self.assertEqual(doc["connections"]["opened"], 10)

    def test_socat_echo(self):
        if shutil.which("socat") is None:
            self.skipTest("socat is not installed: run scripts/install-deps")
        port = free_port()
        p = subprocess.Popen(["socat", f"TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork",
                              "EXEC:cat"])
        try:
            wait_for_port(port)
            rc, doc, err = run_cli(f"tcp://127.0.0.1:{port}", "-b", r"hello\n", "--expect-until",
                                   r"\n", "-n", "300", "-c", "3")
        finally:
            p.terminate()
            p.wait()
        self.assertEqual(rc, 0, err)
        self.assertEqual(doc["summary"]["successful"], 300)
        self.assertEqual(doc["tcp"]["bytes_received"], 300 * 6)

    def test_tls_over_tcp(self):
        if shutil.which("socat") is None:
            self.skipTest("socat is not installed: run scripts/install-deps")
        d = tempfile.mkdtemp(prefix="spiker-tls-")
        cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert,
                        "-days", "1", "-subj", "/CN=localhost", "-addext",
                        "subjectAltName=DNS:localhost,IP:127.0.0.1"], check=True,
                       capture_output=True)
        port = free_port()
        p = subprocess.Popen(["socat", f"OPENSSL-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork,"
                              f"cert={cert},key={key},verify=0", "EXEC:cat"])
        try:
            wait_for_port(port)
            rc, doc, err = run_cli(f"tls://127.0.0.1:{port}", "-b", r"secure\n",
                                   "--expect-until", r"\n", "-n", "40", "-c", "2", "--cacert",
                                   cert)
            rc2, doc2, _ = run_cli(f"tls://127.0.0.1:{port}", "-b", r"x\n", "-n", "5", "-c", "1")
        finally:
            p.terminate()
            p.wait()
            shutil.rmtree(d, ignore_errors=True)
        self.assertEqual(rc, 0, err)
        self.assertEqual(doc["summary"]["successful"], 40)
        self.assertEqual(doc["connections"]["tls_handshake_us"]["count"], 2)
        self.assertEqual(doc["tcp"]["messages_received"], 40)
        self.assertEqual(rc2, 1)  # not trusted without --cacert
        self.assertEqual(doc2["errors"].get("tls"), 5)


class Udp(unittest.TestCase):
    def test_lost_datagrams_are_counted(self):
        s = EchoServer("--udp-drop", "10", tcp=False)
        rc, doc, err = run_cli(f"udp://127.0.0.1:{s.udp}", "-b", "ping ${REQUEST_ID}", "-n",
                               "100", "-c", "1", "--timeout", "200ms")
        counts = s.stop()
        self.assertEqual(rc, 0, err)
        self.assertEqual(counts["udp_datagrams"], 100)
        self.assertEqual(doc["udp"]["datagrams_sent"], 100)
        self.assertEqual(doc["udp"]["lost"], 10)
        self.assertEqual(doc["udp"]["datagrams_received"], 90)
        self.assertEqual(doc["errors"].get("timeout"), 10)
        self.assertEqual(doc["summary"]["successful"], 90)
        self.assertAlmostEqual(doc["udp"]["loss_rate"], 0.1)

    def test_socat_udp_echo(self):
        if shutil.which("socat") is None:
            self.skipTest("socat is not installed: run scripts/install-deps")
        port = free_port()
        p = subprocess.Popen(["socat", f"UDP-RECVFROM:{port},bind=127.0.0.1,fork", "EXEC:cat"])
        try:
            time.sleep(0.3)
            rc, doc, err = run_cli(f"udp://127.0.0.1:{port}", "--payload-hex", "de ad be ef",
                                   "-n", "50", "-c", "1", "--timeout", "2s")
        finally:
            p.terminate()
            p.wait()
        self.assertEqual(rc, 0, err)
        self.assertEqual(doc["udp"]["datagrams_received"] + doc["udp"]["lost"], 50)
        self.assertGreaterEqual(doc["udp"]["datagrams_received"], 45)
        self.assertEqual(doc["udp"]["bytes_sent"], 200)

    def test_nothing_listening_is_refused(self):
        port = free_port()
        rc, doc, err = run_cli(f"udp://127.0.0.1:{port}", "-b", "x", "-n", "20", "-c", "1")
        self.assertEqual(rc, 1, err)
        self.assertEqual(doc["errors"].get("refused"), 20)


class Journeys(unittest.TestCase):
    def test_tcp_and_udp_steps_with_match_checks_and_extraction(self):
        s = EchoServer()
        d = tempfile.mkdtemp(prefix="spiker-raw-journey-")
        path = os.path.join(d, "raw.toml")
        with open(path, "w") as f:
            f.write(f"""
[load]
vus = 2
iterations = 30

[[scenarios]]
name = "raw"

[[scenarios.steps]]
name = "noise"
action = "tcp.send"
url = "tcp://127.0.0.1:{s.tcp}"
body = "NOISE\\n"

[[scenarios.steps]]
name = "hello"
action = "tcp.send"
body = "HELLO ${{VU_ID}}\\n"

[[scenarios.steps]]
name = "reply"
action = "tcp.receive"
until = "\\n"
match = 'body contains "HELLO"'
checks = ['body matches "^HELLO [0-9]+\\n$"']
extract = {{ who = "regex:HELLO ([0-9]+):1" }}

[[scenarios.steps]]
name = "ping"
action = "udp.send"
url = "udp://127.0.0.1:{s.udp}"
body = "who=${{who}}"

[[scenarios.steps]]
name = "pong"
action = "udp.receive"
checks = ['body matches "^who=[0-9]+$"']
""")
        rc, doc, err = run_cli("-f", path)
        counts = s.stop()
        shutil.rmtree(d, ignore_errors=True)
        self.assertEqual(rc, 0, err)
        steps = {x["name"]: x for x in doc["journeys"]["steps"]}
        for name in ("raw/noise", "raw/hello", "raw/reply", "raw/ping", "raw/pong"):
            step = steps.get(name) or steps.get(name.split("/")[1])
            self.assertEqual(step["requests"], 30, name)
            self.assertEqual(step.get("failed", 0), 0, name)
        self.assertEqual(counts["tcp_lines"], 60)        # NOISE and HELLO, 30 iterations
        self.assertEqual(counts["udp_datagrams"], 30)
        self.assertEqual(doc["checks"]["overall_pass_rate"], 1.0)
        self.assertEqual(doc["tcp"]["messages_received"], 60)  # NOISE skipped by match, HELLO

    def test_step_mistakes_are_reported(self):
        d = tempfile.mkdtemp(prefix="spiker-raw-bad-")
        cases = {
            'action = "tcp.receive"\nurl = "tcp://127.0.0.1:9"\nbody = "x"': "sends nothing",
            'action = "tcp.send"\nbody = "x"': "needs url",
            'action = "udp.send"\nurl = "tcp://127.0.0.1:9"\nbody = "x"': "needs a udp:// url",
            'action = "tcp.receive"\nurl = "tcp://127.0.0.1:9"\nexpect_bytes = 0': "whole number",
            'action = "tcp.receive"\nurl = "tcp://127.0.0.1:9"\nuntil = "x"\nexpect_bytes = 2':
                "not both",
            'action = "tcp.send"\nurl = "tcp://127.0.0.1:9"\nbody = "x"\nuntil = "y"': "until",
            'url = "tcp://127.0.0.1:9"': "own actions",
        }
        for body, want in cases.items():
            path = os.path.join(d, "bad.toml")
            with open(path, "w") as f:
                f.write(f"[[scenarios]]\nname = \"s\"\n[[scenarios.steps]]\nname = \"a\"\n{body}\n")
            p = subprocess.run([LOADSPIKER, "validate", path], capture_output=True, text=True)
            self.assertEqual(p.returncode, 1, (body, p.stderr))
            self.assertIn(want, p.stderr, body)
            self.assertIn("bad.toml:", p.stderr, body)
        shutil.rmtree(d, ignore_errors=True)


class CommandLine(unittest.TestCase):
    def test_flag_mistakes(self):
        cases = [
            (["udp://127.0.0.1:9", "-b", "x", "--expect-until", "z"], "does not apply"),
            (["http://127.0.0.1:9/", "--expect-bytes", "3"], "applies to a URL of"),
            (["tcp://127.0.0.1:9", "-b", "x", "-m", "POST"], "--method does not apply"),
            (["tcp://127.0.0.1:9"], "nothing to send"),
            (["tcp://127.0.0.1:9", "-b", "x", "--payload-hex", "41"], "not both"),
            (["tcp://127.0.0.1:9", "--payload-hex", "4"], "odd number"),
            (["tcp://127.0.0.1:9", "-b", r"a\q"], "unknown escape"),
            (["ftp://127.0.0.1:21/"], "unsupported scheme"),
            (["tcp://127.0.0.1"], "needs a port"),
        ]
        for args, want in cases:
            rc, _, out = run_cli(*args, "-n", "1", check_json=False)
            self.assertEqual(rc, 2, (args, out))
            self.assertIn(want, out, args)

    def test_dry_run_describes_the_exchange(self):
        rc, _, out = run_cli("tcp://127.0.0.1:9", "-b", r"PING\n", "--expect-until", r"\n",
                             "--dry-run", check_json=False)
        self.assertEqual(rc, 0, out)
        self.assertIn("send 5 bytes, read up to the delimiter", out)


class EmbeddedEchoes(unittest.TestCase):
    def test_serve_tcp_and_udp_echo(self):
        tcp, udp = free_port(), free_port()
        p = subprocess.Popen([LOADSPIKER, "serve", "--port", "0", "--tcp-echo", str(tcp),
                              "--udp-echo", str(udp)], stdout=subprocess.PIPE, text=True)
        try:
            lines = [p.stdout.readline() for _ in range(4)]
            p.stdout.close()
            self.assertIn(f"tcp echo on tcp://127.0.0.1:{tcp}", "".join(lines))
            self.assertIn(f"udp echo on udp://127.0.0.1:{udp}", "".join(lines))
            rc, doc, err = run_cli(f"tcp://127.0.0.1:{tcp}", "-b", "0123456789",
                                   "--expect-bytes", "10", "-d", "1s", "-c", "4")
            self.assertEqual(rc, 0, err)
            self.assertEqual(doc["summary"]["failed"], 0)
            self.assertGreater(doc["summary"]["successful"], 100)
            self.assertEqual(doc["tcp"]["bytes_received"], 10 * doc["summary"]["successful"])
            rc, doc, err = run_cli(f"udp://127.0.0.1:{udp}", "-b", "x" * 1000, "-n", "200",
                                   "-c", "4")
            self.assertEqual(rc, 0, err)
            self.assertEqual(doc["udp"]["datagrams_received"], 200)
            self.assertEqual(doc["udp"]["bytes_received"], 200_000)
        finally:
            p.send_signal(signal.SIGTERM)
            p.wait(timeout=10)


if __name__ == "__main__":
    unittest.main()
