"""Hostile peers: servers that flood, never read, or loop a client through GOAWAYs. Whatever the
peer does, a run ends within its duration plus its timeouts, a signal stops it, and memory stays
bounded by configuration (issue 12)."""
import base64
import hashlib
import os
import resource
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
import unittest

from helpers import LOADSPIKER, free_port, run_cli


def peak_child_rss_mb():
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


class HostileServer:
    """A TCP server on loopback; `behave(conn)` runs per connection in a thread."""

    def __init__(self, behave):
        self.port = free_port()
        self.behave = behave
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", self.port))
        self.sock.listen(64)
        self.connections = 0
        self.stopping = False
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self.run_one, args=(conn,), daemon=True).start()

    def run_one(self, conn):
        try:
            with conn:
                self.behave(self, conn)
        except OSError:
            pass

    def stop(self):
        self.stopping = True
        self.sock.close()


def ws_handshake(conn):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            raise OSError("closed")
        data += chunk
    key = [l.split(b":", 1)[1].strip() for l in data.split(b"\r\n")
           if l.lower().startswith(b"sec-websocket-key")][0]
    accept = base64.b64encode(hashlib.sha1(key + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest())
    conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                 b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n")


def ws_frame(opcode, payload):
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 127, n)
    return head + payload


def ping_flood(server, conn):
    """Pings as fast as the socket takes them; never reads what the client sends."""
    ws_handshake(conn)
    frames = ws_frame(0x9, b"p" * 100) * 500
    while not server.stopping:
        conn.sendall(frames)


