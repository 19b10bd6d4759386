"""Helpers for the benchmarks: nginx on loopback, child processes with their CPU time, tools."""
import os
import resource
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "integration"))
from helpers import Nginx, Target  # noqa: E402,F401


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


def bench_nginx(connections=20000):
    """nginx, one worker, access log off, serving a 612-byte file (the size of its welcome
    page): the integration tests' fixture with benchmark settings."""
    return Nginx(access_log=False, connections=connections, keepalive_requests=100000000,
                 preexec_fn=raise_fd_limit)


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
