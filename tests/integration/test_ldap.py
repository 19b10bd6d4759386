"""LDAP (ldap://) against a real slapd started for this module on a free loopback port with a
seeded directory: operations counted in slapd's statistics log, search entries checked and
extracted, add / modify / delete with a bound connection, result codes counted and checked
(no such object, invalid credentials, already exists), a stopped server, bad input refused
before anything is sent, and the grid runner and Python API from the one registration."""
import json
import os
import subprocess
import tempfile
import unittest

from helpers import LOADSPIKER, run_cli
from slapd_server import SlapdServer

BUILD_PYTHON = os.path.join(os.path.dirname(LOADSPIKER), "..", "..", "python")


class Ldap(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ldap = SlapdServer(users=100)
        cls.tmp = tempfile.mkdtemp(prefix="spiker-ldap-test-")

    @classmethod
    def tearDownClass(cls):
        cls.ldap.stop()

    def write(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_search_counts_match_the_servers_log(self):
        before = self.ldap.operations("SRCH")
        code, doc, err = run_cli(self.ldap.url, "--base", "ou=people,dc=test", "--filter",
                                 "(uid=user${RANDOM_INT:1:100})", "--attributes", "cn,mail",
                                 "-c", "4", "-n", "2000")
        self.assertEqual(code, 0, err)
        self.assertEqual(doc["summary"]["total_requests"], 2000)
        self.assertEqual(doc["ldap"]["searches"], 2000)
        self.assertEqual(doc["ldap"]["entries"], 2000)  # one user each
        self.assertEqual(self.ldap.operations("SRCH") - before, 2000)
        self.assertGreater(doc["summary"]["bytes_received"], 2000 * 30)

    def test_journey_add_search_modify_delete(self):
        path = self.write("dir.toml", f"""
[connections]
dir = "{self.ldap.url}"

[[scenarios]]
name = "entry"
  [[scenarios.steps]]
  name = "add"
  action = "ldap"
  connection = "dir"
  operation = "add"
  bind_dn = "{SlapdServer.ADMIN}"
  bind_password = "{SlapdServer.PASSWORD}"
  dn = "uid=load${{VU_ID}}-${{ITERATION}},ou=people,dc=test"
  attribute = ["objectClass=inetOrgPerson", "cn=Load ${{VU_ID}}", "sn=Loaded"]
  [[scenarios.steps]]
  name = "find"
  action = "ldap"
  base = "ou=people,dc=test"
  filter = "(uid=load${{VU_ID}}-${{ITERATION}})"
  bind_dn = "{SlapdServer.ADMIN}"
  bind_password = "{SlapdServer.PASSWORD}"
  checks = ["entries == 1", 'json $[0].sn == "Loaded"']
  extract = {{ found = "column:dn" }}
  [[scenarios.steps]]
  name = "rename"
  action = "ldap"
  operation = "modify"
  bind_dn = "{SlapdServer.ADMIN}"
  bind_password = "{SlapdServer.PASSWORD}"
  dn = "${{found}}"
  attribute = ["sn=Modified"]
  [[scenarios.steps]]
  name = "remove"
  action = "ldap"
  operation = "delete"
  bind_dn = "{SlapdServer.ADMIN}"
  bind_password = "{SlapdServer.PASSWORD}"
  dn = "${{found}}"
""")
        before = {k: self.ldap.operations(k) for k in ("ADD", "MOD", "DEL")}
        code, doc, err = run_cli(path, "-c", "2", "--iterations", "10")
        self.assertEqual(code, 0, err)
        self.assertEqual(doc["checks"]["overall_pass_rate"], 1.0, doc["checks"])
        self.assertEqual(doc["summary"]["failed"], 0)
        after = {k: self.ldap.operations(k) - before[k] for k in before}
        self.assertEqual(after, {"ADD": 10, "MOD": 10, "DEL": 10})
        self.assertEqual(self.ldap.search("ou=people,dc=test", "(uid=load*)"), [])
        self.assertNotIn(SlapdServer.PASSWORD, json.dumps(doc))

    def test_result_codes_are_counted_and_checked(self):
        code, doc, err = run_cli(self.ldap.url, "--base", "ou=nowhere,dc=test", "-n", "5")
        self.assertEqual(code, 1)
        self.assertEqual(doc["ldap"]["errors_32_no_such_object"], 5)
        code, doc, err = run_cli(self.ldap.url, "--operation", "bind", "--dn",
                                 SlapdServer.ADMIN, "--password", "wrong-pw", "-n", "4")
        self.assertEqual(doc["ldap"]["errors_49_invalid_credentials"], 4)
        self.assertNotIn("wrong-pw", json.dumps(doc) + err)
        path = self.write("exists.toml", f"""
[[scenarios]]
name = "again"
  [[scenarios.steps]]
  name = "ok"
  action = "ldap"
  url = "{self.ldap.url}"
  base = "dc=test"
  scope = "base"
  [[scenarios.steps]]
  name = "ok2"
  action = "ldap"
  base = "dc=test"
  scope = "base"
  [[scenarios.steps]]
  name = "add-existing"
  action = "ldap"
  operation = "add"
  bind_dn = "{SlapdServer.ADMIN}"
  bind_password = "{SlapdServer.PASSWORD}"
  dn = "uid=user1,ou=people,dc=test"
  attribute = ["objectClass=inetOrgPerson", "cn=x", "sn=y"]
  checks = ['error == "68"']
""")
        code, doc, err = run_cli(path, "-c", "1", "--iterations", "3")
        self.assertEqual(code, 0, err)
        self.assertEqual(doc["ldap"]["errors_68_already_exists"], 3)
        self.assertEqual(doc["checks"]["overall_pass_rate"], 1.0)

    def test_a_server_that_is_gone_and_bad_input(self):
        code, doc, err = run_cli("ldap://127.0.0.1:1", "--base", "dc=test", "-n", "3")
        self.assertEqual(code, 1)
        self.assertEqual(doc["errors"].get("refused"), 3, doc["errors"])
        before = self.ldap.operations("SRCH")
        for args, message in ((["--filter", "(uid=x)"], "needs a base"),
                              (["--operation", "rename", "--dn", "x"], "use search, bind"),
                              (["--operation", "add", "--dn", "uid=x"], "needs attributes"),
                              (["--base", "dc=test", "--scope", "deep"], "use base, one or sub"),
                              (["--base", "dc=test", "--attribute", "cn"], "NAME=VALUE")):
            code, doc, err = run_cli(self.ldap.url, *args, "-n", "1")
            self.assertEqual(code, 2, args)
            self.assertIn(message, err)
        self.assertEqual(self.ldap.operations("SRCH"), before)

    def test_grid_and_python_reach_ldap(self):
        grid = self.write("ldap.hcl", f"""
step "ldap" "find" {{
  arguments {{
    url    = "{self.ldap.url}"
    base   = "ou=people,dc=test"
    filter = "(uid=user42)"
  }}
}}
step "print" "got" {{
  arguments {{ input = step.ldap.find.output.body }}
}}
""")
        p = subprocess.run([LOADSPIKER, "run", grid], capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn('"cn":"User 42"', p.stdout)
        env = dict(os.environ, PYTHONPATH=os.path.abspath(BUILD_PYTHON))
        script = f"""
import json, loadspiker
e = loadspiker.Engine(worker_threads=1)
r = e.ldap_search({self.ldap.url!r}, base="ou=people,dc=test", filter="(uid=user7)")
assert r.success and r.rowcount == 1, r.error_message
assert r.json()[0]["mail"] == "user7@test", r.text
print("OK")
"""
        p = subprocess.run(["/usr/bin/python3", "-c", script], capture_output=True, text=True,
                           env=env, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)


if __name__ == "__main__":
    unittest.main()
