"""Kafka (kafka://) against librdkafka's mock cluster (kafka_mock, built with the project: no
Kafka broker is packaged for Debian), read back with kcat: produced counts equal what the
cluster holds, delivery reports time the produce, a consumer group receives every stamped
message with its end-to-end latency and in order, a broker that is not there, bad input refused
before anything is sent, and the grid runner and Python API from the one registration."""
import json
import os
import subprocess
import tempfile
import time
import unittest

from helpers import LOADSPIKER, run_cli

BUILD = os.path.join(os.path.dirname(LOADSPIKER), "..", "..")
MOCK = os.path.join(BUILD, "src", "protocols", "kafka", "kafka_mock")
BUILD_PYTHON = os.path.join(BUILD, "python")


class Kafka(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.mock = subprocess.Popen([MOCK, "3", "orders:4", "e2e:4", "py:1", "grid:1", "backlog:1"],
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=subprocess.DEVNULL, text=True)
        cls.brokers = cls.mock.stdout.readline().strip()
        cls.first = cls.brokers.split(",")[0]
        cls.tmp = tempfile.mkdtemp(prefix="spiker-kafka-")

    @classmethod
    def tearDownClass(cls):
        cls.mock.stdin.close()
        cls.mock.wait(timeout=20)

    def read_back(self, topic):
        p = subprocess.run(["kcat", "-b", self.brokers, "-C", "-t", topic, "-e", "-q", "-f",
                            "%k=%s\\n"], capture_output=True, text=True, timeout=60)
        return p.stdout.splitlines()

    def test_produced_counts_match_the_cluster(self):
        code, doc, err = run_cli(f"kafka://{self.first}/orders", "-b", "order-${REQUEST_ID}",
                                 "--message-key", "k${VU_ID}", "--property", "linger.ms=1",
                                 "-c", "4", "-n", "2000")
        self.assertEqual(code, 0, err)
        self.assertEqual(doc["summary"]["total_requests"], 2000)
        self.assertEqual((doc["kafka"]["produced"], doc["kafka"]["delivered"]), (2000, 2000))
        lines = self.read_back("orders")
        self.assertEqual(len(lines), 2000)
        self.assertTrue(all(line.startswith("k") and "=order-" in line for line in lines))
        self.assertGreater(doc["latency_us"]["p50"], 0)  # produce to delivery report

    def test_consumer_group_end_to_end(self):
        # 10 s: a group's rebalance on a loaded machine may take seconds before both members
        # have their partitions. (Not -n 1000: a member done with its share of iterations would
        # keep the messages it fetched.)
        consumer = subprocess.Popen([LOADSPIKER, "run", f"kafka://{self.first}/e2e",
                                     "--consume", "true", "--group", "load", "-c", "2", "-d",
                                     "10s", "--timeout", "1s", "--json"],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(1.0)
        code, doc, err = run_cli(f"kafka://{self.first}/e2e", "-b", "m", "--timestamp", "true",
                                 "--property", "linger.ms=1", "-c", "2", "-n", "1000")
        self.assertEqual(code, 0, err)
        out, err = consumer.communicate(timeout=90)
        c = json.loads(out)["kafka"]
        self.assertEqual(c["consumed"], 1000)
        self.assertEqual(c["consumed_timed"], 1000)
        self.assertEqual(c["out_of_order"], 0)
        self.assertEqual(c["end_to_end_us"]["count"], 1000)
        self.assertGreater(c["end_to_end_us"]["p50"], 0)

    def test_consumer_lag_over_a_backlog(self):
        code, doc, err = run_cli(f"kafka://{self.first}/backlog", "-b", "old", "--property",
                                 "linger.ms=5", "-c", "4", "-n", "1000")
        self.assertEqual(code, 0, err)
        code, doc, err = run_cli(f"kafka://{self.first}/backlog", "--consume", "true", "--group",
                                 "late", "-c", "1", "-n", "1000", "--timeout", "5s")
        self.assertEqual(code, 0, err)
        lag = doc["kafka"]["lag"]
        # One partition, 1000 messages behind at the start, none at the end: the first consumed
        # was (almost) the whole backlog behind the partition's end, the last none.
        self.assertEqual(lag["count"], 1000)
        self.assertGreaterEqual(lag["max"], 900)
        self.assertEqual(lag["min"], 0)

    def test_a_broker_that_is_not_there_and_bad_input(self):
        code, doc, err = run_cli("kafka://127.0.0.1:1/t", "-b", "x", "-n", "2", "-c", "2",
                                 "--timeout", "1s")
        self.assertEqual(code, 1)
        self.assertEqual(doc["errors"].get("timeout"), 2, doc["errors"])
        for args, message in ((["-b", "x", "--property", "linger.ms=soon"], "linger.ms"),
                              (["-b", "x", "--group", "g"], "applies to consumers"),
                              (["-b", "x", "--property", "nope"], "NAME=VALUE")):
            code, doc, err = run_cli(f"kafka://{self.first}/orders", *args, "-n", "1")
            self.assertEqual(code, 2, args)
            self.assertIn(message, err)
        code, doc, err = run_cli(f"kafka://{self.first}", "-b", "x", "-n", "1")
        self.assertEqual(code, 2)
        self.assertIn("give the topic", err)

    def test_python_and_grid(self):
        env = dict(os.environ, PYTHONPATH=os.path.abspath(BUILD_PYTHON))
        script = f"""
import loadspiker
e = loadspiker.Engine(worker_threads=1)
e.kafka_brokers = {self.brokers!r}
r = e.kafka_publish(topic="py", message="from-python", key="k1")
assert r.success, r.error_message
print("OK")
"""
        p = subprocess.run(["/usr/bin/python3", "-c", script], capture_output=True, text=True,
                           env=env, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.read_back("py"), ["k1=from-python"])
        grid = os.path.join(self.tmp, "k.hcl")
        with open(grid, "w") as f:
            f.write(f"""
step "kafka" "produce" {{
  arguments {{
    url    = "kafka://{self.first}/grid"
    action = "produce"
    key    = "g"
    body   = "from-grid"
  }}
}}
""")
        p = subprocess.run([LOADSPIKER, "run", grid], capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(self.read_back("grid"), ["g=from-grid"])


if __name__ == "__main__":
    unittest.main()
