"""Every file in examples/ validates, and runs for a moment against the embedded target with
no failed request, check or step."""
import glob
import os
import subprocess
import unittest

from helpers import LOADSPIKER, TargetTestCase, run_cli

EXAMPLES = sorted(glob.glob(os.path.join(os.path.dirname(__file__), "..", "..", "examples",
                                         "*.toml")))


class Examples(TargetTestCase):
    def test_there_are_examples(self):
        self.assertGreaterEqual(len(EXAMPLES), 5)

    def test_each_validates_and_runs(self):
        env = dict(os.environ, TARGET=f"http://127.0.0.1:{self.target.port}",
                   WS_TARGET=f"ws://127.0.0.1:{self.target.port}",
                   TCP_TARGET=f"tcp://127.0.0.1:{self.target.tcp_port}",
                   UDP_TARGET=f"udp://127.0.0.1:{self.target.udp_port}")
        for path in EXAMPLES:
            with self.subTest(example=os.path.basename(path)):
                p = subprocess.run([LOADSPIKER, "validate", path], capture_output=True, text=True,
                                   timeout=10, env=env)
                self.assertEqual(p.returncode, 0, p.stderr)
                # A short run: stages keep their shape, the rest runs 1 s.
                args = [] if "stages" in path else ["-d", "1s", "--warmup", "100ms"]
                rc, doc, err = run_cli(path, *args, timeout=60, env=env)
                self.assertEqual(rc, 0, err)
                self.assertEqual(doc["errors"], {}, path)
                self.assertGreater(doc["summary"]["total_requests"], 10)
                self.assertEqual(doc["summary"]["failed"], 0)
                if "journeys" in doc:
                    # /me, /cart answer 401 without the token or cookie a step extracted, and
                    # /items/{id} 404 for an id that was not created: no failure means the
                    # values flowed from step to step.
                    self.assertEqual(doc["journeys"]["checks_failed"], 0, path)
                    self.assertEqual(doc["journeys"]["iterations_failed"], 0, path)
                    self.assertEqual(doc["journeys"]["steps_skipped"], 0, path)
                    self.assertGreater(doc["journeys"]["iterations"], 0, path)


if __name__ == "__main__":
    unittest.main()
