"""WebSocket load against a server that is not ours (python3-websockets), a raw server that
breaks the protocol, and the embedded target (ws:// and wss://)."""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

from helpers import Target, free_port, run_cli

HERE = os.path.dirname(os.path.abspath(__file__))


def websockets_python():
    for exe in (sys.executable, "/usr/bin/python3"):
        if exe and os.path.exists(exe) and subprocess.run(
                [exe, "-c", "import websockets"], capture_output=True).returncode == 0:
            return exe
    raise unittest.SkipTest("python3-websockets is not installed: run scripts/install-deps")


class EchoServer:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="spiker-ws-")
        self.stats_file = os.path.join(self.dir, "stats.json")
        self.port = free_port()
        self.proc = subprocess.Popen(
            [websockets_python(), os.path.join(HERE, "ws_echo_server.py"), str(self.port),
             self.stats_file], stdout=subprocess.PIPE, text=True)
        if self.proc.stdout.readline().strip() != "ready":
            self.proc.kill()
            raise RuntimeError("the websockets echo server did not start")

    def url(self, path):
        return f"ws://127.0.0.1:{self.port}{path}"

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.proc.stdout.close()
        with open(self.stats_file) as f:
            stats = json.load(f)
        shutil.rmtree(self.dir, ignore_errors=True)
        return stats


class AgainstPythonWebsockets(unittest.TestCase):
    def test_echo_counts_match_the_server(self):
        server = EchoServer()
        try:
            rc, doc, err = run_cli(server.url("/echo"), "-c", "4", "-n", "400",
                                   "--ws-message-interval", "0", "-t", "1")
        finally:
            seen = server.stop()
        self.assertEqual(rc, 0, err)
        ws = doc["websocket"]
        self.assertEqual(ws["mode"], "echo")
        self.assertEqual(ws["messages_sent"], 400)
        self.assertEqual(ws["messages_received"], 400)
        self.assertEqual(seen["messages"], 400)
        self.assertEqual(seen["binary"], 0)  # text frames by default
        self.assertEqual(seen["connections"], 4)
        self.assertEqual(ws["connections_established"], 4)
        self.assertEqual(ws["latency_us"]["count"], 400)
        self.assertEqual(doc["summary"]["total_requests"], 400)
        self.assertEqual(ws["bytes_sent"], 400 * len("hello from loadspiker"))

    def test_disable_keepalive_makes_a_connection_per_message(self):
        server = EchoServer()
        try:
            rc, doc, err = run_cli(server.url("/echo"), "-c", "2", "-n", "30",
                                   "--ws-message-interval", "0", "-t", "1",
                                   "--disable-keepalive")
        finally:
            seen = server.stop()
        self.assertEqual(rc, 0, err)
        ws = doc["websocket"]
        self.assertEqual(ws["messages_received"], 30)
        self.assertEqual(seen["messages"], 30)
        self.assertEqual(seen["connections"], 30)
        self.assertEqual(ws["connections_established"], 30)
        self.assertEqual(doc["connections"]["opened"], 30)

    def test_binary_frames(self):
        server = EchoServer()
        try:
            rc, doc, err = run_cli(server.url("/echo"), "--ws-binary", "-c", "2", "-n", "50",
                                   "--ws-message-interval", "0", "-t", "1")
        finally:
            seen = server.stop()
        self.assertEqual(rc, 0, err)
        self.assertEqual((seen["messages"], seen["binary"]), (50, 50))
        self.assertEqual(doc["websocket"]["messages_received"], 50)

    def test_round_trip_latency_matches_a_known_delay(self):
        server = EchoServer()
        try:
            rc, doc, err = run_cli(server.url("/slow"), "-c", "2", "-n", "20",
                                   "--ws-message-interval", "0", "-t", "1")
        finally:
            server.stop()
        self.assertEqual(rc, 0, err)
        lat = doc["websocket"]["latency_us"]
        self.assertGreaterEqual(lat["p50"], 50_000)
        self.assertLess(lat["p50"], 150_000)

    def test_fire_and_forget_sends_at_the_interval_and_counts_replies(self):
        server = EchoServer()
        try:
            rc, doc, err = run_cli(server.url("/echo"), "-c", "3", "-d", "1s",
                                   "--ws-fire-and-forget", "--ws-message-interval", "50ms",
                                   "-t", "1")
        finally:
            seen = server.stop()
        self.assertEqual(rc, 0, err)
        ws = doc["websocket"]
        self.assertEqual(ws["mode"], "fire_and_forget")
        # 3 connections, one message each 50 ms for a second: about 60.
        self.assertGreaterEqual(ws["messages_sent"], 45)
        self.assertLessEqual(ws["messages_sent"], 66)
        self.assertEqual(seen["messages"], ws["messages_sent"])
        self.assertLessEqual(ws["messages_received"], ws["messages_sent"])
        self.assertGreaterEqual(ws["messages_received"], ws["messages_sent"] - 3)

    def test_server_close_codes_end_connections_and_they_reconnect(self):
        server = EchoServer()
        try:
            rc, doc, err = run_cli(server.url("/close4000"), "-c", "1", "-n", "9",
                                   "--ws-message-interval", "0", "-t", "1")
        finally:
            seen = server.stop()
        ws = doc["websocket"]
        # Two echoes per connection, then the server's close (4000): the third message of each
        # connection is lost to the close, and the next iteration connects again.
        self.assertEqual(ws["messages_sent"], 9)
        self.assertEqual(seen["messages"], 6)  # the third of each came after the server's close
        self.assertEqual(ws["connections_established"], 3)
        self.assertEqual(ws["disconnects"], 3)
        self.assertEqual(doc["summary"]["successful"], 6)
        self.assertEqual(doc["errors"], {"reset": 3})
        self.assertEqual(ws["errors"], {"closed": 3})
        self.assertIn(rc, (0, 1), err)


