"""`loadspiker import`: a HAR recording, a Postman collection and an OpenAPI document become
test files that `validate` accepts and that run against the embedded target with every check
passing (so headers, bodies, cookies and variables came through)."""
import json
import os
import resource
import subprocess
import tempfile
import time
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
        p = cli("import", source, "--filter", "/items", "-o", "-")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.count("[[scenarios.steps]]"), 2)
        p = cli("import", source, "--keep-static", "-o", "-")
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

    def test_defaults_as_kaioken_writes_them(self):
        # Without -o, import writes a file as Kaioken's does (loadspiker.toml; kaioken.toml when
        # run under Kaioken's name); a recording of one request is Kaioken's [target].
        har = self.write("same.har", {"log": {"entries": [
            {"request": {"method": "GET", "url": self.target.url("/json"),
                         "headers": [{"name": "X-A", "value": "1"}]},
             "response": {"status": 200}}] * 3}})
        work = tempfile.mkdtemp(prefix="spiker-import-cwd-")
        kaioken = os.path.join(work, "kaioken")
        os.symlink(os.path.abspath(LOADSPIKER), kaioken)
        for program, name in ((LOADSPIKER, "loadspiker.toml"), (kaioken, "kaioken.toml")):
            p = subprocess.run([os.path.abspath(program), "import", har], capture_output=True,
                               text=True, cwd=work, timeout=60)
            self.assertEqual(p.returncode, 0, p.stderr)
            with open(os.path.join(work, name)) as f:
                text = f.read()
            self.assertIn("[target]", text)
            self.assertNotIn("[[scenarios]]", text)
            self.assertIn('X-A = "1"', text)
            rc, doc, err = run_cli(os.path.join(work, name), "-c", "2", "-d", "1s", timeout=30)
            self.assertEqual(rc, 0, err)
            self.assertEqual(doc["summary"]["failed"], 0)
            p = subprocess.run([os.path.abspath(program), "init"], capture_output=True, text=True,
                               cwd=work, timeout=60)
            self.assertEqual(p.returncode, 2)  # init's default file is the one import wrote
            self.assertIn(name, p.stderr)
        p = cli("import", har, "-o", "-")
        self.assertIn("[target]", p.stdout)

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


POSTMAN_SCHEMA = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"


def nested_postman(depth):
    """A collection whose one request sits in `depth` folders within folders (built as text:
    json.dumps would recurse as deep)."""
    head = '{"info": {"name": "deep", "schema": "%s"}, "item": ' % POSTMAN_SCHEMA
    request = '[{"name": "r", "request": {"method": "GET", "url": "http://h/"}}]'
    return head + '[{"name": "f", "item": ' * depth + request + "}]" * depth + "}"


def bounded_import(source, *flags, memory_mb=1024, cpu_s=30):
    """Runs `loadspiker import SOURCE FLAGS` with its address space and CPU time limited (a
    runaway import fails instead of taking the machine); returns (exit code, stdout, stderr,
    seconds, peak RSS of that one process in MB)."""
    def limits():
        limit = memory_mb << 20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s))
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        if "-o" not in flags:
            flags = (*flags, "-o", "-")  # the TOML on standard output
        p = subprocess.Popen([LOADSPIKER, "import", source, *flags], stdout=out, stderr=err,
                             preexec_fn=limits)
        _, status, usage = os.wait4(p.pid, 0)
        took = time.monotonic() - started
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return (p.returncode, out.read().decode(errors="replace"),
                err.read().decode(errors="replace"), took, usage.ru_maxrss / 1024)


