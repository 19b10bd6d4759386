"""GraphQL over HTTP against a small Python server that counts operations: the CLI's
--graphql-query, journey steps with variables and extraction from data, errors in a 200
response failing the step (and counted by the check), the grid runner and the Python API."""
import json
import os
import subprocess
import tempfile
import unittest

from graphql_server import GraphQLServer
from helpers import LOADSPIKER, run_cli

BUILD_PYTHON = os.path.join(os.path.dirname(LOADSPIKER), "..", "..", "python")
GET = "query GetItem($id: Int!) { item(id: $id) { id name } }"


class GraphQL(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.gql = GraphQLServer()
        cls.tmp = tempfile.mkdtemp(prefix="spiker-graphql-")

    @classmethod
    def tearDownClass(cls):
        cls.gql.stop()

    def setUp(self):
        self.gql.counts.clear()

    def write(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_cli_query_counts_match(self):
        code, doc, err = run_cli(self.gql.url, "--graphql-query", GET, "--graphql-variables",
                                 '{"id": "${RANDOM_INT:1:9}"}', "--graphql-operation", "GetItem",
                                 "-c", "4", "-n", "400")
        self.assertEqual(code, 0, err)
        self.assertEqual(doc["summary"]["total_requests"], 400)
        self.assertEqual(self.gql.counts["GetItem"], 400)
        self.assertEqual(doc["checks"]["overall_pass_rate"], 1.0)

    def test_errors_in_a_200_response_fail_and_are_counted(self):
        code, doc, err = run_cli(self.gql.url, "--graphql-query", "query Broken { x }",
                                 "--graphql-operation", "Broken", "-c", "1", "-n", "20")
        self.assertEqual(self.gql.counts["Broken"], 20)
        self.assertEqual(doc["status_codes"], {"200": 20})  # errors inside 200 responses
        result = doc["checks"]["results"]["graphql: graphql.errors == 0"]
        self.assertEqual((result["passed"], result["total"]), (0, 20))
        self.assertEqual(doc["journeys"]["iterations_failed"], 20)
        self.assertEqual(code, 1)  # every iteration failed
        code, doc, err = run_cli(self.gql.url, "--graphql-query", "{ x }", "-b", "x", "-n", "1")
        self.assertEqual(code, 2)
        self.assertIn("remove -b", err)

    def test_journey_with_variables_and_extraction(self):
        path = self.write("g.toml", f"""
[[scenarios]]
name = "items"
  [[scenarios.steps]]
  name = "create"
  action = "graphql"
  url = "{self.gql.url}"
  query = "mutation CreateItem($name: String!) {{ createItem(name: $name) {{ id name }} }}"
  operation_name = "CreateItem"
  variables = {{ name = "widget-${{VU_ID}}" }}
  extract = {{ id = "json:$.data.createItem.id" }}
  [[scenarios.steps]]
  name = "read"
  action = "graphql"
  url = "{self.gql.url}"
  query = "{GET}"
  operation_name = "GetItem"
  variables = {{ id = "${{id}}" }}
  checks = ['json $.data.item.name exists', 'body contains "item-"']
""")
        code, doc, err = run_cli(path, "-c", "2", "--iterations", "10")
        self.assertEqual(code, 0, err)
        self.assertEqual((self.gql.counts["CreateItem"], self.gql.counts["GetItem"]), (10, 10))
        self.assertEqual(doc["checks"]["overall_pass_rate"], 1.0)

    def test_grid_and_python(self):
        grid = self.write("g.hcl", f"""
step "graphql" "get" {{
  arguments {{
    url            = "{self.gql.url}"
    query          = "{GET}"
    operation_name = "GetItem"
    variables      = {{ id = 5 }}
  }}
}}
step "print" "name" {{
  arguments {{ input = step.graphql.get.output.json.data.item.name }}
}}
step "graphql" "broken" {{
  arguments {{
    url            = "{self.gql.url}"
    query          = "query Broken {{ x }}"
    operation_name = "Broken"
  }}
  depends_on = ["name"]
}}
""")
        p = subprocess.run([LOADSPIKER, "run", grid], capture_output=True, text=True, timeout=60)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("[print.name] item-5", p.stdout)
        self.assertIn("GraphQL error", p.stdout + p.stderr)
        env = dict(os.environ, PYTHONPATH=os.path.abspath(BUILD_PYTHON))
        script = f"""
import loadspiker
e = loadspiker.Engine(worker_threads=1)
r = e.graphql({self.gql.url!r}, {GET!r}, variables={{"id": 3}}, operation_name="GetItem")
assert r.success and r.json()["data"]["item"]["name"] == "item-3" and r.graphql_errors == 0
b = e.graphql({self.gql.url!r}, "query Broken {{ x }}", operation_name="Broken")
assert b.graphql_errors == 1
s = loadspiker.Scenario("g")
s.graphql({self.gql.url!r}, {GET!r}, variables={{"id": "${{ITERATION}}"}}, operation_name="GetItem")
res = e.run_scenario(s, users=1, duration=None, iterations=5)
assert res["total_requests"] == 5 and res["failed_requests"] == 0, res
print("OK")
"""
        p = subprocess.run(["/usr/bin/python3", "-c", script], capture_output=True, text=True,
                           env=env, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.gql.counts["GetItem"], 1 + 1 + 5)


if __name__ == "__main__":
    unittest.main()
