"""Every run ends, every decoder is bounded, no secret printed (issue 25). Fake peers on loopback
play what an outside audit found: steps that complete as soon as they are written, brokers and
servers that flood or lie about sizes, garbage where a protocol's reply should be. Each run ends
within its duration plus its timeout, a signal stops it within a second, memory stays bounded,
and errors are named by the protocol that saw them."""
import json
import os
import resource
import signal
import socket
import sqlite3
import struct
import subprocess
import tempfile
import threading
import time
import unittest

from helpers import LOADSPIKER, Target, free_port, run_cli
from test_hostile import HostileServer, interrupted


def child_rss_mb():
    """The largest resident size of any child so far (ru_maxrss of waited-for children)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def read_until_closed(conn):
    while conn.recv(1 << 20):
        pass


# --- MQTT ---------------------------------------------------------------------------------

def mqtt_packet(first, body):
    n, length = len(body), b""
    while True:
        b = n % 128
        n //= 128
        length += bytes([b | (0x80 if n else 0)])
        if not n:
            break
    return bytes([first]) + length + body


def mqtt_publish(qos, pid, payload, topic=b"t"):
    body = len(topic).to_bytes(2, "big") + topic
    if qos:
        body += pid.to_bytes(2, "big")
    return mqtt_packet(0x30 | (qos << 1), body + payload)


def mqtt_reader(conn):
    """Yields (first byte, body) of each packet the client sends."""
    buf = b""
    while True:
        data = conn.recv(1 << 20)
        if not data:
            return
        buf += data
        at = 0
        while len(buf) - at >= 2:
            length, mult, i = 0, 1, at + 1
            while i < len(buf):
                length += (buf[i] & 0x7F) * mult
                mult *= 128
                if not buf[i] & 0x80:
                    break
                i += 1
            else:
                break
            end = i + 1 + length
            if end > len(buf):
                break
            yield buf[at], buf[i + 1:end]
            at = end
        buf = buf[at:]


def mqtt_reads_only(server, conn):
    """CONNACK, then reads everything and never answers again."""
    conn.recv(65536)
    conn.sendall(b"\x20\x02\x00\x00")
    read_until_closed(conn)


def mqtt_acks_and_floods(server, conn):
    """Acknowledges every QoS 1 publish and sends QoS 1 publishes without end."""
    conn.recv(65536)
    conn.sendall(b"\x20\x02\x00\x00")
    lock = threading.Lock()

    def acks():
        for first, body in mqtt_reader(conn):
            if first >> 4 == 3 and (first >> 1) & 3 == 1:
                tl = int.from_bytes(body[:2], "big")
                with lock:
                    conn.sendall(b"\x40\x02" + body[2 + tl:4 + tl])
    threading.Thread(target=acks, daemon=True).start()
    chunk = b"".join(mqtt_publish(1, i + 1, b"x" * 10) for i in range(3000))
    while not server.stopping:
        with lock:
            conn.sendall(chunk)
        time.sleep(0)


def mqtt_big_unsolicited(server, conn):
    """Unsolicited 15 MB QoS 0 publishes, as fast as they are taken."""
    conn.recv(65536)
    conn.sendall(b"\x20\x02\x00\x00")
    big = mqtt_publish(0, 0, b"m" * (15 << 20))
    while not server.stopping:
        conn.sendall(big)


# --- AMQP 0-9-1 -------------------------------------------------------------------------------

def amqp_frame(kind, payload, channel=0):
    return struct.pack("!BHI", kind, channel, len(payload)) + payload + b"\xce"


def amqp_method(cls, mid, args=b"", channel=0):
    return amqp_frame(1, struct.pack("!HH", cls, mid) + args, channel)


def shortstr(s):
    return bytes([len(s)]) + s


def queue_name(declare):
    """queue.declare's queue (after class, method and a reserved short), or a server name."""
    if len(declare) < 7:  # (the reply table is built for every method)
        return b""
    return declare[7:7 + declare[6]] or b"amq.gen-fake"