class HostileImports(unittest.TestCase):
    """Files made to crash, hang or exhaust `import` (issue 6, 7): each is refused with exit
    code 2 and a message naming the limit (README, "Limits"), in well under the seconds it
    took, in tens of MB instead of GBs; nothing is written."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="spiker-hostile-import-")

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text if isinstance(text, str) else json.dumps(text))
        return path

    def refused(self, source, *needles, flags=(), seconds=5, rss_mb=300):
        out = os.path.join(self.dir, "out.toml")
        rc, _, err, took, rss = bounded_import(source, "-o", out, *flags)
        self.assertEqual(rc, 2, err[-2000:])
        for needle in needles:
            self.assertIn(needle, err)
        self.assertLess(took, seconds, err)
        self.assertLess(rss, rss_mb, err)
        self.assertFalse(os.path.exists(out))
        return err

    def test_200000_nested_postman_folders_are_refused_not_a_stack_overflow(self):
        # Was SIGSEGV: one C++ frame per folder.
        self.refused(self.write("deep.postman.json", nested_postman(200_000)),
                     "nested deeper than 256 levels", "flatten the collection")

    def test_20000_and_100000_nested_postman_folders_are_refused_in_little_memory(self):
        # Were 1.36 GB and over 3 GB: each folder's name held all its parents' names.
        for depth in (20_000, 100_000):
            self.refused(self.write(f"deep{depth}.postman.json", nested_postman(depth)),
                         "nested deeper than 256 levels", rss_mb=150)

    def test_postman_folders_64_deep_import_and_65_deep_are_refused_with_their_path(self):
        p = cli("import", self.write("64.postman.json", nested_postman(64)), "-o", "-")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn('name = "' + " / ".join(["f"] * 64) + '"', p.stdout)
        err = self.refused(self.write("65.postman.json", nested_postman(65)),
                           "folders nested deeper than 64 at item path 'f / f / f / … / f / f'",
                           "flatten the collection")
        self.assertLess(len(err), 400)

    def test_an_openapi_ref_self_cycle_samples_once_instead_of_expanding(self):
        # 572 bytes: was 14 s, 1.1 GB of memory and a 139 MB test file (30 properties: over
        # 3 GB). A schema that refers back to itself stops at the first repetition.
        for props in (6, 30):
            spec = {"openapi": "3.0.0", "info": {"title": "t"}, "servers": [{"url": "http://h"}],
                    "paths": {"/a": {"post": {
                        "requestBody": {"content": {"application/json": {
                            "schema": {"$ref": "#/components/schemas/A"}}}},
                        "responses": {"200": {"description": "ok"}}}}},
                    "components": {"schemas": {"A": {"type": "object", "properties": {
                        f"p{i}": {"$ref": "#/components/schemas/A"} for i in range(props)}}}}}
            rc, out, err, took, rss = bounded_import(self.write(f"cycle{props}.json", spec))
            self.assertEqual(rc, 0, err)
            self.assertIn('body = "{}"', out)
            self.assertLess(len(out), 4096)
            self.assertLess(took, 5)
            self.assertLess(rss, 100)
        # A tree: its children are an empty list.
        spec["components"]["schemas"]["A"]["properties"] = {
            "name": {"type": "string", "example": "root"},
            "children": {"type": "array", "items": {"$ref": "#/components/schemas/A"}}}
        rc, out, err, _, _ = bounded_import(self.write("tree.json", spec))
        self.assertEqual(rc, 0, err)
        self.assertIn('body = "{\\"name\\":\\"root\\",\\"children\\":[]}"', out)

    def test_an_openapi_reference_bomb_is_refused(self):
        # No cycle: each of 9 schemas refers 10 times to the next (10^9 values).
        schemas = {f"S{k}": {"type": "object", "properties": {
            f"p{i}": {"$ref": f"#/components/schemas/S{k + 1}"} for i in range(10)}}
            for k in range(9)}
        schemas["S9"] = {"type": "string"}
        spec = {"openapi": "3.0.0", "info": {"title": "t"}, "servers": [{"url": "http://h"}],
                "paths": {"/a": {"post": {"requestBody": {"content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/S0"}}}}}}},
                "components": {"schemas": schemas}}
        self.refused(self.write("bomb.json", spec), "expand to over 1000000 values",
                     "(at POST /a)")

    def test_a_yaml_alias_bomb_is_refused(self):
        # 9 levels of 9 aliases each (9^9 values): was over 3 GB.
        lines = ["openapi: 3.0.0", "info: {title: t}", "paths: {}", "a: &a [x,x,x,x,x,x,x,x,x]"]
        for prev, name in zip("abcdefgh", "bcdefghi"):
            lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
        source = self.write("bomb.yaml", "\n".join(lines) + "\n")
        self.assertLess(os.path.getsize(source), 600)
        self.refused(source, "once aliases (*name) are expanded", "alias bomb")

    def test_deep_openapi_json_and_yaml_are_refused(self):
        for name, text in (("deep.json", '{"openapi": "3.0.0", "paths": {}, "x": %s%s}'),
                           ("deep.yaml", "openapi: 3.0.0\npaths: {}\nx: %s%s\n")):
            self.refused(self.write(name, text % ("[" * 100_000, "]" * 100_000)),
                         "nested deeper than 256 levels")

    def test_100000_postman_requests_are_refused_at_the_65th(self):
        # Was 15.7 s: each request's name was compared with every one before it.
        collection = {"info": {"name": "many", "schema": POSTMAN_SCHEMA}, "item": [
            {"name": "r", "request": {"method": "GET", "url": f"http://h/{i}"}}
            for i in range(100_000)]}
        self.refused(self.write("many.postman.json", collection), "more than 64 requests",
                     "--filter", seconds=3)

    def test_100000_openapi_paths_are_refused_fast_and_filtered_fast(self):
        # Was 29 s: ordered_json's parser searched the keys of `paths` for each new one, and
        # each step's name was compared with every one before it.
        spec = {"openapi": "3.0.0", "info": {"title": "t"}, "servers": [{"url": "http://h"}],
                "paths": {f"/p{i}": {"get": {"responses": {"200": {"description": "ok"}}}}
                          for i in range(100_000)}}
        source = self.write("many.json", spec)
        self.refused(source, "more than 64 requests", "--filter", seconds=3)
        rc, out, err, took, _ = bounded_import(source, "--filter", "/p99999$")
        self.assertEqual(rc, 0, err)
        self.assertEqual(out.count("[[scenarios.steps]]"), 1)
        self.assertLess(took, 3)

    def test_expansion_past_the_request_text_limit_is_refused(self):
        # A 1 MB variable 100 times in a body; a 1 MB parameter example 100 times in a path.
        collection = {"info": {"name": "x", "schema": POSTMAN_SCHEMA},
                      "variable": [{"key": "big", "value": "x" * 1_000_000}],
                      "item": [{"name": "r", "request": {"method": "POST", "url": "http://h/",
                                                        "body": {"mode": "raw",
                                                                 "raw": "{{big}}" * 100}}}]}
        self.refused(self.write("vars.postman.json", collection), "over 32 MiB of request text",
                     "(at 'r')")
        spec = {"openapi": "3.0.0", "info": {"title": "t"}, "servers": [{"url": "http://h"}],
                "paths": {"/{a}" * 100: {"get": {"parameters": [
                    {"name": "a", "in": "path", "required": True, "example": "y" * 1_000_000}]}}}}
        self.refused(self.write("params.json", spec), "over 32 MiB of request text")


if __name__ == "__main__":
    unittest.main()
