"""MQTT (mqtt://) against a real mosquitto started for this module on a free loopback port:
QoS 0/1/2 publishes counted by an independent subscriber (mosquitto_sub), the acknowledgement
flows, end-to-end latency from publish to receive with nothing lost, a known delay in a proxy
showing up in that latency within a millisecond, a broker killed and restarted mid-run, a
journey mixing MQTT and HTTP with extraction, bad input refused before anything is sent, and
the Python API and grid runner from the one registration."""
import json
import os
import subprocess
import tempfile
import time
import unittest

from helpers import LOADSPIKER, Target, run_cli
from mosquitto_server import DelayProxy, Mosquitto

BUILD_PYTHON = os.path.join(os.path.dirname(LOADSPIKER), "..", "..", "python")


class Mqtt(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.broker = Mosquitto()
        cls.target = Target(threads=1)
        cls.tmp = tempfile.mkdtemp(prefix="spiker-mqtt-test-")

    @classmethod
    def tearDownClass(cls):
        cls.broker.stop()
        cls.target.stop()

    def write(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_publish_counts_per_qos_match_a_subscriber(self):
        for qos, n in ((0, 500), (1, 1000), (2, 600)):
            sub = self.broker.subscriber(f"q{qos}/#", n)
            code, doc, err = run_cli(f"{self.broker.url}/q{qos}/${{VU_ID}}", "-b",
                                     "m-${REQUEST_ID}", "--qos", str(qos), "-c", "4", "-n",
                                     str(n))
            self.assertEqual(code, 0, err)
            out, _ = sub.communicate(timeout=60)
            self.assertEqual(len(out.splitlines()), n, f"QoS {qos}")
            self.assertEqual(doc["summary"]["total_requests"], n)
            self.assertEqual(doc["mqtt"]["published"], n)
            self.assertEqual(doc["mqtt"][f"published_qos{qos}"], n)
            self.assertEqual(doc["mqtt"]["acknowledged"], 0 if qos == 0 else n)
            self.assertLessEqual(doc["mqtt"]["connects"], 4)

    def test_end_to_end_latency_with_nothing_lost(self):
        code, doc, err = run_cli(f"{self.broker.url}/e2e/${{VU_ID}}", "-b", "x", "--qos", "1",
                                 "--subscribe", "e2e/#", "-c", "3", "-d", "2s")
        self.assertEqual(code, 0, err)
        m = doc["mqtt"]
        self.assertGreater(m["received"], 1000)
        self.assertEqual(m["received_timed"], m["received"])
        self.assertEqual((m["lost"], m["out_of_order"]), (0, 0))
        self.assertEqual(m["end_to_end_us"]["count"], m["received"])
        self.assertLess(m["end_to_end_us"]["p50"], 50000)

    def test_dedicated_subscribers_receive_what_the_publishers_send(self):
        code, doc, err = run_cli(f"{self.broker.url}/fan/${{VU_ID}}", "-b", "x", "--qos", "1",
                                 "--subscribe", "fan/#", "--subscribers", "2", "-c", "6", "-d",
                                 "2s")
        self.assertEqual(code, 0, err)
        m = doc["mqtt"]
        self.assertEqual(m["subscribes"], 2)  # only the two subscriber connections
        self.assertGreater(m["published"], 500)
        # Both subscribers get every message (a few may be in flight at the end), none lost.
        self.assertGreater(m["received"], 2 * m["published"] * 0.95)
        self.assertLessEqual(m["received"], 2 * m["published"])
        self.assertEqual((m["lost"], m["out_of_order"]), (0, 0))
        # Requests: the publishes (timed) and the subscribers' receives (counted, not timed).
        self.assertEqual(doc["latency_us"]["count"], m["published"])
        self.assertGreater(doc["summary"]["total_requests"], m["published"])
        code, doc, err = run_cli(self.broker.url + "/x", "-b", "x", "--subscribers", "2", "-n",
                                 "1")
        self.assertEqual(code, 2)
        self.assertIn("--subscribe FILTER", err)

    def test_a_known_delay_shows_in_end_to_end_latency(self):
        proxy = DelayProxy(self.broker.port, 0.050)  # the broker's messages to us: +50 ms
        try:
            code, doc, err = run_cli(f"mqtt://127.0.0.1:{proxy.port}/delay/${{VU_ID}}", "-b",
                                     "x", "--qos", "1", "--subscribe", "delay/#", "-c", "2",
                                     "--rate", "50", "-d", "2s")
            self.assertEqual(code, 0, err)
            e2e = doc["mqtt"]["end_to_end_us"]
            self.assertGreater(e2e["count"], 50)
            self.assertGreaterEqual(e2e["min"], 50000)
            self.assertLess(e2e["p50"], 51000 + 2000)  # the delay, within a millisecond or two
        finally:
            proxy.stop()

    def test_a_broker_killed_and_restarted_mid_run(self):
        broker = Mosquitto()
        try:
            p = subprocess.Popen([LOADSPIKER, "run", f"{broker.url}/k/${{VU_ID}}", "-b", "x",
                                  "--qos", "1", "-c", "2", "-d", "4s", "--json", "--timeout",
                                  "500ms"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True)
            time.sleep(1.2)
            broker.kill()
            time.sleep(0.8)
            broker.start()
            out, err = p.communicate(timeout=30)
            doc = json.loads(out)
            self.assertGreater(sum(doc["errors"].values()), 0, doc["errors"])
            self.assertGreater(doc["mqtt"]["connects"], 2)  # connected again
            self.assertGreater(doc["summary"]["successful"], 500)
        finally:
            broker.stop()

    def test_journey_mixing_mqtt_and_http(self):
        path = self.write("mix.toml", f"""
[connections]
broker = "{self.broker.url}"

[[scenarios]]
name = "mix"
  [[scenarios.steps]]
  name = "connect"
  action = "mqtt.connect"
  connection = "broker"
  client_id = "journey-${{VU_ID}}"
  once = true
  [[scenarios.steps]]
  name = "subscribe"
  action = "mqtt.subscribe"
  topic = "j/${{VU_ID}}"
  qos = 1
  once = true
  [[scenarios.steps]]
  name = "publish"
  action = "mqtt.publish"
  topic = "j/${{VU_ID}}"
  qos = 2
  body = "hello ${{ITERATION}}"
  [[scenarios.steps]]
  name = "receive"
  action = "mqtt.receive"
  match = 'body contains "hello"'
  timeout = "2s"
  checks = ['header topic contains "j/"']
  extract = {{ got = "body" }}
  [[scenarios.steps]]
  name = "echo"
  method = "POST"
  url = "{self.target.url('/echo')}"
  body = "${{got}}"
  checks = ['body contains "hello"']
""")
        code, doc, err = run_cli(path, "-c", "2", "--iterations", "20")
        self.assertEqual(code, 0, err)
        self.assertEqual(doc["checks"]["overall_pass_rate"], 1.0, doc["checks"])
        self.assertEqual(doc["mqtt"]["received"], 20)
        self.assertEqual(doc["mqtt"]["published_qos2"], 20)

    def test_bad_input_is_refused_before_sending(self):
        for url, args, message in (
                (self.broker.url, ["-b", "x", "--topic", "a/+/b"], "no wildcards"),
                (f"{self.broker.url}/a", ["-b", "x", "--qos", "3"], "0, 1 or 2"),
                (f"{self.broker.url}/a", ["-b", "x", "--clean", "false"], "client id"),
                (self.broker.url, ["-b", "x"], "needs a topic"),
                (f"{self.broker.url}/a", ["-b", "x", "--mqtt-version", "4.0"], "3.1.1 or 5")):
            code, doc, err = run_cli(url, *args, "-n", "1")
            self.assertEqual(code, 2, args)
            self.assertIn(message, err)

    def test_python_and_grid_reach_mqtt(self):
        sub = self.broker.subscriber("py/#", 3)
        env = dict(os.environ, PYTHONPATH=os.path.abspath(BUILD_PYTHON))
        script = f"""
import loadspiker
e = loadspiker.Engine(worker_threads=1)
assert e.mqtt_connect("127.0.0.1", {self.broker.port}, "py-client")
assert e.mqtt_subscribe("echo/py", qos=1)
assert e.mqtt_publish("py/a", "one", qos=1)
assert e.mqtt_publish("py/b", "two", qos=2)
assert e.mqtt_publish("echo/py", "back", qos=1)
m = e.mqtt_receive(timeout_ms=2000)
assert m.success and m.text == "back" and m.header("topic") == "echo/py", m
assert e.mqtt_disconnect()
s = loadspiker.MQTTScenario("127.0.0.1", {self.broker.port})
s.publish("py/s", "from-scenario", qos=1)
r = e.run_scenario(s, users=1, duration=None, iterations=1)
assert r["total_requests"] == 1 and r["failed_requests"] == 0, r
print("OK")
"""
        p = subprocess.run(["/usr/bin/python3", "-c", script], capture_output=True, text=True,
                           env=env, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        out, _ = sub.communicate(timeout=30)
        self.assertEqual(sorted(out.split()), ["from-scenario", "one", "two"])
        grid = self.write("mqtt.hcl", f"""
step "mqtt" "pub" {{
  arguments {{
    url    = "{self.broker.url}"
    action = "publish"
    topic  = "grid/x"
    body   = "from-grid"
    qos    = 1
  }}
}}
""")
        sub = self.broker.subscriber("grid/#", 1)
        p = subprocess.run([LOADSPIKER, "run", grid], capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        out, _ = sub.communicate(timeout=30)
        self.assertEqual(out.strip(), "from-grid")


if __name__ == "__main__":
    unittest.main()