def amqp_broker(deliver):
    """A broker that says yes to everything; after basic.consume, `deliver(conn)` sends."""
    def behave(server, conn):
        conn.recv(8)  # "AMQP\0\0\x09\x01"
        conn.sendall(amqp_method(10, 10, b"\x00\x09" + struct.pack("!I", 0) +
                                 struct.pack("!I", 5) + b"PLAIN" + struct.pack("!I", 5) +
                                 b"en_US"))
        buf, published = b"", 0
        while True:
            data = conn.recv(1 << 20)
            if not data:
                return
            buf += data
            at = 0
            while len(buf) - at >= 8:
                kind, channel, size = struct.unpack_from("!BHI", buf, at)
                if len(buf) - at < 8 + size:
                    break
                payload = buf[at + 7:at + 7 + size]
                at += 8 + size
                if kind != 1:
                    continue
                cls, mid = struct.unpack("!HH", payload[:4])
                reply = {(10, 11): (10, 30, struct.pack("!HIH", 0, 131072, 0)),
                         (10, 40): (10, 41, b"\x00"),
                         (20, 10): (20, 11, struct.pack("!I", 0)),
                         (85, 10): (85, 11, b""),
                         (40, 10): (40, 11, b""),
                         (50, 10): (50, 11, shortstr(queue_name(payload)) +
                                    struct.pack("!II", 0, 1)),
                         (50, 20): (50, 21, b""),
                         (60, 10): (60, 11, b""),
                         (60, 20): (60, 21, shortstr(b"c1")),
                         (10, 50): (10, 51, b""),
                         (20, 40): (20, 41, b"")}.get((cls, mid))
                if reply:
                    conn.sendall(amqp_method(reply[0], reply[1], reply[2], channel))
                if (cls, mid) == (60, 40):  # basic.publish: confirmed
                    published += 1
                    conn.sendall(amqp_method(60, 80, struct.pack("!QB", published, 0), channel))
                if (cls, mid) == (60, 20):
                    threading.Thread(target=deliver, args=(server, conn, channel),
                                     daemon=True).start()
            buf = buf[at:]
    return behave


def amqp_delivery(body_size, channel):
    deliver = amqp_method(60, 60, shortstr(b"c1") + struct.pack("!QB", 1, 0) + shortstr(b"") +
                          shortstr(b"k"), channel)
    header = amqp_frame(2, struct.pack("!HHQH", 60, 0, body_size, 0), channel)
    return deliver + header


def amqp_endless_body(server, conn, channel):
    """One delivery whose header says 2^62 bytes, then body frames without end."""
    conn.sendall(amqp_delivery(1 << 62, channel))
    frame = amqp_frame(3, b"b" * 131000, channel)
    try:
        while not server.stopping:
            conn.sendall(frame)
    except OSError:
        pass


def amqp_many_unread(server, conn, channel):
    """300 deliveries of 1 MiB that nobody receives."""
    body = b"u" * (1 << 20)
    try:
        for _ in range(300):
            conn.sendall(amqp_delivery(len(body), channel) +
                         b"".join(amqp_frame(3, body[i:i + 131000], channel)
                                  for i in range(0, len(body), 131000)))
    except OSError:
        pass


# --- Redis, MongoDB, PostgreSQL ---------------------------------------------------------------

def redis_ok_flood(server, conn):
    chunk = b"+OK\r\n" * 20000
    while not server.stopping:
        conn.sendall(chunk)


def redis_big_array_in_pieces(server, conn):
    """Answers each command with a 100,000-element array, written 4 KB at a time."""
    n = 100000
    reply = b"*%d\r\n" % n + b"$5\r\nhello\r\n" * n
    while not server.stopping:
        if not conn.recv(65536):
            return
        for i in range(0, len(reply), 4096):
            conn.sendall(reply[i:i + 4096])


def redis_half_reply_then_fine(server, conn):
    """The first connection gets half an array and a stall; the others +OK per command."""
    first = server.connections == 1
    while conn.recv(65536):
        if first:
            conn.sendall(b"*3\r\n$1\r\na\r\n")
        else:
            conn.sendall(b"+OK\r\n")


