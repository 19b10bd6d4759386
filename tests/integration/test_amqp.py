"""AMQP 0-9-1 (amqp://) against a real RabbitMQ node started for this module (about 10 s, so
one): publishes confirmed by the broker counted in its queues by rabbitmqctl, fire-and-forget
publishes too, per-connection subscriptions with end-to-end latency and nothing lost, a journey
declaring, consuming and receiving with checks, the broker's refusals (no such exchange, a bad
login) counted by their reply code, bad input refused before anything is sent, and the Python
API and the rabbitmq grid runner from the one registration."""
import json
import os
import subprocess
import tempfile
import time
import unittest

from helpers import LOADSPIKER, run_cli
from rabbitmq_server import RabbitMQ

BUILD_PYTHON = os.path.join(os.path.dirname(LOADSPIKER), "..", "..", "python")


class Amqp(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.broker = RabbitMQ()
        cls.tmp = tempfile.mkdtemp(prefix="spiker-amqp-test-")

    @classmethod
    def tearDownClass(cls):
        cls.broker.stop()

    def write(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def queue_count(self, name, want, wait=10):
        """The queue's ready messages once it holds `want` (or after `wait` seconds)."""
        deadline = time.time() + wait
        while True:
            n = self.broker.queues().get(name, 0)
            if n >= want or time.time() > deadline:
                return n
            time.sleep(0.3)

    def test_confirmed_publishes_are_all_in_the_queue(self):
        code, doc, err = run_cli(self.broker.url, "--queue", "confirmed", "-b",
                                 "order ${REQUEST_ID}", "-c", "4", "-n", "2000")
        self.assertEqual(code, 0, err)
        a = doc["amqp"]
        self.assertEqual((a["published"], a["confirmed"], a["nacked"]), (2000, 2000, 0))
        self.assertEqual(doc["summary"]["total_requests"], 2000)
        self.assertEqual(doc["metadata"]["load"]["protocol"], "amqp")
        # Confirmed means in the queue: the broker's own count, at once.
        self.assertEqual(self.broker.queues()["confirmed"], 2000)
        code, doc, err = run_cli(self.broker.url, "--queue", "unconfirmed", "--confirm", "false",
                                 "-b", "x", "-c", "2", "-n", "500")
        self.assertEqual(code, 0, err)
        self.assertEqual(doc["amqp"]["published"], 500)
        self.assertEqual(self.queue_count("unconfirmed", 500), 500)

    def test_subscriptions_measure_end_to_end_latency_with_nothing_lost(self):
        code, doc, err = run_cli(self.broker.url, "--exchange", "amq.topic", "--routing-key",
                                 "e2e.${VU_ID}", "--subscribe", "e2e.#", "-b", "reading", "-c",
                                 "3", "-d", "2s")
        self.assertEqual(code, 0, err)
        a = doc["amqp"]
        self.assertGreater(a["published"], 500)
        self.assertEqual(a["consumers"], 3)
        # Each of the 3 connections gets every message; a few may be in flight at the end.
        self.assertGreater(a["received"], 3 * a["published"] * 0.95)
        self.assertLessEqual(a["received"], 3 * a["published"])
        self.assertEqual(a["received_timed"], a["received"])
        self.assertEqual((a["lost"], a["out_of_order"]), (0, 0))
        self.assertEqual(a["end_to_end_us"]["count"], a["received"])
        self.assertGreater(a["end_to_end_us"]["p50"], 0)

    def test_journey_declares_consumes_and_receives(self):
        path = self.write("orders.toml", f"""
[connections]
mq = "{self.broker.url}"

[[scenarios]]
name = "orders"
  [[scenarios.steps]]
  # The broker closes the channel (and we the connection): the steps after open a new one.
  name = "missing"
  action = "amqp.publish"
  connection = "mq"
  exchange = "no-such-exchange"
  routing_key = "x"
  body = "lost"
  once = true
  checks = ['error == "404"']
  [[scenarios.steps]]
  name = "declare"
  action = "amqp.declare"
  exchange = "shop"
  exchange_type = "direct"
  queue = "inbox-${{VU_ID}}"
  routing_key = "vu-${{VU_ID}}"
  once = true
  checks = ['header queue contains "inbox-"']
  [[scenarios.steps]]
  name = "consume"
  action = "amqp.consume"
  queue = "inbox-${{VU_ID}}"
  once = true
  [[scenarios.steps]]
  name = "publish"
  action = "amqp.publish"
  exchange = "shop"
  routing_key = "vu-${{VU_ID}}"
  body = "order ${{ITERATION}} for ${{VU_ID}}"
  extract = {{ vu = "body" }}
  [[scenarios.steps]]
  name = "receive"
  action = "amqp.receive"
  match = 'body contains "order"'
  timeout = "2s"
  checks = ['header routing_key contains "vu-"', 'header exchange == "shop"']
""")
        code, doc, err = run_cli(path, "-c", "3", "-n", "30")
        self.assertEqual(code, 0, err)
        j = doc["journeys"]
        self.assertEqual((j["iterations"], j["iterations_failed"], j["checks_failed"]), (30, 0, 0))
        a = doc["amqp"]
        self.assertEqual((a["published"], a["received"]), (33, 30))
        self.assertEqual(a["channel_errors"], 3)  # the publish to no exchange, once per VU
        # Every message was consumed and acknowledged: the queues are empty.
        queues = self.broker.queues()
        self.assertEqual([queues[f"inbox-{v}"] for v in (1, 2, 3)], [0, 0, 0])

    def test_broker_refusals_are_counted_by_reply_code(self):
        code, doc, err = run_cli(self.broker.url, "--exchange", "nope", "--routing-key", "k",
                                 "-b", "x", "-n", "4")
        self.assertEqual(code, 1)
        self.assertEqual(doc["summary"]["failed"], 4)
        self.assertEqual(doc["amqp"]["channel_errors"], 4)
        self.assertEqual(doc["errors"], {})  # answered (404), not a transport failure
        bad = self.broker.url.replace("guest:guest", "guest:wrong")
        code, doc, err = run_cli(bad, "--queue", "q", "-b", "x", "-n", "2", "--timeout", "10s")
        self.assertEqual(code, 1)
        self.assertEqual((doc["summary"]["failed"], doc["amqp"]["channel_errors"]), (2, 2))
        self.assertEqual(doc["amqp"]["published"], 0)

    def test_bad_input_is_refused_before_anything_is_sent(self):
        cases = [
            ([], "needs somewhere to go"),
            (["--subscribe", "a.#", "--queue", "q"], "--exchange"),
            (["--queue", "q", "--exchange-type", "fan"], "direct, fanout, topic or headers"),
            (["--queue", "q", "--confirm", "maybe"], "true or false"),
            (["--queue", "q", "--qos", "1"], "--qos does not apply"),
        ]
        for args, message in cases:
            code, doc, err = run_cli(self.broker.url, *args, "-b", "x", "-n", "1")
            self.assertEqual(code, 2, (args, err))
            self.assertIn(message, err, args)

    def test_python_and_grid_reach_amqp(self):
        env = dict(os.environ, PYTHONPATH=os.path.abspath(BUILD_PYTHON))
        url = self.broker.url
        script = f"""
import loadspiker
e = loadspiker.Engine(worker_threads=1)
r = e.amqp_declare("{url}", queue="py-q")
assert r.success and r.header("queue") == "py-q", r
assert e.amqp_publish("{url}", "from-python", queue="py-q").success
assert e.amqp_publish("{url}", "again", routing_key="py-q").success
print("OK")
"""
        p = subprocess.run(["/usr/bin/python3", "-c", script], capture_output=True, text=True,
                           env=env, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(self.queue_count("py-q", 2), 2)
        grid = self.write("mq.hcl", f"""
step "rabbitmq" "declare" {{
  arguments {{
    url    = "{url}"
    action = "declare"
    queue  = "grid-q"
  }}
}}
step "rabbitmq" "publish" {{
  arguments {{
    url    = "{url}"
    action = "publish"
    queue  = "grid-q"
    body   = "from-grid"
  }}
  depends_on = ["rabbitmq.declare"]
}}
""")
        p = subprocess.run([LOADSPIKER, "run", grid], capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(self.queue_count("grid-q", 1), 1)


if __name__ == "__main__":
    unittest.main()
