"""A throwaway MariaDB server for tests and benchmarks: mariadb-install-db into a temporary
folder, mariadbd on a free loopback port below 32768 (no binary log, no fsync), a password user
`app` with its database `app`. Stopped by PID."""
import os
import shutil
import subprocess
import tempfile
import time

from helpers import free_port, wait_for_port


class MariaDBServer:
    PASSWORD = "s3cret-my"

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="spiker-my-")
        self.data = os.path.join(self.dir, "data")
        self.sock = os.path.join(self.dir, "sock")
        self.port = free_port()
        subprocess.run(["mariadb-install-db", "--no-defaults", f"--datadir={self.data}",
                        "--user=root", "--auth-root-authentication-method=normal",
                        "--skip-test-db"], check=True, capture_output=True)
        self.proc = subprocess.Popen(
            ["mariadbd", "--no-defaults", f"--datadir={self.data}", "--user=root",
             f"--port={self.port}", "--bind-address=127.0.0.1", f"--socket={self.sock}",
             "--skip-log-bin", "--innodb-flush-log-at-trx-commit=0", "--innodb-doublewrite=0",
             "--max-connections=500", f"--pid-file={self.dir}/pid",
             f"--log-error={self.dir}/error.log"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port, timeout=30)
        for _ in range(100):
            if os.path.exists(self.sock):
                break
            time.sleep(0.05)
        self.sql(f"CREATE USER 'app'@'127.0.0.1' IDENTIFIED BY '{self.PASSWORD}';"
                 "CREATE DATABASE app; GRANT ALL ON *.* TO 'app'@'127.0.0.1';")
        self.url = f"mysql://app:{self.PASSWORD}@127.0.0.1:{self.port}/app"

    def sql(self, text, db=None):
        """Runs `text` as root over the socket; returns the rows, tab-separated."""
        cmd = ["mariadb", "--no-defaults", "-uroot", f"--socket={self.sock}", "-N", "-B",
               "-e", text]
        if db:
            cmd.append(db)
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError(f"mariadb {text!r}: {p.stderr}")
        return p.stdout.strip()

    def status(self, name):
        """A global status counter (Com_select, Questions, Com_stmt_prepare, ...)."""
        out = self.sql(f"SHOW GLOBAL STATUS LIKE '{name}'")
        return int(out.split("\t")[1])

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)
