"""MySQL/MariaDB (mysql://, mariadb://) against a real mariadbd started for this module on a
free loopback port: counts from SHOW GLOBAL STATUS (Com_stmt_execute, Com_stmt_prepare,
Com_select), server-side prepared statements once per connection, the three modes, server
errors by SQLSTATE class and `error ==` checks, a wrong password, a stalled query, a killed
connection (reset, then reconnect), a journey mixing HTTP and SQL with extraction, and the
Python API."""
import json
import os
import subprocess
import tempfile
import time
import unittest

from helpers import LOADSPIKER, Target, run_cli
from mariadb_server import MariaDBServer

BUILD_PYTHON = os.path.join(os.path.dirname(LOADSPIKER), "..", "..", "python")


class MySQL(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.db = MariaDBServer()
        cls.db.sql("CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(50) NOT NULL, "
                   "price DECIMAL(10,2));"
                   "INSERT INTO items SELECT seq, CONCAT('item', seq), seq * 1.5 "
                   "FROM seq_1_to_1000;"
                   "CREATE TABLE stored (id BIGINT PRIMARY KEY, name VARCHAR(80));", db="app")
        cls.target = Target(threads=1)
        cls.tmp = tempfile.mkdtemp(prefix="spiker-my-test-")

    @classmethod
    def tearDownClass(cls):
        cls.db.stop()
        cls.target.stop()

    def counts(self):
        return {k: self.db.status(k) for k in ("Com_stmt_execute", "Com_stmt_prepare",
                                               "Com_select", "Com_stmt_close")}

    def delta(self, before):
        after = self.counts()
        return {k: after[k] - before[k] for k in after}

    def write(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_load_counts_match_global_status(self):
        before = self.counts()
        code, doc, err = run_cli(self.db.url, "--query",
                                 "SELECT id, name FROM items WHERE id = ?", "--param",
                                 "${RANDOM_INT:1:1000}", "-c", "8", "-n", "3000", "-t", "2")
        self.assertEqual(code, 0, err)
        d = self.delta(before)
        self.assertEqual(doc["summary"]["total_requests"], 3000)
        self.assertEqual(d["Com_stmt_execute"], 3000)
        self.assertEqual(doc["mysql"]["rows_returned"], 3000)
        # Prepared once per connection.
        self.assertEqual(d["Com_stmt_prepare"], doc["mysql"]["connects"])
        self.assertEqual(doc["mysql"]["prepared_statements"], doc["mysql"]["connects"])
        self.assertLessEqual(doc["mysql"]["connects"], 8)
        self.assertGreater(doc["summary"]["bytes_received"], 3000 * 20)
        self.assertNotIn(MariaDBServer.PASSWORD, json.dumps(doc))

    def test_modes_and_the_mariadb_scheme(self):
        before = self.counts()
        url = self.db.url.replace("mysql://", "mariadb://")
        code, doc, err = run_cli(url, "--query", "SELECT ?", "--param", "x", "--mode",
                                 "extended", "-c", "1", "-n", "40")
        self.assertEqual(code, 0, err)
        d = self.delta(before)
        self.assertEqual((d["Com_stmt_prepare"], d["Com_stmt_execute"]), (40, 40))
        self.assertEqual(d["Com_stmt_close"], 40)
        before = self.counts()
        code, doc, err = run_cli(url, "--query", "SELECT 1", "--mode", "simple", "-c", "1",
                                 "-n", "40")
        self.assertEqual(code, 0, err)
        d = self.delta(before)
        self.assertEqual((d["Com_select"], d["Com_stmt_execute"]), (40, 0))

    def test_server_errors_by_sqlstate_and_error_checks(self):
        code, doc, err = run_cli(self.db.url, "--query", "SELECT * FROM no_such_table", "-n",
                                 "10")
        self.assertEqual(code, 1)
        self.assertEqual(doc["summary"]["failed"], 10)
        self.assertEqual(doc["mysql"]["errors_42_syntax"], 10)
        self.db.sql("INSERT INTO stored VALUES (424242, 'taken')", db="app")
        path = self.write("dup.toml", f"""
[connections.db]
url = "{self.db.url}"

[[scenarios]]
name = "dup"
  [[scenarios.steps]]
  name = "one"
  action = "sql"
  connection = "db"
  query = "SELECT 1"
  [[scenarios.steps]]
  name = "two"
  action = "sql"
  query = "SELECT 2"
  [[scenarios.steps]]
  name = "insert-again"
  action = "sql"
  query = "INSERT INTO stored (id, name) VALUES (?, ?)"
  params = [424242, "again"]
  checks = ['error == "23000"']
""")
        code, doc, err = run_cli(path, "-c", "1", "--iterations", "5")
        self.assertEqual(code, 0, err)
        self.assertEqual(doc["checks"]["overall_pass_rate"], 1.0)
        self.assertEqual(doc["mysql"]["errors_23_integrity"], 5)

    def test_wrong_password_stall_and_killed_connection(self):
        url = self.db.url.replace(MariaDBServer.PASSWORD, "not-the-pw")
        code, doc, err = run_cli(url, "--query", "SELECT 1", "-n", "4")
        self.assertEqual(code, 1)
        self.assertEqual(doc["mysql"]["errors_28_auth"], 4)
        self.assertNotIn("not-the-pw", json.dumps(doc) + err)
        code, doc, err = run_cli(self.db.url, "--query", "SELECT SLEEP(3)", "-n", "2", "-c",
                                 "2", "--timeout", "300ms")
        self.assertEqual(doc["errors"].get("timeout"), 2, doc["errors"])
        self.assertLess(doc["summary"]["elapsed_secs"], 2.0)
        p = subprocess.Popen([LOADSPIKER, "run", self.db.url, "--query", "SELECT 1", "-c", "3",
                              "-d", "3s", "--json"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        time.sleep(1.2)
        ids = self.db.sql("SELECT id FROM information_schema.processlist WHERE user = 'app'")
        for i in ids.split():
            self.db.sql(f"KILL {i}")
        out, err = p.communicate(timeout=30)
        doc = json.loads(out)
        self.assertGreaterEqual(len(ids.split()), 3)
        self.assertGreater(doc["mysql"]["connects"], 3)  # connected again
        self.assertGreater(doc["summary"]["successful"], 1000)

    def test_journey_mixing_http_and_sql_and_python(self):
        path = self.write("mix.toml", f"""
[connections]
db = "{self.db.url}"

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
  query = "REPLACE INTO stored (id, name) VALUES (?, ?)"
  params = ["${{id}}", "widget-${{id}}"]
  checks = ["rows >= 1"]
  [[scenarios.steps]]
  name = "read"
  action = "sql"
  query = "SELECT id, name FROM stored WHERE id = ?"
  params = ["${{id}}"]
  checks = ["rows == 1"]
  extract = {{ stored = "column:name" }}
  [[scenarios.steps]]
  name = "echo"
  url = "{self.target.url('/echo')}"
  method = "POST"
  body = "${{stored}}"
  checks = ['body contains "widget-"']
""")
        code, doc, err = run_cli(path, "-c", "2", "--iterations", "20")
        self.assertEqual(code, 0, err)
        self.assertEqual(doc["checks"]["overall_pass_rate"], 1.0, doc["checks"])
        self.assertEqual(doc["summary"]["failed"], 0)
        env = dict(os.environ, PYTHONPATH=os.path.abspath(BUILD_PYTHON))
        script = f"""
import loadspiker
e = loadspiker.Engine(worker_threads=1)
conn = e.database_connect({self.db.url!r})
r = e.database_query(conn, "SELECT id, name, price FROM items WHERE id = ?", [7])
assert r.success and r.rowcount == 1, r.error_message
assert r.rows == [{{"id": 7, "name": "item7", "price": 10.5}}], r.rows
bad = e.database_query("SELECT * FROM nope", connection=conn)  # the original API's form
assert bad.error_code == "42S02", bad.error_code
assert e.database_disconnect(conn)
print("OK")
"""
        p = subprocess.run(["/usr/bin/python3", "-c", script], capture_output=True, text=True,
                           env=env, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("OK", p.stdout)


if __name__ == "__main__":
    unittest.main()
