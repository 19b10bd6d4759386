"""Shared fixtures: free ports, nginx and the embedded target on loopback, running the CLI."""
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

LOADSPIKER = os.environ.get("LOADSPIKER", os.path.join(
    os.path.dirname(__file__), "..", "..", "build", "src", "cli", "loadspiker"))


def free_port():
    """A port below 32768 (outside the kernel's ephemeral range) free for TCP and UDP."""
    import random
    for _ in range(1000):
        port = random.randint(10000, 32767)
        try:
            with socket.socket() as t, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                t.bind(("127.0.0.1", port))
                u.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
    raise RuntimeError("no free port below 32768")


def wait_for_port(port, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port} after {timeout}s")


def run_cli(*args, timeout=120, check_json=True, env=None):
    """Runs `loadspiker run ... --json`; returns (exit code, parsed JSON or None, stderr)."""
    cmd = [LOADSPIKER, "run", *args]
    if check_json:
        cmd.append("--json")
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    doc = None
    if check_json and p.stdout.strip():
        doc = json.loads(p.stdout)
    return p.returncode, doc, p.stderr if check_json else p.stdout + p.stderr


def on_terminal(args, answer=None, prompt=b"[y/N]", timeout=10):
    """Runs `loadspiker ARGS` on a pseudo-terminal until it exits; writes `answer` once
    `prompt` shows. Returns (exit code, everything it wrote, as text)."""
    import pty
    import select
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(LOADSPIKER, [LOADSPIKER, *args])
    seen = b""
    while True:
        r, _, _ = select.select([fd], [], [], timeout)
        if not r:
            break
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
        if answer is not None and prompt in seen:
            os.write(fd, answer)
            answer = None
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), seen.decode("utf-8", "replace")


def find_nginx():
    for path in ("/usr/sbin/nginx", shutil.which("nginx")):
        if path and os.path.exists(path):
            return path
    raise unittest.SkipTest("nginx is not installed: run scripts/install-deps")


class Nginx:
    """nginx on a free loopback port with an access log of status and bytes sent."""

    def __init__(self, extra_server="", keepalive_requests=100000, tls=None, access_log=True,
                 connections=20000, preexec_fn=None, http2=False):
        self.dir = tempfile.mkdtemp(prefix="spiker-nginx-")
        self.port = free_port()
        self.log = os.path.join(self.dir, "access.log")
        os.makedirs(os.path.join(self.dir, "html"))
        with open(os.path.join(self.dir, "html", "index.html"), "w") as f:
            f.write("x" * 612)
        listen = f"127.0.0.1:{self.port}"
        self.scheme = "https" if tls else "http"
        tls_conf = ""
        if tls:
            listen += " ssl"
            tls_conf = (f"ssl_certificate {tls[0]}; ssl_certificate_key {tls[1]}; "
                        "ssl_protocols TLSv1.2 TLSv1.3;")
        if http2:  # without ssl: h2c with prior knowledge only
            listen += " http2"
        conf = f"""
user root;
worker_processes 1;
daemon off;
pid {self.dir}/nginx.pid;
error_log {self.dir}/error.log warn;
worker_rlimit_nofile {connections * 2 + 100};
events {{ worker_connections {connections + 100}; }}
http {{
  log_format counted '$status $bytes_sent $request_method $request_uri $content_length $ssl_session_reused $server_protocol $connection '
                    '$ssl_protocol $ssl_cipher $ssl_server_name';
  access_log {f"{self.log} counted" if access_log else "off"};
  client_body_temp_path {self.dir}/body;
  proxy_temp_path {self.dir}/proxy;
  fastcgi_temp_path {self.dir}/fastcgi;
  uwsgi_temp_path {self.dir}/uwsgi;
  scgi_temp_path {self.dir}/scgi;
  keepalive_requests {keepalive_requests};
  keepalive_timeout 300s;
  server {{
    listen {listen} backlog=16384;
    {tls_conf}
    root {self.dir}/html;
    location = /missing {{ return 404 "no such thing\\n"; }}
    location = /error {{ return 503 "busy\\n"; }}
    {extra_server}
  }}
}}
"""
        self.conf = os.path.join(self.dir, "nginx.conf")
        with open(self.conf, "w") as f:
            f.write(conf)
        self.proc = subprocess.Popen([find_nginx(), "-c", self.conf, "-p", self.dir, "-e",
                                      os.path.join(self.dir, "error.log")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     preexec_fn=preexec_fn)
        try:
            wait_for_port(self.port)
        except RuntimeError:
            self.proc.kill()
            raise RuntimeError("nginx did not start: " + self.proc.stderr.read().decode())

    def url(self, path="/"):
        return f"{self.scheme}://127.0.0.1:{self.port}{path}"

    def log_lines(self, settle=0.3):
        time.sleep(settle)  # nginx writes the log line after the response
        with open(self.log) as f:
            return [line.split() for line in f if line.strip()]

    def stop(self):
        self.proc.send_signal(signal.SIGQUIT)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.proc.stderr.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class Target:
    """`loadspiker serve` on a free port."""

    def __init__(self, threads=1, host="127.0.0.1", tls_cert_out=None, echoes=False):
        """With tls_cert_out: TLS with a generated certificate, written to that file. With
        echoes: also the TCP and UDP echoes (tcp_port, udp_port)."""
        extra = ["--tls", "--cert-out", tls_cert_out] if tls_cert_out else []
        self.tcp_port = self.udp_port = None
        if echoes:
            self.tcp_port, self.udp_port = free_port(), free_port()
            extra += ["--tcp-echo", str(self.tcp_port), "--udp-echo", str(self.udp_port)]
        self.scheme = "https" if tls_cert_out else "http"
        self.proc = subprocess.Popen([LOADSPIKER, "serve", "--host", host, "--port", "0",
                                      "--threads", str(threads), *extra],
                                     stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        self.proc.stdout.close()
        # "loadspiker target listening on http://HOST:PORT/ (...)"
        self.port = int(line.split(" (")[0].rstrip("/").rsplit(":", 1)[1])
        self.host = f"[{host}]" if ":" in host else host
        if ":" not in host:
            wait_for_port(self.port)

    def url(self, path="/", host=None):
        return f"{self.scheme}://{host or self.host}:{self.port}{path}"

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class TargetTestCase(unittest.TestCase):
    """Tests sharing one `loadspiker serve` for the class."""

    @classmethod
    def setUpClass(cls):
        cls.target = Target(threads=1, echoes=True)

    @classmethod
    def tearDownClass(cls):
        cls.target.stop()
