"""PostgreSQL (postgres://) against a real server started for this module on a free loopback
port (initdb, fsync off): counts from pg_stat_statements, pipelining, prepared statements once
per connection, server errors counted by SQLSTATE class and checked with `error ==`, a wrong
password, a stalled query (timeout), terminated connections (reset, then reconnect), bad input
refused before anything is sent, a journey mixing HTTP and SQL with extraction across both,
and the Python API and grid runner from the one registration."""
import json
import os
import subprocess
import tempfile
import threading
import time
import unittest

from helpers import LOADSPIKER, Target, run_cli
from pg_server import PostgresServer

BUILD_PYTHON = os.path.join(os.path.dirname(LOADSPIKER), "..", "..", "python")
QUERY = "SELECT id, name FROM items WHERE id = $1"


class Postgres(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = PostgresServer()
        cls.pg.psql("CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, price numeric);"
                    "INSERT INTO items SELECT g, 'item' || g, g * 1.5 FROM generate_series(1, 1000) g;"
                    "CREATE TABLE stored (id bigint PRIMARY KEY, name text);"
                    "ALTER TABLE items OWNER TO app; ALTER TABLE stored OWNER TO app;", db="app")
        cls.target = Target(threads=1)
        cls.tmp = tempfile.mkdtemp(prefix="spiker-pg-test-")

    @classmethod
    def tearDownClass(cls):
        cls.pg.stop()
        cls.target.stop()

    def setUp(self):
        self.pg.reset_stats()

    def write(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_load_counts_match_pg_stat_statements(self):
        code, doc, err = run_cli(self.pg.url, "--query", QUERY, "--param",
                                 "${RANDOM_INT:1:1000}", "-c", "8", "-n", "3000", "-t", "2")
        self.assertEqual(code, 0, err)
        self.assertEqual(doc["summary"]["total_requests"], 3000)
        self.assertEqual(doc["summary"]["failed"], 0)
        self.assertEqual(self.pg.calls("SELECT id, name FROM items WHERE id = $1"), 3000)
        self.assertEqual(doc["postgres"]["queries"], 3000)
        self.assertEqual(doc["postgres"]["rows_returned"], 3000)
        # Prepared once per connection: as many Parse messages as connections.
        self.assertEqual(doc["postgres"]["prepared_statements"], doc["postgres"]["connects"])
        self.assertLessEqual(doc["postgres"]["connects"], 8)
        self.assertGreater(doc["summary"]["bytes_received"], 3000 * 20)
        self.assertNotIn(PostgresServer.PASSWORD, json.dumps(doc))
        self.assertEqual(doc["metadata"]["load"]["protocol"], "postgres")

    def test_pipelining_and_modes(self):
        code, doc, err = run_cli(self.pg.url, "--query", "SELECT $1::int + 1", "--param",
                                 "${ITERATION}", "-c", "2", "-n", "1600", "--pipeline", "16")
        self.assertEqual(code, 0, err)
        self.assertEqual(doc["summary"]["total_requests"], 1600)
        self.assertEqual(self.pg.calls("SELECT $1::int + %"), 1600)
        self.assertEqual(doc["postgres"]["pipeline_depth"], 16)
        for mode, text in (("extended", "SELECT $1::text"), ("simple", "SELECT 'simple'")):
            self.pg.reset_stats()
            args = ["--param", "x"] if mode == "extended" else []
            code, doc, err = run_cli(self.pg.url, "--query", text, "--mode", mode, "-c", "1",
                                     "-n", "50", *args)
            self.assertEqual(code, 0, err)
            self.assertEqual(doc["summary"]["failed"], 0)
            self.assertEqual(doc["postgres"]["connects"], 1)  # one after the other, one conn
            self.assertEqual(doc["postgres"]["prepared_statements"], 0)
            self.assertEqual(self.pg.calls(text.replace("'simple'", "$1")), 50, mode)

    def test_server_errors_by_sqlstate_and_error_checks(self):
        code, doc, err = run_cli(self.pg.url, "--query", "SELECT * FROM no_such_table", "-n", "20")
        self.assertEqual(code, 1)
        self.assertEqual(doc["summary"]["failed"], 20)
        self.assertEqual(doc["postgres"]["server_errors"], 20)
        self.assertEqual(doc["postgres"]["errors_42_syntax"], 20)
        # A duplicate key is refused with 23505: a step that expects it passes.
        self.pg.psql("INSERT INTO stored VALUES (424242, 'taken')", db="app")
        path = self.write("dup.toml", f"""
[connections]
db = "{self.pg.url}"
[[scenarios]]
name = "dup"
  [[scenarios.steps]]
  name = "read-1"
  action = "sql"
  connection = "db"
  query = "SELECT 1"
  [[scenarios.steps]]
  name = "read-2"
  action = "sql"
  query = "SELECT 2"
  [[scenarios.steps]]
  name = "insert-again"
  action = "sql"
  query = "INSERT INTO stored (id, name) VALUES ($1, $2)"
  params = [424242, "again"]
  checks = ['error == "23505"']
""")
        code, doc, err = run_cli(path, "-c", "1", "--iterations", "5")
        self.assertEqual(code, 0, err)
        self.assertEqual(doc["checks"]["overall_pass_rate"], 1.0)
        self.assertEqual(doc["postgres"]["errors_23_integrity"], 5)

    def test_wrong_password_is_an_auth_error_and_never_printed(self):
        url = self.pg.url.replace(PostgresServer.PASSWORD, "not-the-pw")
        code, doc, err = run_cli(url, "--query", "SELECT 1", "-n", "5")
        self.assertEqual(code, 1)
        self.assertEqual(doc["summary"]["failed"], 5)
        self.assertEqual(doc["postgres"]["errors_28_auth"], 5)
        self.assertNotIn("not-the-pw", json.dumps(doc) + err)

    def test_a_stalled_query_times_out(self):
        code, doc, err = run_cli(self.pg.url, "--query", "SELECT pg_sleep(3)", "-n", "2", "-c",
                                 "2", "--timeout", "300ms")
        self.assertEqual(code, 1)
        self.assertEqual(doc["errors"].get("timeout"), 2, doc["errors"])
        self.assertLess(doc["summary"]["elapsed_secs"], 2.0)

    def test_terminated_connections_reset_then_reconnect(self):
        # Backends of earlier tests (a pg_sleep whose client timed out) end first: only this
        # run's 4 connections are terminated below.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and int(self.pg.psql(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'loadspiker'")):
            time.sleep(0.1)
        p = subprocess.Popen([LOADSPIKER, "run", self.pg.url, "--query", "SELECT 1", "-c", "4",
                              "-d", "3s", "--json"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        time.sleep(1.2)
        killed = self.pg.psql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                              "WHERE application_name = 'loadspiker'")
        out, err = p.communicate(timeout=30)
        doc = json.loads(out)
        self.assertEqual(int(killed), 4)
        self.assertGreater(doc["postgres"]["connects"], 4)  # connected again
        self.assertGreater(doc["summary"]["successful"], 1000)
        lost = sum(doc["errors"].values()) + doc["postgres"]["server_errors"]
        self.assertGreater(lost, 0, doc["errors"])

    def test_bad_input_is_refused_before_sending(self):
        cases = [
            (["--query", "SELECT ${RANDOM_INT:1:9}", "--mode", "prepared"], "cannot be prepared"),
            ([], "no PostgreSQL query"),
            (["--query", "SELECT 1", "--mode", "fast"], "prepared, extended or simple"),
            (["--query", "SELECT $1", "--param", "1", "--mode", "simple"], "without parameters"),
        ]
        for args, message in cases:
            code, doc, err = run_cli(self.pg.url, *args, "-n", "3")
            self.assertEqual(code, 2, args)
            self.assertIn(message, err)
            self.assertNotIn(PostgresServer.PASSWORD, err)
        bad_url = self.pg.url.replace(f":{self.pg.port}/", ":99999/")
        code, doc, err = run_cli(bad_url, "--query", "SELECT 1", "-n", "1")
        self.assertEqual(code, 2)
        self.assertIn("port must be 1..65535", err)
        self.assertNotIn(PostgresServer.PASSWORD, err)  # the URL is printed redacted
        path = self.write("bad.toml", f"""
[[scenarios]]
name = "bad"
  [[scenarios.steps]]
  name = "q"
  action = "sql"
  url = "{self.pg.url}"
  query = "SELECT 1"
  colums = ["x"]
""")
        code, doc, err = run_cli(path, "-n", "1")
        self.assertEqual(code, 1)  # a config error
        self.assertIn("bad.toml:", err)
        self.assertIn("colums", err)
        path = self.write("conn.toml", """
[[scenarios]]
name = "bad"
  [[scenarios.steps]]
  name = "q"
  action = "sql"
  connection = "nope"
  query = "SELECT 1"
""")
        code, doc, err = run_cli(path, "-n", "1")
        self.assertEqual(code, 1)
        self.assertIn("connection 'nope' is not in [connections]", err)
        self.assertEqual(self.pg.calls("SELECT %", exclude="%pg_stat_statements%"), 0)

    def test_journey_mixing_http_and_sql(self):
        path = self.write("mix.toml", f"""
[connections]
db = "{self.pg.url}"

[[scenarios]]
name = "mix"
  [[scenarios.steps]]
  name = "create"
  method = "POST"
  url = "{self.target.url('/items')}"
  json = {{ name = "widget" }}
  extract = {{ id = "json:$.id" }}
  [[scenarios.steps]]
  name = "store"
  action = "sql"
  connection = "db"
  query = "INSERT INTO stored (id, name) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET name = $2"
  params = ["${{id}}", "widget-${{id}}"]
  checks = ["rows == 1"]
  [[scenarios.steps]]
  name = "read"
  action = "sql"
  query = "SELECT id, name FROM stored WHERE id = $1"
  params = ["${{id}}"]
  checks = ["rows == 1", 'json $[0].name exists', 'body contains "widget-"']
  extract = {{ stored = "column:name", same = "row:0.id" }}
  [[scenarios.steps]]
  name = "echo"
  url = "{self.target.url('/echo')}"
  method = "POST"
  body = "${{stored}}/${{same}}"
  checks = ['body contains "widget-"']
""")
        code, doc, err = run_cli(path, "-c", "2", "--iterations", "20")
        self.assertEqual(code, 0, err)
        self.assertEqual(doc["journeys"]["iterations"], 20)
        self.assertEqual(doc["checks"]["overall_pass_rate"], 1.0, doc["checks"])
        self.assertEqual(doc["summary"]["failed"], 0)
        self.assertEqual(self.pg.calls("INSERT INTO stored%"), 20)
        self.assertEqual(self.pg.calls("SELECT id, name FROM stored%"), 20)
        stored = int(self.pg.psql("SELECT count(*) FROM stored WHERE name LIKE 'widget-%'",
                                  db="app"))
        self.assertGreaterEqual(stored, 1)

    def test_python_and_grid_reach_postgres_from_its_registration(self):
        env = dict(os.environ, PYTHONPATH=os.path.abspath(BUILD_PYTHON))
        script = f"""
import loadspiker
e = loadspiker.Engine(worker_threads=1)
conn = e.database_connect({self.pg.url!r})
r = e.database_query(conn, "SELECT id, name, price FROM items WHERE id = $1", [7])
assert r.success and r.rowcount == 1, r.error_message
assert r.rows == [{{"id": 7, "name": "item7", "price": 10.5}}], r.rows
bad = e.database_query(conn, "SELECT * FROM nope")
assert not bad.success and bad.error_code == "42P01", (bad.error_code, bad.text)
assert e.database_disconnect(conn)
try:
    e.database_connect({self.pg.url.replace(PostgresServer.PASSWORD, "wrong")!r})
    raise SystemExit("connected with a wrong password")
except ConnectionError as x:
    assert "wrong" not in str(x) and "28P01" in str(x), str(x)
s = loadspiker.DatabaseScenario({self.pg.url!r}, "db")
s.query("SELECT name FROM items WHERE id = $1", params=["${{ITERATION}}"], checks=["rows == 1"])
res = e.run_scenario(s, users=2, duration=None, iterations=40)
print("REQUESTS", res["total_requests"], res["failed_requests"])
"""
        p = subprocess.run(["/usr/bin/python3", "-c", script], capture_output=True, text=True,
                           env=env, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("REQUESTS 40 0", p.stdout)
        self.assertEqual(self.pg.calls("SELECT name FROM items WHERE id = $1"), 40)
        grid = self.write("pg.hcl", f"""
step "sql" "insert" {{
  arguments {{
    url    = "{self.pg.url}"
    query  = "INSERT INTO stored (id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING"
    params = [777, "from-grid"]
  }}
}}
step "sql" "read" {{
  arguments {{
    url    = "{self.pg.url}"
    query  = "SELECT name FROM stored WHERE id = $1"
    params = [777]
  }}
  depends_on = ["insert"]
}}
step "print" "got" {{
  arguments {{ input = step.sql.read.output.body }}
}}
""")
        p = subprocess.run([LOADSPIKER, "run", grid], capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn('[print.got] [{"name":"from-grid"}]', p.stdout)


if __name__ == "__main__":
    unittest.main()