def interrupted(test, args, sig=signal.SIGINT, after=1.5):
    """Runs `loadspiker run ARGS --json`, sends `sig` after `after` seconds; returns (seconds
    from the signal to the end, exit code, stdout). Fails the test if it does not end."""
    p = subprocess.Popen([LOADSPIKER, "run", *args, "--json"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    time.sleep(after)
    p.send_signal(sig)
    sent = time.monotonic()
    try:
        out, _ = p.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        test.fail(f"{sig.name} did not stop {args}")
    return time.monotonic() - sent, p.returncode, out


class WebSocketFloods(unittest.TestCase):
    def test_a_ping_flood_that_never_reads_ends_on_time_with_bounded_memory(self):
        server = HostileServer(ping_flood)
        try:
            started = time.monotonic()
            rc, doc, err = run_cli(f"ws://127.0.0.1:{server.port}/", "-c", "2", "-d", "2s",
                                   "--timeout", "1s", "--ws-message-interval", "0", "-t", "1",
                                   timeout=60)
            took = time.monotonic() - started
        finally:
            server.stop()
        self.assertLess(took, 8, err)  # 2 s + the 1 s timeout, plus start-up and the report
        self.assertEqual(rc, 1, err)   # no message was echoed: every one failed
        self.assertGreater(doc["errors"].get("timeout", 0), 0, doc["errors"])
        self.assertLess(peak_child_rss_mb(), 150)

    def test_a_signal_stops_a_run_held_by_a_ping_flood_within_a_second(self):
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            server = HostileServer(ping_flood)
            try:
                took, _, out = interrupted(
                    self, [f"ws://127.0.0.1:{server.port}/", "-c", "2", "-d", "60s", "--timeout",
                           "30s", "--ws-message-interval", "0", "-t", "1"], sig)
                # Requests in flight get a second after the signal; then the run ends, with
                # its partial results.
                self.assertLess(took, 3, sig.name)
                self.assertIn('"websocket"', out, sig.name)
                self.assertIn('"interrupted": true', out, sig.name)
            finally:
                server.stop()

    def test_big_unread_messages_stay_within_the_inbox_bound(self):
        def flood_big(server, conn):
            ws_handshake(conn)
            big = ws_frame(0x2, b"x" * (3 << 20))  # 3 MiB each, never asked for
            for _ in range(60):
                if server.stopping:
                    return
                conn.sendall(big)
            while not server.stopping:
                time.sleep(0.1)

        server = HostileServer(flood_big)
        d = tempfile.mkdtemp()
        path = os.path.join(d, "hold.toml")
        with open(path, "w") as f:
            f.write(f"""
[defaults]
base_url = "ws://127.0.0.1:{server.port}"
[load]
vus = 1
iterations = 1
[[scenarios]]
name = "hold"
[[scenarios.steps]]
name = "connect"
action = "ws.connect"
url = "/"
think_time = "4s"
[[scenarios.steps]]
name = "close"
action = "ws.close"
""")
        try:
            rc, doc, err = run_cli("-f", path, "-t", "1", timeout=60)
        finally:
            server.stop()
            shutil.rmtree(d)
        self.assertEqual(rc, 0, err)
        self.assertGreater(doc["websocket"]["messages_received"], 5)  # the flood did arrive
        # 180 MiB came in; the inbox keeps at most 4 MiB of it.
        self.assertLess(peak_child_rss_mb(), 150)


def endless(head):
    """Sends `head`, then bytes without end, never reading."""
    def behave(server, conn):
        conn.sendall(head)
        chunk = b"x" * 65536
        while not server.stopping:
            conn.sendall(chunk)
    return behave


class Floods(unittest.TestCase):
    """A server that sends without end: each protocol's run ends on time, a signal stops it
    within a second, and memory stays bounded."""

    CASES = {
        "http1-endless-body": ("http://127.0.0.1:{port}/",
                               endless(b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n"),
                               []),
        "tcp-no-delimiter": ("tcp://127.0.0.1:{port}", endless(b""),
                             ["-b", "ping\n", "--expect-until", "\n"]),
    }

    def test_each_protocol_ends_on_time_with_bounded_memory(self):
        for name, (url, behave, extra) in self.CASES.items():
            server = HostileServer(behave)
            try:
                started = time.monotonic()
                rc, doc, err = run_cli(url.format(port=server.port), "-c", "2", "-d", "2s",
                                       "--timeout", "1s", "-t", "1", *extra, timeout=60)
                took = time.monotonic() - started
            finally:
                server.stop()
            self.assertLess(took, 8, f"{name}: {err}")
            self.assertEqual(doc["summary"]["successful"], 0, name)
            self.assertGreater(sum(doc["errors"].values()), 0, name)
            self.assertLess(peak_child_rss_mb(), 150, name)

    def test_a_signal_stops_each_flood_within_a_second(self):
        for name, (url, behave, extra) in self.CASES.items():
            server = HostileServer(behave)
            try:
                took, rc, out = interrupted(
                    self, [url.format(port=server.port), "-c", "2", "-d", "60s", "--timeout", "30s",
                           "-t", "1", *extra])
                self.assertLess(took, 3, name)
                self.assertEqual(rc, 130, name)
                self.assertIn('"interrupted": true', out, name)
            finally:
                server.stop()


class UdpFlood(unittest.TestCase):
    def test_a_datagram_flood_neither_holds_the_run_nor_its_memory(self):
        """Every datagram we send is answered by an endless stream of datagrams."""
        port = free_port()
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", port))
        stop = threading.Event()

        def flood():
            sock.settimeout(0.2)
            peer = None
            while not stop.is_set():
                try:
                    _, peer = sock.recvfrom(65536)
                except socket.timeout:
                    pass
                except OSError:
                    return
                for _ in range(200):
                    if peer is None or stop.is_set():
                        break
                    try:
                        sock.sendto(b"x" * 1400, peer)
                    except OSError:
                        break

        threading.Thread(target=flood, daemon=True).start()
        try:
            started = time.monotonic()
            rc, doc, err = run_cli(f"udp://127.0.0.1:{port}", "-b", "ping", "-c", "2", "-d",
                                   "2s", "--timeout", "1s", "-t", "1", timeout=60)
            took = time.monotonic() - started
            stopped, code, _ = interrupted(
                self, [f"udp://127.0.0.1:{port}", "-b", "ping", "-c", "2", "-d", "60s", "-t", "1"])
        finally:
            stop.set()
            sock.close()
        self.assertLess(took, 8, err)
        self.assertGreater(doc["udp"]["datagrams_received"], 0)
        self.assertLess(stopped, 3)
        self.assertEqual(code, 130)
        self.assertLess(peak_child_rss_mb(), 150)


class ConnectStorms(unittest.TestCase):
    def test_connects_a_server_never_accepts_time_out_on_time_and_are_counted(self):
        # A listener that never accepts: its backlog fills, later SYNs go unanswered.
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        port = free_port()
        sock.bind(("127.0.0.1", port))
        sock.listen(1)
        try:
            started = time.monotonic()
            rc, doc, err = run_cli(f"http://127.0.0.1:{port}/", "-c", "200", "-d", "2s",
                                   "--connect-timeout", "500ms", "--timeout", "1s", "-t", "1",
                                   timeout=60)
            took = time.monotonic() - started
        finally:
            sock.close()
        self.assertLess(took, 8, err)
        self.assertEqual(rc, 1, err)
        self.assertGreater(doc["errors"].get("connect", 0), 200, doc["errors"])
        # No connection counts as made after its --connect-timeout, however busy the loop.
        self.assertLessEqual(doc["connections"]["connect_time_us"].get("max", 0), 500_000)


H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def h2_frame(kind, flags, stream, payload=b""):
    return struct.pack("!I", len(payload))[1:] + struct.pack("!BBI", kind, flags, stream) + payload


def h2_greet(conn):
    """Reads the client's preface and answers with our SETTINGS (and an ACK of theirs)."""
    data = b""
    while len(data) < len(H2_PREFACE):
        chunk = conn.recv(4096)
        if not chunk:
            raise OSError("closed")
        data += chunk
    conn.sendall(h2_frame(4, 0, 0) + h2_frame(4, 1, 0))


def hold_open(server, conn):
    """Reads and discards what comes until the client closes: TCP stays open."""
    conn.settimeout(0.2)
    while not server.stopping:
        try:
            if not conn.recv(65536):
                return
        except socket.timeout:
            continue


class Http2Hostile(unittest.TestCase):
    def run_h2c(self, server):
        started = time.monotonic()
        try:
            rc, doc, err = run_cli(f"http://127.0.0.1:{server.port}/", "--http2", "-c", "2",
                                   "-d", "2s", "--timeout", "1s", "-t", "1", timeout=60)
        finally:
            server.stop()
        return rc, doc, err, time.monotonic() - started

    def test_goaway_on_every_connection_ends_on_time_and_is_counted(self):
        def refuse(server, conn):
            h2_greet(conn)
            conn.sendall(h2_frame(7, 0, 0, struct.pack("!II", 0, 0)))  # GOAWAY, last stream 0
            hold_open(server, conn)

        rc, doc, err, took = self.run_h2c(HostileServer(refuse))
        self.assertLess(took, 8, err)  # 2 s + the 1 s timeout, plus start-up and the report
        self.assertEqual(rc, 1, err)
        self.assertEqual(doc["summary"]["successful"], 0)
        self.assertGreater(doc["http2"]["refused"], 0, doc["http2"])
        self.assertGreater(doc["errors"].get("reset", 0), 0, doc["errors"])
        self.assertNotIn("timeout", doc["errors"])  # refused, not left waiting

    def test_a_protocol_error_with_tcp_kept_open_is_counted_and_reconnected(self):
        def garbage(server, conn):
            h2_greet(conn)
            conn.sendall(h2_frame(0, 0, 0, b"data on stream 0"))  # a connection error
            hold_open(server, conn)

        server = HostileServer(garbage)
        rc, doc, err, took = self.run_h2c(server)
        self.assertLess(took, 8, err)
        self.assertEqual(rc, 1, err)
        self.assertNotIn("timeout", doc["errors"])  # not left idle until the timeout
        self.assertGreater(doc["errors"].get("http", 0), 2, doc["errors"])
        self.assertGreater(doc["http2"]["connection_errors"], 2, doc["http2"])
        self.assertGreater(server.connections, 2)  # it reconnected


if __name__ == "__main__":
    unittest.main()
