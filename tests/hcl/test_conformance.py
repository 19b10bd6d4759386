"""Our HCL evaluator against HCL's reference implementation (Go, Debian's
golang-github-hashicorp-hcl-v2-dev, built offline here): every corpus case gives the same value
or is rejected by both."""
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import compare  # noqa: E402
import corpus  # noqa: E402

HCL_EVAL = os.environ.get("HCL_EVAL", os.path.join(HERE, "..", "..", "build", "src", "hcl",
                                                   "hcl_eval"))


class Conformance(unittest.TestCase):
    def test_corpus_matches_the_reference(self):
        with tempfile.TemporaryDirectory() as tmp:
            reference = os.path.join(tmp, "reference")
            env = dict(os.environ, GO111MODULE="off", GOPATH="/usr/share/gocode",
                       GOCACHE=os.path.join(tmp, "gocache"), GOFLAGS="")
            p = subprocess.run(["go", "build", "-o", reference, os.path.join(HERE, "reference.go")],
                               capture_output=True, text=True, env=env, cwd=tmp)
            self.assertEqual(p.returncode, 0, "building HCL's reference failed (scripts/install-deps "
                             "installs golang-go and golang-github-hashicorp-hcl-v2-dev):\n" +
                             p.stderr)
            cases = os.path.join(tmp, "corpus.jsonl")
            with open(cases, "w") as f:
                subprocess.run([sys.executable, os.path.join(HERE, "corpus.py")], stdout=f,
                               check=True)
            ours, ref = os.path.join(tmp, "ours.jsonl"), os.path.join(tmp, "ref.jsonl")
            with open(ours, "w") as f:
                subprocess.run([HCL_EVAL, cases], stdout=f, check=True)
            with open(ref, "w") as f:
                subprocess.run([reference, cases], stdout=f, check=True)
            n, diffs = compare.compare(cases, ours, ref)
            self.assertGreaterEqual(n, 200)
            self.assertEqual(diffs, [], f"{len(diffs)} of {n} cases differ")
            print(f"{n} of {n} cases agree with HCL's reference implementation")


if __name__ == "__main__":
    unittest.main()