def garbage(greeting=False):
    def behave(server, conn):
        if not greeting:
            conn.recv(65536)
        conn.sendall(b"\x17garbage that is no protocol at all\r\n" * 4)
        read_until_closed(conn)
    return behave


def mongo_huge_document(server, conn):
    """An OP_MSG whose document says it is 0x7FFFFFF0 bytes long (an int overflow before)."""
    while True:
        data = conn.recv(65536)
        if len(data) < 16:
            return
        request_id = struct.unpack("<i", data[4:8])[0]
        doc = struct.pack("<i", 0x7FFFFFF0) + b"\x10ok\x00\x01\x00\x00\x00\x00"
        msg = struct.pack("<iiii", 16 + 4 + 1 + len(doc), 9, request_id, 2013) + b"\0" * 5 + doc
        conn.sendall(msg)


class FireAndForget(unittest.TestCase):
    """Steps that complete as soon as they are written: the worker still returns to its loop, so
    the live view counts them, -d holds and a signal stops the run (before: only SIGKILL did)."""

    @classmethod
    def setUpClass(cls):
        cls.target = Target(threads=1)
        cls.tmp = tempfile.mkdtemp(prefix="spiker-bounds-")
        cls.sink = HostileServer(lambda server, conn: read_until_closed(conn))
        cls.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        cls.udp.bind(("127.0.0.1", 0))

    @classmethod
    def tearDownClass(cls):
        cls.target.stop()
        cls.sink.stop()
        cls.udp.close()

    def journey(self, action, url):
        path = os.path.join(self.tmp, f"{action}.toml")
        with open(path, "w") as f:
            f.write(f'[[scenarios]]\nname = "s"\n[[scenarios.steps]]\nname = "only"\n'
                    f'action = "{action}"\nurl = "{url}"\nbody = "x"\n')
        return path

    def cases(self, broker, amqp):
        return {
            "mqtt-qos0": [f"mqtt://127.0.0.1:{broker.port}/t", "-b", "x", "--qos", "0"],
            "amqp-unconfirmed": [f"amqp://guest:guest@127.0.0.1:{amqp.port}/", "--queue", "q",
                                 "-b", "x", "--confirm", "false"],
            "tcp.send": [self.journey("tcp.send", f"tcp://127.0.0.1:{self.sink.port}")],
            "udp.send": [self.journey("udp.send",
                                      f"udp://127.0.0.1:{self.udp.getsockname()[1]}")],
            "ws-fire-and-forget": [self.target.url("/ws").replace("http", "ws"), "-b", "hi",
                                   "--ws-fire-and-forget", "--ws-message-interval", "0"],
        }

    def test_each_ends_on_time_and_is_counted_live(self):
        broker = HostileServer(mqtt_reads_only)
        amqp = HostileServer(amqp_broker(lambda server, conn, channel: None))
        try:
            for name, args in self.cases(broker, amqp).items():
                for vus in ("1", "4"):
                    started = time.monotonic()
                    rc, doc, err = run_cli(*args, "-c", vus, "-t", "1", "-d", "2s", timeout=30)
                    took = time.monotonic() - started
                    self.assertLess(took, 4.0, f"{name} -c {vus}: {took:.1f}s {err}")
                    self.assertEqual(rc, 0, f"{name}: {err}")
                    self.assertGreater(doc["summary"]["total_requests"], 100, name)
                    # Counted while it ran (the live view's source), not only at the end.
                    live = [t["requests"] for t in doc["timeline"] if t["elapsed_secs"] <= 1.5]
                    self.assertTrue(live and max(live) > 0, f"{name}: {doc['timeline']}")
        finally:
            broker.stop()
            amqp.stop()

    def test_a_signal_stops_each_within_a_second(self):
        broker = HostileServer(mqtt_reads_only)
        amqp = HostileServer(amqp_broker(lambda server, conn, channel: None))
        try:
            for name, args in self.cases(broker, amqp).items():
                took, rc, out = interrupted(self, [*args, "-c", "4", "-t", "1", "-d", "60s"],
                                            after=1.0)
                self.assertLess(took, 1.5, name)
                self.assertEqual(rc, 130, name)
                self.assertGreater(json.loads(out)["summary"]["total_requests"], 0, name)
        finally:
            broker.stop()
            amqp.stop()