class GarbageServer:
    """Completes the WebSocket handshake, then answers every message with `reply` bytes."""

    def __init__(self, reply, handshake=True):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.reply = reply
        self.handshake = handshake
        self.accepted = 0
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        import base64
        import hashlib
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            threading.Thread(target=self.talk, args=(conn, base64, hashlib), daemon=True).start()

    def talk(self, conn, base64, hashlib):
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                data += chunk
            key = [l.split(b":", 1)[1].strip() for l in data.split(b"\r\n")
                   if l.lower().startswith(b"sec-websocket-key")][0]
            accept = base64.b64encode(hashlib.sha1(
                key + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest())
            if not self.handshake:
                accept = b"wrong"
            conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                         b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n")
            try:
                while conn.recv(4096):
                    conn.sendall(self.reply)
            except OSError:
                pass

    def stop(self):
        self.sock.close()


class BrokenServers(unittest.TestCase):
    def run_against(self, server, *extra):
        try:
            return run_cli(f"ws://127.0.0.1:{server.port}/", "-c", "2", "-n", "10",
                           "--ws-message-interval", "0", "-t", "1", *extra)
        finally:
            server.stop()

    def test_invalid_frames_are_counted_not_crashed_on(self):
        for garbage in (b"\xff\xff\xff\xff",            # reserved bits, unknown opcode
                        b"\x81\x85abcdhello",           # masked frame from a server
                        b"\x89\x7e\x00\x80" + b"x" * 128,  # a ping over 125 bytes
                        b"\x81\x02\xc3\x28"):           # text that is not UTF-8
            rc, doc, err = self.run_against(GarbageServer(garbage))
            self.assertEqual(rc, 1, err)  # every message failed
            ws = doc["websocket"]
            self.assertEqual(ws["errors"]["protocol"], 10, garbage)
            self.assertEqual(doc["errors"], {"protocol": 10})  # the protocol's, not HTTP's
            self.assertEqual(ws["messages_received"], 0)

    def test_a_wrong_accept_key_fails_the_handshake(self):
        rc, doc, err = self.run_against(GarbageServer(b"", handshake=False))
        self.assertEqual(rc, 1, err)
        self.assertEqual(doc["websocket"]["errors"], {"handshake": 10})
        self.assertEqual(doc["websocket"]["connections_established"], 0)

    def test_an_http_endpoint_is_not_a_websocket(self):
        target = Target()
        try:
            rc, doc, err = run_cli(f"ws://127.0.0.1:{target.port}/json", "-c", "2", "-n", "4",
                                   "--ws-message-interval", "0", "-t", "1")
        finally:
            target.stop()
        self.assertEqual(rc, 1, err)
        self.assertEqual(doc["websocket"]["errors"], {"handshake": 4})


class EmbeddedTarget(unittest.TestCase):
    def test_ws_and_wss_echo(self):
        target = Target()
        d = tempfile.mkdtemp()
        tls = Target(tls_cert_out=os.path.join(d, "target.pem"))
        try:
            rc, doc, err = run_cli(f"ws://127.0.0.1:{target.port}/ws", "-c", "8", "-n", "2000",
                                   "--ws-message-interval", "0", "-b", '{"n": ${REQUEST_ID}}')
            self.assertEqual(rc, 0, err)
            ws = doc["websocket"]
            self.assertEqual((ws["messages_sent"], ws["messages_received"]), (2000, 2000))
            self.assertEqual(ws["latency_us"]["count"], 2000)
            rc, doc, err = run_cli(f"wss://127.0.0.1:{tls.port}/ws", "--insecure", "-c", "4",
                                   "-n", "400", "--ws-message-interval", "0")
            self.assertEqual(rc, 0, err)
            self.assertEqual(doc["websocket"]["messages_received"], 400)
            self.assertEqual(doc["connections"]["tls_handshake_us"]["count"], 4)
        finally:
            target.stop()
            tls.stop()
            shutil.rmtree(d)

    def test_websocket_section_in_a_config_file(self):
        target = Target()
        d = tempfile.mkdtemp()
        path = os.path.join(d, "ws.toml")
        with open(path, "w") as f:
            f.write(f"""
[target]
url = "ws://127.0.0.1:{target.port}/ws"
body = "tick"
[load]
concurrency = 2
duration = "1s"
[websocket]
message_interval = "100ms"
mode = "fire_and_forget"
""")
        bad = os.path.join(d, "bad.toml")
        with open(bad, "w") as f:
            f.write(f'[target]\nurl = "ws://127.0.0.1:{target.port}/ws"\n'
                    '[websocket]\nmode = "shout"\n')
        try:
            rc, doc, err = run_cli("-f", path, "-t", "1")
            rc_bad, _, err_bad = run_cli("-f", bad, check_json=False)
        finally:
            target.stop()
            shutil.rmtree(d)
        self.assertEqual(rc, 0, err)
        ws = doc["websocket"]
        self.assertEqual(ws["mode"], "fire_and_forget")
        self.assertEqual(ws["message_interval_ms"], 100)
        self.assertGreaterEqual(ws["messages_sent"], 16)  # 2 connections, 10/s, for 1 s
        self.assertLessEqual(ws["messages_sent"], 22)
        self.assertEqual(ws["bytes_sent"], 4 * ws["messages_sent"])
        self.assertEqual(rc_bad, 1)  # a bad config, as Kaioken exits
        self.assertIn("[websocket] mode", err_bad)
        self.assertIn("fire_and_forget", err_bad)


JOURNEY = """
[defaults]
base_url = "http://127.0.0.1:{port}"
[load]
vus = 2
iterations = 10
[[scenarios]]
name = "chat"
[[scenarios.steps]]
name = "create"
method = "POST"
url = "/items"
json = {{ name = "widget" }}
extract = {{ id = "json:$.id" }}
[[scenarios.steps]]
name = "connect"
action = "ws.connect"
url = "/ws"
checks = ["status == 101"]
[[scenarios.steps]]
name = "send"
action = "ws.send"
json = {{ item = "${{id}}", kind = "hello" }}
[[scenarios.steps]]
name = "noise"
action = "ws.send"
body = "noise"
[[scenarios.steps]]
name = "receive"
action = "ws.receive"
match = "{match}"
extract = {{ echoed = "json:$.item" }}
timeout = "300ms"
[[scenarios.steps]]
name = "read"
url = "/items/${{echoed}}"
checks = ["status == 200"]
[[scenarios.steps]]
name = "close"
action = "ws.close"
"""


class JourneySteps(unittest.TestCase):
    def run_journey(self, match):
        target = Target()
        d = tempfile.mkdtemp()
        path = os.path.join(d, "chat.toml")
        with open(path, "w") as f:
            f.write(JOURNEY.format(port=target.port, match=match))
        try:
            return run_cli("-f", path, "-t", "1")
        finally:
            target.stop()
            shutil.rmtree(d)

    def step(self, doc, name):
        return [s for s in doc["journeys"]["steps"] if s["name"] == "chat/" + name][0]

    def test_connect_send_receive_close_inside_a_journey(self):
        rc, doc, err = self.run_journey("body contains 'hello'")
        self.assertEqual(rc, 0, err)
        self.assertEqual(doc["errors"], {})
        self.assertEqual(doc["journeys"]["iterations"], 10)
        self.assertEqual(doc["journeys"]["extract_failures"], 0)
        for name in ("create", "connect", "send", "noise", "receive", "read", "close"):
            self.assertEqual(self.step(doc, name)["requests"], 10, name)
            self.assertEqual(self.step(doc, name)["failed"], 0, name)
        # The id made over HTTP went out in a message, came back, was extracted from the echo
        # (the "noise" echo skipped by the matcher) and read over HTTP again.
        self.assertEqual(doc["checks"]["results"]["chat/read: status == 200"]["passed"], 10)
        ws = doc["websocket"]
        self.assertEqual((ws["messages_sent"], ws["messages_received"]), (20, 20))
        self.assertEqual(ws["connections_established"], 10)

    def test_receive_that_never_matches_times_out_and_skips_its_dependants(self):
        start = time.monotonic()
        rc, doc, err = self.run_journey("body contains 'never sent'")
        took = time.monotonic() - start
        self.assertEqual(doc["errors"], {"timeout": 10})
        self.assertEqual(self.step(doc, "receive")["failed"], 10)
        self.assertEqual(self.step(doc, "read")["requests"], 0)
        self.assertEqual(doc["journeys"]["iterations_failed"], 10)
        self.assertGreaterEqual(took, 10 * 0.3 / 2)  # each VU waited out 5 receive timeouts


if __name__ == "__main__":
    unittest.main()
