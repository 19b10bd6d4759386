"""A throwaway PostgreSQL server for tests and benchmarks: initdb into a temporary folder
(fsync off), pg_ctl on a free loopback port below 32768, pg_stat_statements loaded; a
superuser `postgres` over the Unix socket (trust) and a password role `app` over TCP
(scram-sha-256). Stopped by PID."""
import glob
import os
import pwd
import shutil
import subprocess
import tempfile

from helpers import free_port


def pg_bin(name):
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise RuntimeError(f"{name} not found: run scripts/install-deps (postgresql)")
    return found[-1]


class PostgresServer:
    PASSWORD = "s3cret-pw"

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="spiker-pg-")
        self.data = os.path.join(self.dir, "data")
        self.port = free_port()
        pg = pwd.getpwnam("postgres")
        os.chown(self.dir, pg.pw_uid, pg.pw_gid)
        os.chmod(self.dir, 0o755)
        as_pg = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        self.as_pg = as_pg
        subprocess.run(as_pg + [pg_bin("initdb"), "-D", self.data, "-U", "postgres",
                                "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8"],
                       check=True, capture_output=True)
        opts = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
                f"-c synchronous_commit=off -c full_page_writes=off -c max_connections=300 "
                f"-c shared_preload_libraries=pg_stat_statements")
        subprocess.run(as_pg + [pg_bin("pg_ctl"), "-D", self.data, "-o", opts, "-l",
                                os.path.join(self.dir, "log"), "-w", "start"],
                       check=True, capture_output=True)
        with open(os.path.join(self.data, "postmaster.pid")) as f:
            self.pid = int(f.readline())
        self.psql("CREATE EXTENSION pg_stat_statements")
        self.psql(f"CREATE ROLE app LOGIN PASSWORD '{self.PASSWORD}' SUPERUSER")
        self.psql("CREATE DATABASE app OWNER app")
        self.url = f"postgres://app:{self.PASSWORD}@127.0.0.1:{self.port}/app"

    def psql(self, sql, db="postgres"):
        """Runs `sql` as the superuser; returns the output rows, unaligned, '|' between
        columns."""
        p = subprocess.run(["psql", "-h", self.dir, "-p", str(self.port), "-U", "postgres",
                            "-d", db, "-XAtq", "-v", "ON_ERROR_STOP=1", "-c", sql],
                           capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError(f"psql {sql!r}: {p.stderr}")
        return p.stdout.strip()

    def calls(self, like, exclude="%pg_stat_statements_reset%"):
        """Executions of statements whose text matches `like` (pg_stat_statements)."""
        out = self.psql("SELECT coalesce(sum(calls), 0) FROM pg_stat_statements "
                        f"WHERE query LIKE '{like}' AND query NOT LIKE '{exclude}'")
        return int(out)

    def reset_stats(self):
        self.psql("SELECT pg_stat_statements_reset()")

    def stop(self):
        subprocess.run(self.as_pg + [pg_bin("pg_ctl"), "-D", self.data, "-m", "immediate",
                                     "stop"], capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)