class Floods(unittest.TestCase):
    """Peers that send without end or in small pieces: deadlines hold, parsing is incremental."""

    def test_a_qos1_publish_flood_ends_the_run_on_time(self):
        # Before: -d 5s ran 7.2 s; the client read ~200k messages/s, one syscall per PUBACK.
        broker = HostileServer(mqtt_acks_and_floods)
        try:
            started = time.monotonic()
            rc, doc, err = run_cli(f"mqtt://127.0.0.1:{broker.port}/t", "-b", "x", "--qos", "1",
                                   "-c", "2", "-t", "1", "-d", "3s", "--timeout", "1s", timeout=30)
            took = time.monotonic() - started
            broker.stop()
        finally:
            broker.stop()
        self.assertLess(took, 4.6, err)
        self.assertGreater(doc["mqtt"]["received"], 500000, doc["mqtt"])
        self.assertGreater(doc["mqtt"]["acknowledged"], 0)

    def test_a_redis_ok_flood_keeps_timeouts_and_signals(self):
        # Before: requests took 1.3-2.5 s despite --timeout 1s (each reply copied the buffer).
        server = HostileServer(redis_ok_flood)
        try:
            started = time.monotonic()
            rc, doc, err = run_cli(f"redis://127.0.0.1:{server.port}", "--command", "PING",
                                   "--timeout", "1s", "-c", "2", "-t", "1", "-d", "2s", timeout=30)
            took = time.monotonic() - started
            self.assertLess(took, 3.5, err)
            self.assertLess(doc["latency_us"]["max"], 1_000_000)
            took, rc, _ = interrupted(self, [f"redis://127.0.0.1:{server.port}", "--command",
                                             "PING", "-c", "2", "-t", "1", "-d", "60s"], after=1.0)
            self.assertLess(took, 1.5)
            self.assertEqual(rc, 130)
        finally:
            server.stop()

    def test_a_half_read_redis_reply_goes_with_its_connection(self):
        # The first command times out halfway through an array: the next connection's +OK is
        # a reply of its own, not the old array's second element.
        server = HostileServer(redis_half_reply_then_fine)
        try:
            rc, doc, err = run_cli(f"redis://127.0.0.1:{server.port}", "--command", "PING",
                                   "--timeout", "300ms", "-c", "1", "-t", "1", "-n", "6",
                                   timeout=30)
        finally:
            server.stop()
        self.assertEqual(doc["summary"]["successful"], 5, doc["errors"])
        self.assertEqual(doc["errors"], {"timeout": 1})

    def test_a_redis_reply_in_pieces_is_parsed_once(self):
        # Before: each 4 KB piece re-parsed the reply from its start (56% of the CPU in the
        # parser); a 1.2 MB array of 100,000 elements took seconds to read.
        server = HostileServer(redis_big_array_in_pieces)
        try:
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.monotonic()
            rc, doc, err = run_cli(f"redis://127.0.0.1:{server.port}", "--command",
                                   "LRANGE k 0 -1", "-c", "1", "-t", "1", "-d", "3s",
                                   "--timeout", "2s", timeout=30)
            took = time.monotonic() - started
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
        finally:
            server.stop()
        self.assertLess(took, 4.5, err)
        self.assertGreaterEqual(doc["redis"]["replies"], 5, doc["redis"])
        cpu = (after.ru_utime - before.ru_utime) / max(doc["redis"]["replies"], 1)
        self.assertLess(cpu, 0.1, f"{cpu:.3f} CPU-s of user time per reply")


