"""A throwaway mosquitto broker on a free loopback port below 32768 (anonymous, no
persistence), stopped by PID; and a TCP proxy that delays what the broker sends by a known
amount (the end-to-end latency test's fault)."""
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time

from helpers import free_port, wait_for_port


class Mosquitto:
    def __init__(self, port=None):
        self.dir = tempfile.mkdtemp(prefix="spiker-mqtt-")
        self.port = port or free_port()
        self.conf = os.path.join(self.dir, "m.conf")
        with open(self.conf, "w") as f:
            f.write(f"listener {self.port} 127.0.0.1\nallow_anonymous true\n"
                    "persistence false\nmax_queued_messages 100000\n")
        self.start()

    def start(self):
        self.proc = subprocess.Popen(["/usr/sbin/mosquitto", "-c", self.conf],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port)
        self.url = f"mqtt://127.0.0.1:{self.port}"

    def kill(self):
        self.proc.kill()
        self.proc.wait()

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)

    def subscriber(self, topic, count, qos=2, timeout=30):
        """mosquitto_sub reading `count` messages of `topic` (a process; .communicate())."""
        p = subprocess.Popen(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(self.port), "-t",
                              topic, "-q", str(qos), "-C", str(count), "-W", str(timeout)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(0.3)  # subscribed before the load starts
        return p


class DelayProxy:
    """Forwards a port to `upstream`; bytes from upstream reach the client `delay` seconds
    after they arrived (in order); client-to-upstream bytes go at once."""

    def __init__(self, upstream_port, delay):
        self.delay = delay
        self.upstream = upstream_port
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.port = free_port()
        self.listener.bind(("127.0.0.1", self.port))
        self.listener.listen(64)
        self.stopped = False
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while not self.stopped:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.upstream))
            for s in (client, server):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self.pump, args=(client, server, 0), daemon=True).start()
            threading.Thread(target=self.pump, args=(server, client, self.delay),
                             daemon=True).start()

    @staticmethod
    def pump(src, dst, delay):
        if delay == 0:
            while True:
                try:
                    data = src.recv(65536)
                    if not data:
                        break
                    dst.sendall(data)
                except OSError:
                    break
        else:
            import queue
            q = queue.Queue()

            def later():
                while True:
                    due, data = q.get()
                    if data is None:
                        break
                    wait = due - time.monotonic()
                    if wait > 0:
                        time.sleep(wait)
                    try:
                        dst.sendall(data)
                    except OSError:
                        break
            threading.Thread(target=later, daemon=True).start()
            while True:
                try:
                    data = src.recv(65536)
                except OSError:
                    data = b""
                if not data:
                    q.put((0, None))
                    break
                q.put((time.monotonic() + delay, data))
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def stop(self):
        self.stopped = True
        self.listener.close()
