"""Injected faults land under the right error kind, one per request."""
import socket
import struct
import threading
import time
import unittest

from helpers import free_port, run_cli


class FaultServer:
    """Accepts connections and answers each with `behaviour(conn)` on its own thread."""

    def __init__(self, behaviour, backlog=128):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(backlog)
        self.port = self.sock.getsockname()[1]
        self.behaviour = behaviour
        self.accepted = 0
        self.open = []
        self.running = True
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        self.sock.settimeout(0.1)
        while self.running:
            try:
                conn, _ = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            self.accepted += 1
            self.open.append(conn)
            threading.Thread(target=self.behaviour, args=(conn,), daemon=True).start()

    def url(self):
        return f"http://127.0.0.1:{self.port}/"

    def stop(self):
        self.running = False
        self.thread.join()
        for c in self.open:
            c.close()
        self.sock.close()


def read_request(conn):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            return False
        data += chunk
    return True


def reset_after_request(conn):
    if read_request(conn):
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


def never_answer(conn):
    read_request(conn)
    time.sleep(5)


def garbage(conn):
    if read_request(conn):
        conn.sendall(b"SPDY/9 what is this\r\n\r\n")
    time.sleep(1)
    conn.close()


def truncated_body(conn):
    if read_request(conn):
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789")
    conn.close()


class Faults(unittest.TestCase):
    def run_against(self, behaviour, *args):
        server = FaultServer(behaviour)
        try:
            return run_cli(server.url(), *args)
        finally:
            server.stop()

    def test_refused(self):
        port = free_port()  # bound then released: nothing listens there
        rc, doc, _ = run_cli(f"http://127.0.0.1:{port}/", "-c", "2", "-n", "20")
        self.assertEqual(rc, 1)
        self.assertEqual(doc["errors"], {"refused": 20})
        self.assertEqual(doc["summary"]["total_requests"], 20)
        self.assertEqual(doc["summary"]["failed"], 20)

    def test_reset(self):
        rc, doc, _ = self.run_against(reset_after_request, "-c", "2", "-n", "10")
        self.assertEqual(rc, 1)
        self.assertEqual(doc["errors"], {"reset": 10})

    def test_timeout(self):
        start = time.time()
        rc, doc, _ = self.run_against(never_answer, "-c", "3", "-n", "3", "--timeout", "300ms")
        self.assertEqual(doc["errors"], {"timeout": 3})
        self.assertLess(time.time() - start, 4)

    def test_malformed_response(self):
        rc, doc, _ = self.run_against(garbage, "-c", "1", "-n", "5")
        self.assertEqual(doc["errors"], {"http": 5})

    def test_truncated_body(self):
        rc, doc, _ = self.run_against(truncated_body, "-c", "1", "-n", "5")
        self.assertEqual(doc["errors"], {"body": 5})
        self.assertGreater(doc["summary"]["bytes_received"], 5 * 40)

    def test_connect_timeout(self):
        # A listener whose accept queue is full drops new SYNs: connects hang.
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(0)
        port = sock.getsockname()[1]
        fillers = []
        for _ in range(4):
            c = socket.socket()
            c.setblocking(False)
            try:
                c.connect(("127.0.0.1", port))
            except BlockingIOError:
                pass
            fillers.append(c)
        time.sleep(0.2)
        try:
            rc, doc, _ = run_cli(f"http://127.0.0.1:{port}/", "-c", "2", "-n", "2",
                                 "--connect-timeout", "300ms")
            self.assertEqual(doc["errors"], {"connect": 2})
        finally:
            for c in fillers:
                c.close()
            sock.close()


if __name__ == "__main__":
    unittest.main()