class PeerBounds(unittest.TestCase):
    """Sizes a peer controls are bounded in bytes; a lie about a size ends the connection as a
    protocol error, not a crash or a memory blow-up."""

    def run_bounded(self, url, extra, seconds="2s"):
        started = time.monotonic()
        rc, doc, err = run_cli(url, *extra, "-c", "1", "-t", "1", "-d", seconds, "--timeout",
                               "1s", timeout=60)
        return time.monotonic() - started, doc, err

    def test_mongo_document_length_near_int_max_is_a_protocol_error(self):
        server = HostileServer(mongo_huge_document)  # before: SIGSEGV in bson_init_static
        try:
            took, doc, err = self.run_bounded(f"mongodb://127.0.0.1:{server.port}/db",
                                              ["--command", '{"ping": 1}'])
        finally:
            server.stop()
        self.assertIsNotNone(doc, err)
        self.assertGreater(doc["errors"].get("protocol", 0), 0, doc["errors"])
        self.assertGreater(doc["mongo"]["protocol_errors"], 0)

    def test_amqp_body_of_2_pow_62_closes_the_connection(self):
        # Before: one connection grew to 525 MB in 5 s.
        server = HostileServer(amqp_broker(amqp_endless_body))
        try:
            took, doc, err = self.run_bounded(
                f"amqp://guest:guest@127.0.0.1:{server.port}/",
                ["--exchange", "amq.topic", "--routing-key", "k", "--subscribe", "k", "-b", "x"],
                "3s")
        finally:
            server.stop()
        self.assertLess(took, 6, err)
        self.assertGreater(doc["amqp"]["protocol_errors"], 0, doc["amqp"])
        self.assertLess(child_rss_mb(), 200)

    def test_amqp_unread_deliveries_are_bounded_in_bytes(self):
        # Before: capped by count only (177 MB after 155 messages).
        server = HostileServer(amqp_broker(amqp_many_unread))
        tmp = tempfile.mkdtemp(prefix="spiker-amqp-")
        path = os.path.join(tmp, "unread.toml")
        with open(path, "w") as f:
            f.write(f'''[[scenarios]]
name = "s"
[[scenarios.steps]]
name = "consume"
action = "amqp.consume"
url = "amqp://guest:guest@127.0.0.1:{server.port}/"
queue = "inbox"
once = true
[[scenarios.steps]]
name = "publish"
action = "amqp.publish"
url = "amqp://guest:guest@127.0.0.1:{server.port}/"
queue = "inbox"
body = "x"
depends_on = ["consume"]
think_time = "100ms"
''')
        try:
            rc, doc, err = run_cli(path, "-c", "1", "-t", "1", "-d", "4s", timeout=60)
        finally:
            server.stop()
        self.assertIsNotNone(doc, err)
        self.assertGreater(doc["amqp"]["received"], 200, doc["amqp"])
        self.assertGreater(doc["amqp"]["unread_dropped"], 100, doc["amqp"])
        self.assertLess(child_rss_mb(), 200)

    def test_mqtt_big_unsolicited_publishes_are_bounded(self):
        # Before: 15 MB unsolicited QoS 0 publishes grew one connection to 762 MB.
        server = HostileServer(mqtt_big_unsolicited)
        try:
            took, doc, err = self.run_bounded(f"mqtt://127.0.0.1:{server.port}/t",
                                              ["-b", "x", "--qos", "0"], "4s")
        finally:
            server.stop()
        self.assertLess(took, 6, err)
        self.assertGreater(doc["mqtt"]["received"], 3, doc["mqtt"])
        self.assertLess(child_rss_mb(), 200)


class ErrorsByProtocol(unittest.TestCase):
    """Garbage where a reply should be is the protocol's error, under its name: not "http:
    malformed HTTP response", not "connect"."""

    CASES = {
        "redis": ("redis://127.0.0.1:{port}", ["--command", "PING"], "malformed_replies", False),
        "mqtt": ("mqtt://127.0.0.1:{port}/t", ["-b", "x", "--qos", "1"], "protocol_errors", False),
        "amqp": ("amqp://guest:guest@127.0.0.1:{port}/", ["--queue", "q", "-b", "x"],
                 "protocol_errors", False),
        "mongo": ("mongodb://127.0.0.1:{port}/db", ["--command", '{"ping": 1}'],
                  "protocol_errors", False),
        "postgres": ("postgres://u:p@127.0.0.1:{port}/db", ["--query", "SELECT 1"],
                     "protocol_errors", False),
    }

    def test_each_protocol_names_its_own_error(self):
        for name, (url, extra, counter, greeting) in self.CASES.items():
            server = HostileServer(garbage(greeting))
            try:
                rc, doc, err = run_cli(url.format(port=server.port), *extra, "-c", "1", "-t", "1",
                                       "-d", "1s", "--timeout", "1s", timeout=30)
            finally:
                server.stop()
            self.assertIsNotNone(doc, f"{name}: {err}")
            self.assertEqual(set(doc["errors"]), {"protocol"}, f"{name}: {doc['errors']}")
            section = "postgres" if name == "postgres" else name
            self.assertGreater(doc[section][counter], 0, f"{name}: {doc[section]}")
            p = subprocess.run([LOADSPIKER, "run", url.format(port=server.port), *extra, "-c",
                                "1", "-n", "1"], capture_output=True, text=True, timeout=30)
            self.assertNotIn("malformed HTTP", p.stdout + p.stderr, name)


