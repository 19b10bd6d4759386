"""MongoDB (mongodb://) against mongo_fake.py, a wire-level stand-in built on pymongo's `bson`
module (no MongoDB server is packaged for Debian): it speaks OP_MSG, checks every message it
receives and counts commands by name. Counts on both sides, find / insert / update / aggregate
/ command, SCRAM-SHA-256 verified by the server's own computation, a wrong password, duplicate
keys checked with `error ==`, a stalled server, a server that is gone, a journey mixing HTTP and
MongoDB with extraction, bad input refused before anything is sent, the grid runner and the
Python API."""
import json
import os
import subprocess
import tempfile
import unittest

from helpers import LOADSPIKER, Target, run_cli
from mongo_fake import FakeMongo

BUILD_PYTHON = os.path.join(os.path.dirname(LOADSPIKER), "..", "..", "python")


class Mongo(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.mongo = FakeMongo(0)
        cls.secure = FakeMongo(0, users={"app": "s3cret-mongo"})
        for i in range(1, 101):
            cls.mongo.collection("shop", "items").append(
                {"_id": i, "id": i, "name": f"item{i}", "price": i * 2})
        cls.url = f"mongodb://127.0.0.1:{cls.mongo.port}/shop"
        cls.target = Target(threads=1)
        cls.tmp = tempfile.mkdtemp(prefix="spiker-mongo-test-")

    @classmethod
    def tearDownClass(cls):
        cls.mongo.stop()
        cls.secure.stop()
        cls.target.stop()

    def setUp(self):
        self.mongo.counts.clear()

    def tearDown(self):
        self.assertEqual(self.mongo.problems + self.secure.problems, [])

    def write(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_find_counts_match_the_server(self):
        code, doc, err = run_cli(self.url, "--collection", "items", "--find",
                                 '{"id": ${RANDOM_INT:1:100}}', "-c", "4", "-n", "2000")
        self.assertEqual(code, 0, err)
        self.assertEqual(doc["summary"]["total_requests"], 2000)
        self.assertEqual(self.mongo.counts["find"], 2000)
        self.assertEqual(doc["mongo"]["documents_returned"], 2000)
        self.assertGreater(doc["summary"]["bytes_received"], 2000 * 50)

    def test_insert_update_aggregate_and_command(self):
        code, doc, err = run_cli(self.url, "--collection", "orders", "--insert",
                                 '{"_id": ${REQUEST_ID}, "qty": ${RANDOM_INT:1:9}}', "-c", "2",
                                 "-n", "50")
        self.assertEqual(code, 0, err)
        self.assertEqual(len(self.mongo.collection("shop", "orders")), 50)
        self.assertEqual(doc["mongo"]["documents_written"], 50)
        code, doc, err = run_cli(self.url, "--collection", "items", "--update",
                                 '{"$inc": {"views": 1}}', "--filter", '{"id": 5}', "-c", "1",
                                 "-n", "30")
        self.assertEqual(code, 0, err)
        item5 = [d for d in self.mongo.collection("shop", "items") if d["id"] == 5][0]
        self.assertEqual(item5["views"], 30)
        path = self.write("agg.toml", f"""
[[scenarios]]
name = "agg"
  [[scenarios.steps]]
  name = "count"
  action = "mongo"
  url = "{self.url}"
  collection = "items"
  aggregate = '[{{"$match": {{"price": {{"$gt": 100}}}}}}, {{"$count": "n"}}]'
  checks = ["rows == 1", "json $[0].n == 50"]
  [[scenarios.steps]]
  name = "ping"
  action = "mongo"
  command = '{{"ping": 1}}'
  checks = ["json $.ok == 1"]
""")
        code, doc, err = run_cli(path, "-c", "1", "--iterations", "5")
        self.assertEqual(code, 0, err)
        self.assertEqual(doc["checks"]["overall_pass_rate"], 1.0, doc["checks"])
        self.assertEqual((self.mongo.counts["aggregate"], self.mongo.counts["ping"]), (5, 5))

    def test_scram_authentication_and_a_wrong_password(self):
        url = f"mongodb://app:s3cret-mongo@127.0.0.1:{self.secure.port}/shop"
        code, doc, err = run_cli(url, "--collection", "c", "--insert", '{"x": 1}', "-c", "3",
                                 "-n", "60")
        self.assertEqual(code, 0, err)
        self.assertEqual(self.secure.counts["insert"], 60)
        self.assertEqual(self.secure.counts["saslStart"], doc["mongo"]["authentications"])
        self.assertLessEqual(doc["mongo"]["authentications"], 3)  # once per connection
        self.assertNotIn("s3cret-mongo", json.dumps(doc))
        code, doc, err = run_cli(url.replace("s3cret-mongo", "wrong-pw"), "--collection", "c",
                                 "--find", "{}", "-n", "4")
        self.assertEqual(code, 1)
        self.assertEqual(doc["mongo"]["errors_auth"], 4)
        self.assertNotIn("wrong-pw", json.dumps(doc) + err)
        code, doc, err = run_cli(url.replace("app:s3cret-mongo@", ""), "--collection", "c",
                                 "--find", "{}", "-n", "2")
        self.assertEqual(doc["mongo"]["errors_auth"], 2)  # 13 Unauthorized without a user

    def test_duplicate_keys_stall_and_a_server_that_is_gone(self):
        path = self.write("dup.toml", f"""
[connections]
mongo = "{self.url}"
[[scenarios]]
name = "dup"
  [[scenarios.steps]]
  name = "a"
  action = "mongo"
  connection = "mongo"
  command = '{{"ping": 1}}'
  [[scenarios.steps]]
  name = "b"
  action = "mongo"
  command = '{{"ping": 1}}'
  [[scenarios.steps]]
  name = "again"
  action = "mongo"
  collection = "items"
  insert = '{{"_id": 1, "name": "again"}}'
  checks = ['error == "11000"']
""")
        code, doc, err = run_cli(path, "-c", "1", "--iterations", "4")
        self.assertEqual(code, 0, err)
        self.assertEqual(doc["mongo"]["errors_11000_duplicate_key"], 4)
        self.assertEqual(doc["checks"]["overall_pass_rate"], 1.0)
        code, doc, err = run_cli(self.url, "--command", '{"sleep": 1, "ms": 2000}', "-n", "2",
                                 "-c", "2", "--timeout", "300ms")
        self.assertEqual(doc["errors"].get("timeout"), 2, doc["errors"])
        code, doc, err = run_cli("mongodb://127.0.0.1:1/x", "--command", '{"ping": 1}', "-n",
                                 "3")
        self.assertEqual(doc["errors"].get("refused"), 3, doc["errors"])

    def test_bad_input_is_refused_before_sending(self):
        for args, message in (
                (["--collection", "items", "--find", "{not json"], "must be a JSON object"),
                (["--find", "{}"], "needs --collection"),
                (["--collection", "i", "--find", "{}", "--insert", "{}"], "give one of"),
                (["--collection", "i", "--aggregate", '{"$match": {}}'], "JSON array"),
                (["--collection", "i"], "give the operation")):
            code, doc, err = run_cli(self.url, *args, "-n", "1")
            self.assertEqual(code, 2, args)
            self.assertIn(message, err)
        self.assertEqual(sum(self.mongo.counts.values()), 0)

    def test_journey_mixing_http_and_mongo_grid_and_python(self):
        path = self.write("mix.toml", f"""
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
  action = "mongo"
  url = "{self.url}"
  collection = "made"
  insert = '{{"_id": ${{id}}, "name": "widget-${{id}}"}}'
  [[scenarios.steps]]
  name = "read"
  action = "mongo"
  collection = "made"
  find = '{{"_id": ${{id}}}}'
  checks = ["documents == 1"]
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
        self.assertEqual(len(self.mongo.collection("shop", "made")), 20)
        grid = self.write("mongo.hcl", f"""
step "mongo" "find" {{
  arguments {{
    url        = "{self.url}"
    collection = "items"
    find       = jsonencode({{ id = 42 }})
  }}
}}
step "print" "got" {{
  arguments {{ input = step.mongo.find.output.body }}
}}
""")
        p = subprocess.run([LOADSPIKER, "run", grid], capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn('"name" : "item42"', p.stdout)
        env = dict(os.environ, PYTHONPATH=os.path.abspath(BUILD_PYTHON))
        script = f"""
import loadspiker
e = loadspiker.Engine(worker_threads=1)
r = e.mongo_find({self.url!r}, "items", {{"id": 7}})
assert r.success and r.rowcount == 1 and r.json()[0]["name"] == "item7", r.text
r = e.mongo_insert({self.url!r}, "py", {{"_id": 1, "v": "x"}})
assert r.success and r.rowcount == 1, r.error_message
r = e.mongo_insert({self.url!r}, "py", {{"_id": 1, "v": "x"}})
assert not r.success and r.error_code == "11000", r.error_code
assert e.mongo_command({self.url!r}, {{"ping": 1}}).json()["ok"] == 1
print("OK")
"""
        p = subprocess.run(["/usr/bin/python3", "-c", script], capture_output=True, text=True,
                           env=env, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)


if __name__ == "__main__":
    unittest.main()
