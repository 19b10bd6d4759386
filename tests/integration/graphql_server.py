"""A small GraphQL server for tests: POST /graphql with {"query", "variables",
"operationName"}; it counts operations by name and answers a few of them the way a GraphQL
server does (data, or errors in a 200 response). Not a GraphQL implementation: it recognizes
the operations by name.

  GetItem(id)        -> {"data": {"item": {"id": ID, "name": "item-ID"}}}
  CreateItem(name)   -> {"data": {"createItem": {"id": N, "name": NAME}}}
  Broken             -> {"errors": [{"message": "resolver failed"}], "data": null}
  anything else      -> {"errors": [{"message": "unknown operation"}]}
"""
import json
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class GraphQLServer:
    def __init__(self):
        self.counts = Counter()
        self.lock = threading.Lock()
        self.created = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                raw = self.rfile.read(length)
                try:
                    req = json.loads(raw)
                    ok = (self.headers.get("Content-Type", "").startswith("application/json")
                          and isinstance(req.get("query"), str))
                except ValueError:
                    ok = False
                if not ok:
                    self.reply(400, {"errors": [{"message": "not a GraphQL request"}]})
                    return
                self.reply(200, outer.answer(req))

            def reply(self, status, doc):
                body = json.dumps(doc).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/graphql"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, req):
        name = req.get("operationName") or ""
        variables = req.get("variables") or {}
        with self.lock:
            self.counts[name] += 1
            if name == "GetItem":
                return {"data": {"item": {"id": int(variables.get("id", 0)),
                                          "name": f"item-{variables.get('id')}"}}}
            if name == "CreateItem":
                self.created += 1
                return {"data": {"createItem": {"id": self.created,
                                                "name": variables.get("name")}}}
            if name == "Broken":
                return {"errors": [{"message": "resolver failed"}], "data": None}
        return {"errors": [{"message": f"unknown operation {name!r}"}]}

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