class RedisPassword(unittest.TestCase):
    def test_the_urls_password_authenticates(self):
        import shutil
        port, password = free_port(), "s3cret-pw"
        proc = subprocess.Popen(
            [shutil.which("redis-server") or "/usr/bin/redis-server", "--port", str(port),
             "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--requirepass",
             password], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            from helpers import wait_for_port
            wait_for_port(port)
            rc, doc, err = run_cli(f"redis://:{password}@127.0.0.1:{port}/2", "--command",
                                   "SET k v", "-c", "2", "-n", "20", timeout=30)
            self.assertEqual(rc, 0, err)
            self.assertEqual(doc["summary"]["successful"], 20, doc["redis"])
            got = subprocess.run(["redis-cli", "-p", str(port), "-a", password, "--no-auth-warning",
                                  "-n", "2", "GET", "k"], capture_output=True, text=True)
            self.assertEqual(got.stdout.strip(), "v")  # SELECT 2 from the URL's path
            # A wrong password: every command refused with the server's own error.
            rc, doc, err = run_cli(f"redis://:wrong@127.0.0.1:{port}", "--command", "PING",
                                   "-c", "1", "-n", "5", timeout=30)
            self.assertEqual(doc["summary"]["successful"], 0)
            self.assertEqual(doc["summary"]["failed"], 5)
            self.assertGreater(doc["redis"]["errors_WRONGPASS"], 0, doc["redis"])
            p = subprocess.run([LOADSPIKER, "run", f"redis://:wrong@127.0.0.1:{port}",
                                "--command", "PING", "-n", "3", "-c", "1"],
                               capture_output=True, text=True, timeout=30)
            self.assertNotIn("Errors        none", p.stdout)  # 3 answered with an error
            self.assertNotIn("wrong", p.stdout + p.stderr)
        finally:
            proc.terminate()
            proc.wait(timeout=10)


class Secrets(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.target = Target(threads=1)
        cls.tmp = tempfile.mkdtemp(prefix="spiker-secrets-")

    @classmethod
    def tearDownClass(cls):
        cls.target.stop()

    def cli(self, *args):
        p = subprocess.run([LOADSPIKER, *args], capture_output=True, text=True, timeout=30)
        return p.returncode, p.stdout + p.stderr

    def test_validate_and_graph_never_print_a_password(self):
        path = os.path.join(self.tmp, "db.toml")
        with open(path, "w") as f:
            f.write('[target]\nurl = "postgres://app:hunter2pw@127.0.0.1:5432/db"\n')
        for cmd in ("validate", "graph"):
            rc, out = self.cli(cmd, path)
            self.assertNotIn("hunter2pw", out, cmd)

    def test_a_grid_error_quotes_its_line_without_the_password(self):
        path = os.path.join(self.tmp, "db.hcl")
        with open(path, "w") as f:
            f.write('step "sql" "q" {\n  arguments {\n'
                    '    url = "postgres://app:hunter2pw@127.0.0.1:99999/db"\n'
                    '    query = "SELECT 1"\n  }\n}\n')
        for cmd in ("validate", "graph"):
            rc, out = self.cli(cmd, path)
            self.assertEqual(rc, 2, out)
            self.assertIn("port", out)
            self.assertNotIn("hunter2pw", out, cmd)

    def test_a_password_with_slash_hash_or_question_mark_is_not_printed(self):
        for pw in ("pa/ss99", "pa#ss99", "pa?ss99"):
            rc, out = self.cli("run", f"postgres://app:{pw}@127.0.0.1:5432/db", "--query",
                               "SELECT 1", "-n", "1")
            self.assertEqual(rc, 2, out)
            self.assertNotIn("ss99", out, pw)

    def test_debug_redacts_secret_query_values(self):
        rc, out = self.cli("run", self.target.url("/echo?api_key=TOPSECRET42&page=3"), "--debug")
        self.assertEqual(rc, 0, out)
        self.assertNotIn("TOPSECRET42", out)
        self.assertIn("page=3", out)

    def test_basic_auth_and_an_authorization_header_are_refused_together(self):
        rc, out = self.cli("run", self.target.url("/"), "-a", "u:p", "-H",
                           "Authorization: Bearer T", "-n", "1")
        self.assertEqual(rc, 2, out)
        self.assertIn("two Authorization headers", out)


class CorruptHistory(unittest.TestCase):
    def test_a_file_that_is_not_a_history_is_refused_and_left_alone(self):
        tmp = tempfile.mkdtemp(prefix="spiker-history-")
        garbage_db = os.path.join(tmp, "garbage.db")
        with open(garbage_db, "wb") as f:
            f.write(os.urandom(8192))
        other = os.path.join(tmp, "other.db")
        with sqlite3.connect(other) as c:
            c.execute("CREATE TABLE t (x)")
        empty = os.path.join(tmp, "empty.db")
        open(empty, "w").close()
        for path in (garbage_db, other, empty):
            before = open(path, "rb").read()
            for args in (["history", path], ["compare", f"{path}#1", f"{path}#2"]):
                p = subprocess.run([LOADSPIKER, *args], capture_output=True, text=True,
                                   timeout=30)
                self.assertEqual(p.returncode, 2, f"{args}: {p.stdout}{p.stderr}")
                self.assertIn("not a LoadSpiker history", p.stderr, args)
            self.assertEqual(open(path, "rb").read(), before, f"{path} was written")

    def test_a_damaged_history_is_not_read_as_empty(self):
        tmp = tempfile.mkdtemp(prefix="spiker-history-")
        target = Target(threads=1)
        db = os.path.join(tmp, "runs.db")
        try:
            for _ in range(3):
                rc, _, err = run_cli(target.url("/"), "-c", "1", "-n", "5", "--db-url", db)
                self.assertEqual(rc, 0, err)
        finally:
            target.stop()
        data = bytearray(open(db, "rb").read())
        for at in range(4096, len(data), 97):  # pages after the header, scribbled over
            data[at] ^= 0x5A
        with open(db, "wb") as f:
            f.write(data)
        p = subprocess.run([LOADSPIKER, "history", db], capture_output=True, text=True,
                           timeout=30)
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)


def http_body_hasher(server, conn):
    """Reads HTTP/1.1 requests with Content-Length, records each body's SHA-256, answers 200."""
    import hashlib
    buf = b""
    while True:
        while b"\r\n\r\n" not in buf:
            data = conn.recv(1 << 20)
            if not data:
                return
            buf += data
        head, buf = buf.split(b"\r\n\r\n", 1)
        length = int([l.split(b":")[1] for l in head.split(b"\r\n")
                      if l.lower().startswith(b"content-length:")][0])
        h, left = hashlib.sha256(), length
        while left > 0:
            if not buf:
                buf = conn.recv(1 << 20)
                if not buf:
                    return
            take = buf[:left]
            h.update(take)
            buf = buf[len(take):]
            left -= len(take)
        server.hashes.append(h.hexdigest())
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")


def peak_anon_kb(args, timeout=60):
    """Runs `loadspiker run ARGS --json`, polling its anonymous memory (RssAnon: what it
    allocated, not the page cache of a mapped file). Returns (peak KB, exit code, JSON)."""
    p = subprocess.Popen([LOADSPIKER, "run", *args, "--json"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    peak = 0
    out = []
    reader = threading.Thread(target=lambda: out.append(p.communicate(timeout=timeout)))
    reader.start()
    while reader.is_alive():
        try:
            with open(f"/proc/{p.pid}/status") as f:
                for line in f:
                    if line.startswith("RssAnon:"):
                        peak = max(peak, int(line.split()[1]))
        except OSError:
            pass
        time.sleep(0.02)
    reader.join()
    stdout = out[0][0] if out else ""
    return peak, p.returncode, json.loads(stdout) if stdout.strip() else None


class BodyFile(unittest.TestCase):
    """--body-file: the file's bytes, mapped (HTTP) or held once (other protocols), never
    copied per connection; ${ in a binary file is not a template unless --body-template.
    Before: a 200 MB file took 1.8 GB, a 2 GB one 6 GB and sent nothing."""

    @classmethod
    def setUpClass(cls):
        import hashlib
        cls.tmp = tempfile.mkdtemp(prefix="spiker-bodyfile-")
        cls.path = os.path.join(cls.tmp, "upload.bin")
        block = os.urandom(1 << 20)
        with open(cls.path, "wb") as f:
            f.write(b"binary ${not a variable} \x00\xff ")
            for _ in range(48):
                f.write(block)
        cls.size = os.path.getsize(cls.path)
        with open(cls.path, "rb") as f:
            cls.sha = hashlib.sha256(f.read()).hexdigest()

    def test_http_sends_the_files_bytes_without_copies(self):
        server = HostileServer(http_body_hasher)
        server.hashes = []
        try:
            peak, rc, doc = peak_anon_kb([f"http://127.0.0.1:{server.port}/up", "-m", "POST",
                                          "--body-file", self.path, "-c", "16", "-t", "1",
                                          "-n", "48"])
        finally:
            server.stop()
        self.assertEqual(rc, 0, doc)
        self.assertEqual(doc["summary"]["successful"], 48)
        self.assertEqual(server.hashes, [self.sha] * 48)
        self.assertLess(peak, 40 * 1024, f"{peak} KB anonymous for a 48 MiB body on 16 VUs")

    def test_other_protocols_hold_the_body_once_whatever_the_connections(self):
        sink = HostileServer(lambda server, conn: read_until_closed(conn))
        try:
            peaks = []
            for vus in ("2", "16"):
                peak, rc, doc = peak_anon_kb([f"tcp://127.0.0.1:{sink.port}", "--body-file",
                                              self.path, "-c", vus, "-t", "1", "-n", vus])
                self.assertEqual(doc["summary"]["total_requests"], int(vus))
                peaks.append(peak)
        finally:
            sink.stop()
        # A copy per connection would add 14 x 48 MiB from 2 to 16 VUs.
        self.assertLess(peaks[1] - peaks[0], 48 * 1024, peaks)

    def test_templates_in_a_body_file_only_when_asked(self):
        target = Target(threads=1)
        path = os.path.join(self.tmp, "template.txt")
        with open(path, "w") as f:
            f.write("vu=${VU_ID}")
        try:
            for extra, want in (([], "vu=${VU_ID}"), (["--body-template"], "vu=1")):
                p = subprocess.run([LOADSPIKER, "run", target.url("/echo"), "-m", "POST",
                                    "--body-file", path, "--debug", *extra],
                                   capture_output=True, text=True, timeout=30)
                self.assertEqual(p.returncode, 0, p.stderr)
                self.assertIn(f'"body":"{want}"', p.stdout, extra)
        finally:
            target.stop()


class Messages(unittest.TestCase):
    def test_the_arrival_rate_limit_names_a_flag_that_exists(self):
        p = subprocess.run([LOADSPIKER, "run", "http://127.0.0.1:9/", "--arrival-rate", "1e18",
                            "-d", "1s"], capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 2)
        self.assertNotIn("--execution-segment", p.stderr)
        self.assertIn("--segment", p.stderr)
        help_text = subprocess.run([LOADSPIKER, "run", "--help"], capture_output=True,
                                   text=True).stdout
        self.assertIn("--segment", help_text)


if __name__ == "__main__":
    unittest.main()
