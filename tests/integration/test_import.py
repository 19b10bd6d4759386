"""`loadspiker import`: a HAR recording, a Postman collection and an OpenAPI document become
test files that `validate` accepts and that run against the embedded target with every check
passing (so headers, bodies, cookies and variables came through)."""
import json
import os
import subprocess
import tempfile
import unittest

from helpers import LOADSPIKER, TargetTestCase, run_cli


def cli(*args, env=None, timeout=60):
    return subprocess.run([LOADSPIKER, *args], capture_output=True, text=True, timeout=timeout,
                          env=env)


class Import(TargetTestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="spiker-import-")

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text if isinstance(text, str) else json.dumps(text))
        return path

    def imported(self, source, *flags, env=None):
        out = os.path.join(self.dir, os.path.basename(source) + ".toml")
        p = cli("import", source, "-o", out, *flags, env=env)
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(out) as f:
            text = f.read()
        self.assertTrue(text.startswith("# LoadSpiker test imported from"), text[:200])
        p = cli("validate", out, env=env)
        self.assertEqual(p.returncode, 0, p.stderr)
        return out, text

    def runs_clean(self, path, env=None):
        rc, doc, err = run_cli(path, "-c", "2", "-d", "1s", env=env, timeout=30)
        self.assertEqual(rc, 0, err)
        j = doc["journeys"]
        self.assertGreater(j["iterations"], 5)
        self.assertEqual(j["checks_failed"], 0, doc.get("checks"))
        self.assertEqual(j["iterations_failed"], 0)
        self.assertEqual(j["steps_skipped"], 0)
        return doc

    def test_har_recording_runs_with_cookies_and_without_static_assets(self):
        base = self.target.url("").rstrip("/")
        entry = lambda method, path, status, headers=(), body=None, mime="application/json": {
            "request": {"method": method, "url": base + path,
                        "headers": [{"name": k, "value": v} for k, v in headers],
                        **({"postData": {"mimeType": "application/json", "text": body}}
                           if body else {})},
            "response": {"status": status, "content": {"mimeType": mime}}, "time": 12.5}
        har = {"log": {"version": "1.2", "creator": {"name": "Chrome"}, "entries": [
            entry("POST", "/login", 200, [("Content-Type", "application/json"),
                                          (":authority", "x"), ("Host", "x")],
                  '{"username": "alice", "note": "${not_a_variable}"}'),
            entry("GET", "/static/app.js", 200, mime="application/javascript"),
            entry("GET", "/logo.png", 200, mime="image/png"),
            # The recorded cookie is stale; the jar sends the one /login just set.
            entry("GET", "/me", 200, [("Cookie", "session=recorded-and-stale")]),
            entry("POST", "/items", 201, [("Content-Type", "application/json")], '{"n": 1}'),
            entry("GET", "/items", 200),
        ]}}
        source = self.write("shop.har", har)
        out, text = self.imported(source)
        self.assertEqual(text.count("[[scenarios.steps]]"), 4)  # the two assets left out
        self.assertNotIn("app.js", text)
        self.assertNotIn("recorded-and-stale", text)
        self.assertNotIn(":authority", text)
        self.assertIn("$${not_a_variable}", text)  # recorded text stays literal
        self.assertIn("cookie_jar = true", text)
        self.runs_clean(out)
        # --filter keeps what matches; --keep-static keeps the assets.
        p = cli("import", source, "--filter", "/items")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.count("[[scenarios.steps]]"), 2)
        p = cli("import", source, "--keep-static")
        self.assertEqual(p.stdout.count("[[scenarios.steps]]"), 6)

    def test_postman_collection_folders_variables_and_auth(self):
        collection = {
            "info": {"name": "Shop", "_postman_id": "1",
                     "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"},
            "variable": [{"key": "baseUrl", "value": "http://127.0.0.1:9"},
                         {"key": "user", "value": "bob"}],
            "auth": {"type": "apikey", "apikey": [{"key": "key", "value": "X-Api-Key"},
                                                  {"key": "value", "value": "k-123"}]},
            "item": [
                {"name": "auth", "item": [
                    {"name": "login", "request": {
                        "method": "POST", "url": "{{baseUrl}}/login",
                        "header": [{"key": "Content-Type", "value": "application/json"}],
                        "body": {"mode": "raw", "raw": "{\"username\": \"{{user}}\"}"}}},
                    {"name": "me", "request": {"method": "GET", "url": {
                        "raw": "{{baseUrl}}/me", "host": ["{{baseUrl}}"], "path": ["me"]}}},
                ]},
                {"name": "items", "item": [
                    {"name": "create", "request": {
                        "method": "POST", "url": "{{baseUrl}}/items?rid={{$guid}}",
                        "body": {"mode": "urlencoded",
                                 "urlencoded": [{"key": "name", "value": "{{user}}"}]}}},
                    {"name": "echo", "request": {
                        "method": "GET", "url": "{{baseUrl}}/echo",
                        "auth": {"type": "bearer", "bearer": [{"key": "token", "value": "t0k"}]}}},
                ]},
            ]}
        source = self.write("shop.postman.json", collection)
        env = dict(os.environ, baseUrl=self.target.url("").rstrip("/"))
        out, text = self.imported(source, env=env)
        self.assertIn('name = "auth"', text)
        self.assertIn('name = "items"', text)
        self.assertIn("${baseUrl:-http://127.0.0.1:9}/login", text)
        self.assertIn("${UUID}", text)
        self.assertIn('\\"username\\": \\"bob\\"', text)  # an all-lower-case variable: its value
        self.assertIn("Bearer t0k", text)
        self.assertIn("X-Api-Key", text)
        doc = self.runs_clean(out, env=env)
        # The cookie from "auth/login" reached "auth/me" (it answers 401 without it).
        steps = {s["name"]: s for s in doc["journeys"]["steps"]}
        self.assertEqual(steps["auth/me"]["failed"], 0)
        self.assertGreater(steps["auth/me"]["requests"], 0)

    def test_openapi_yaml_one_step_per_operation(self):
        spec = """openapi: 3.0.3
info:
  title: Shop API
  version: "1"
servers:
  - url: http://{host}:9/
    variables:
      host:
        default: 127.0.0.1
paths:
  /json:
    get:
      operationId: getJson
      tags: [read]
      responses:
        "200": {description: ok}
  /items:
    post:
      operationId: createItem
      tags: [write]
      requestBody:
        content:
          application/json:
            schema:
              $ref: "#/components/schemas/Item"
      responses:
        "201": {description: created}
    get:
      operationId: countItems
      tags: [read]
      responses:
        "200": {description: ok}
  /status/{code}:
    get:
      operationId: status
      tags: [read]
      parameters:
        - name: code
          in: path
          required: true
          example: 202
      responses:
        "202": {description: accepted}
components:
  schemas:
    Item:
      type: object
      properties:
        name: {type: string, example: widget}
        price: {type: number}
        tags: {type: array, items: {type: string}}
"""
        source = self.write("shop.yaml", spec)
        env = dict(os.environ, BASE_URL=self.target.url("").rstrip("/"))
        out, text = self.imported(source, env=env)
        self.assertEqual(text.count("[[scenarios.steps]]"), 4)
        self.assertIn("${BASE_URL:-http://127.0.0.1:9}/status/202", text)
        self.assertIn('\\"name\\":\\"widget\\"', text)
        self.assertIn('checks = ["status == 201"]', text)
        self.runs_clean(out, env=env)

    def test_bad_files_are_refused_with_the_reason(self):
        p = cli("import", self.write("x.har", "{nope"))
        self.assertEqual(p.returncode, 2)
        self.assertIn("is not JSON", p.stderr)
        p = cli("import", self.write("x.json", {"hello": 1}))
        self.assertEqual(p.returncode, 2)
        self.assertIn("--format", p.stderr)
        many = {"log": {"entries": [{"request": {"method": "GET", "url": f"http://h/{i}"}}
                                    for i in range(80)]}}
        p = cli("import", self.write("many.har", many))
        self.assertEqual(p.returncode, 2)
        self.assertIn("--filter", p.stderr)
        out = self.write("exists.toml", "x")
        p = cli("import", self.write("one.har", {"log": {"entries": [
            {"request": {"method": "GET", "url": "http://h/"}}]}}), "-o", out)
        self.assertEqual(p.returncode, 2)
        self.assertIn("--force", p.stderr)


if __name__ == "__main__":
    unittest.main()
