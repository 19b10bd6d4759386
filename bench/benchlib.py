"""Helpers for the benchmarks: nginx on loopback, timed child processes, tool checks."""
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time


def need(*tools):
    """Installs the benchmark peers (wrk, nginx, strace, valgrind, ...) when one is missing."""
    def missing():
        return [t for t in tools if shutil.which(t) is None and not os.path.exists(f"/usr/sbin/{t}")]
    if missing():
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts",
                              "install-deps")
        subprocess.run([script, "--bench"], check=True)
    if missing():
        sys.exit(f"missing {', '.join(missing())} after scripts/install-deps --bench")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def raise_fd_limit():
    """Soft (and, as root, hard) open-file limit up to 65536, for 10k-connection runs."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 65536
    if hard != resource.RLIM_INFINITY and hard < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, want))
            return
        except (ValueError, OSError):
            want = hard
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, want), hard))


class Nginx:
    """nginx, one worker, access log off, serving a 612-byte file (the size of its welcome page)."""

    def __init__(self, connections=20000):
        self.dir = tempfile.mkdtemp(prefix="spiker-bench-")
        self.port = free_port()
        os.makedirs(f"{self.dir}/html")
        with open(f"{self.dir}/html/index.html", "w") as f:
            f.write("x" * 612)
        conf = f"""
user root;
worker_processes 1;
worker_rlimit_nofile {connections * 2 + 100};
daemon off;
pid {self.dir}/nginx.pid;
error_log {self.dir}/error.log error;
events {{ worker_connections {connections + 100}; }}
http {{
  access_log off;
  keepalive_requests 100000000;
  keepalive_timeout 300s;
  client_body_temp_path {self.dir}/body;
  proxy_temp_path {self.dir}/proxy;
  fastcgi_temp_path {self.dir}/fastcgi;
  uwsgi_temp_path {self.dir}/uwsgi;
  scgi_temp_path {self.dir}/scgi;
  server {{ listen 127.0.0.1:{self.port} backlog=16384; root {self.dir}/html; }}
}}
"""
        with open(f"{self.dir}/nginx.conf", "w") as f:
            f.write(conf)
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        self.proc = subprocess.Popen([nginx, "-c", f"{self.dir}/nginx.conf", "-p", self.dir,
                                      "-e", f"{self.dir}/error.log"],
                                     preexec_fn=raise_fd_limit)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.05)
        self.url = f"http://127.0.0.1:{self.port}/index.html"

    def stop(self):
        self.proc.send_signal(signal.SIGQUIT)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


def run_cpu(cmd):
    """Runs cmd to completion; returns (stdout, stderr, CPU seconds user+sys of the child)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        p = subprocess.Popen(cmd, stdout=out, stderr=err, preexec_fn=raise_fd_limit)
        _, status, usage = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return (out.read().decode("utf-8", "replace"), err.read().decode("utf-8", "replace"),
                usage.ru_utime + usage.ru_stime)
