"""A wire-level MongoDB stand-in for tests (no MongoDB server is packaged for Debian): OP_MSG
over TCP, documents with pymongo's `bson` module, a handful of commands with MongoDB's reply
shapes (find, insert, update, aggregate with $match / $limit / $count, ping, hello, SCRAM-SHA-256
saslStart / saslContinue) on in-memory collections. It checks what it receives (message
lengths, opcode, section kind, $db on every command) and counts commands by name, so a test can
compare its counts with the client's.

Run alone: /usr/bin/python3 mongo_fake.py PORT [USER:PASSWORD]  (prints "ready" when listening)
"""
import base64
import hashlib
import hmac
import os
import socket
import socketserver
import struct
import sys
import threading
from collections import Counter

import bson

OP_MSG = 2013


def _matches(doc, flt):
    for k, v in flt.items():
        if isinstance(v, dict) and v and all(x.startswith("$") for x in v):
            for op, arg in v.items():
                x = doc.get(k)
                ok = {"$gt": lambda: x is not None and x > arg,
                      "$gte": lambda: x is not None and x >= arg,
                      "$lt": lambda: x is not None and x < arg,
                      "$lte": lambda: x is not None and x <= arg,
                      "$ne": lambda: x != arg,
                      "$in": lambda: x in arg}.get(op, lambda: False)()
                if not ok:
                    return False
        elif doc.get(k) != v:
            return False
    return True


class FakeMongo:
    def __init__(self, port=0, users=None):
        self.collections = {}  # (db, name) -> list of documents
        self.counts = Counter()
        self.problems = []  # what the server received that MongoDB would refuse
        self.users = dict(users or {})
        self.lock = threading.Lock()
        self.connections = 0
        outer = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                outer.serve(self.request)

        class Server(socketserver.ThreadingTCPServer):
            allow_reuse_address = True
            daemon_threads = True

        self.server = Server(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def collection(self, db, name):
        return self.collections.setdefault((db, name), [])

    # --- the wire ---

    def serve(self, sock):
        with self.lock:
            self.connections += 1
        state = {"authed": not self.users, "scram": None}
        buf = b""
        while True:
            while len(buf) < 16 or len(buf) < struct.unpack_from("<i", buf)[0]:
                try:
                    chunk = sock.recv(65536)
                except OSError:
                    return
                if not chunk:
                    return
                buf += chunk
            length, request_id, _, opcode = struct.unpack_from("<iiii", buf)
            msg, buf = buf[:length], buf[length:]
            if opcode != OP_MSG:
                self.problem(f"opcode {opcode}, not OP_MSG")
                return
            flags = struct.unpack_from("<I", msg, 16)[0]
            if msg[20] != 0:
                self.problem(f"section kind {msg[20]}, expected 0")
                return
            doc_len = struct.unpack_from("<i", msg, 21)[0]
            if 21 + doc_len != length or flags != 0:
                self.problem(f"message of {length} bytes holds a {doc_len}-byte document, "
                             f"flags {flags}")
                return
            cmd = bson.decode(msg[21:21 + doc_len])
            reply = self.command(cmd, state)
            body = bson.encode(reply)
            out = struct.pack("<iiiiIB", 16 + 4 + 1 + len(body), request_id + 1000000,
                              request_id, OP_MSG, 0, 0) + body
            sock.sendall(out)

    def problem(self, text):
        with self.lock:
            self.problems.append(text)

    # --- commands ---

    def command(self, cmd, state):
        name = next(iter(cmd))
        db = cmd.get("$db")
        with self.lock:
            self.counts[name] += 1
        if db is None:
            self.problem(f"{name} without $db")
            return {"ok": 0, "errmsg": "no $db", "code": 40571, "codeName": "Location40571"}
        if name == "sleep":  # a stalled server: answers after cmd["ms"] milliseconds
            threading.Event().wait(cmd.get("ms", 1000) / 1000)
            return {"ok": 1.0}
        if name in ("ping", "hello", "isMaster", "ismaster", "buildInfo"):
            return {"ok": 1.0, "isWritablePrimary": True, "maxWireVersion": 17}
        if name == "saslStart":
            return self.sasl_start(cmd, state)
        if name == "saslContinue":
            return self.sasl_continue(cmd, state)
        if not state["authed"]:
            return {"ok": 0.0, "errmsg": f"command {name} requires authentication", "code": 13,
                    "codeName": "Unauthorized"}
        with self.lock:
            if name == "find":
                docs = [d for d in self.collection(db, cmd["find"])
                        if _matches(d, cmd.get("filter", {}))]
                if cmd.get("limit"):
                    docs = docs[:cmd["limit"]]
                return {"cursor": {"firstBatch": docs[:101], "id": 0,
                                   "ns": f"{db}.{cmd['find']}"}, "ok": 1.0}
            if name == "insert":
                coll = self.collection(db, cmd["insert"])
                n, errors = 0, []
                for i, d in enumerate(cmd["documents"]):
                    d.setdefault("_id", bson.ObjectId())
                    if any(x["_id"] == d["_id"] for x in coll):
                        errors.append({"index": i, "code": 11000,
                                       "errmsg": f"E11000 duplicate key error: _id {d['_id']}"})
                        continue
                    coll.append(d)
                    n += 1
                reply = {"n": n, "ok": 1.0}
                if errors:
                    reply["writeErrors"] = errors
                return reply
            if name == "update":
                coll = self.collection(db, cmd["update"])
                n = modified = 0
                for u in cmd["updates"]:
                    for d in coll:
                        if _matches(d, u["q"]):
                            n += 1
                            for k, v in u["u"].get("$set", {}).items():
                                if d.get(k) != v:
                                    d[k] = v
                                    modified += 1
                            for k, v in u["u"].get("$inc", {}).items():
                                d[k] = d.get(k, 0) + v
                                modified += 1
                            if not u.get("multi"):
                                break
                return {"n": n, "nModified": modified, "ok": 1.0}
            if name == "aggregate":
                docs = list(self.collection(db, cmd["aggregate"]))
                for stage in cmd["pipeline"]:
                    if "$match" in stage:
                        docs = [d for d in docs if _matches(d, stage["$match"])]
                    elif "$limit" in stage:
                        docs = docs[:stage["$limit"]]
                    elif "$count" in stage:
                        docs = [{stage["$count"]: len(docs)}]
                    else:
                        return {"ok": 0.0, "errmsg": f"unsupported stage {next(iter(stage))}",
                                "code": 40324, "codeName": "Location40324"}
                return {"cursor": {"firstBatch": docs, "id": 0,
                                   "ns": f"{db}.{cmd['aggregate']}"}, "ok": 1.0}
        return {"ok": 0.0, "errmsg": f"no such command: '{name}'", "code": 59,
                "codeName": "CommandNotFound"}

    # --- SCRAM-SHA-256, the server's side (RFC 5802 / 7677) ---

    def sasl_start(self, cmd, state):
        if cmd.get("mechanism") != "SCRAM-SHA-256":
            return {"ok": 0.0, "errmsg": "mechanism", "code": 2, "codeName": "BadValue"}
        first = bytes(cmd["payload"]).decode()
        if not first.startswith("n,,"):
            return self.auth_failed()
        bare = first[3:]
        fields = dict(kv.split("=", 1) for kv in bare.split(","))
        user = fields["n"].replace("=2C", ",").replace("=3D", "=")
        if user not in self.users:
            return self.auth_failed()
        salt = hashlib.sha256(user.encode()).digest()[:16]
        rounds = 4096
        nonce = fields["r"] + base64.b64encode(os.urandom(18)).decode()
        server_first = f"r={nonce},s={base64.b64encode(salt).decode()},i={rounds}"
        salted = hashlib.pbkdf2_hmac("sha256", self.users[user].encode(), salt, rounds)
        state["scram"] = {"bare": bare, "server_first": server_first, "nonce": nonce,
                          "salted": salted, "step": 1}
        return {"conversationId": 1, "done": False,
                "payload": bson.Binary(server_first.encode()), "ok": 1.0}

    def sasl_continue(self, cmd, state):
        scram = state["scram"]
        if scram is None:
            return self.auth_failed()
        if scram["step"] == 2:  # the empty closing message
            state["authed"] = True
            return {"conversationId": 1, "done": True, "payload": bson.Binary(b""), "ok": 1.0}
        final = bytes(cmd["payload"]).decode()
        without_proof, _, proof = final.rpartition(",p=")
        fields = dict(kv.split("=", 1) for kv in without_proof.split(","))
        if fields.get("r") != scram["nonce"] or fields.get("c") != "biws":
            return self.auth_failed()
        auth_message = f"{scram['bare']},{scram['server_first']},{without_proof}"
        client_key = hmac.new(scram["salted"], b"Client Key", hashlib.sha256).digest()
        stored = hashlib.sha256(client_key).digest()
        signature = hmac.new(stored, auth_message.encode(), hashlib.sha256).digest()
        expected = bytes(a ^ b for a, b in zip(client_key, signature))
        if base64.b64decode(proof) != expected:
            return self.auth_failed()
        server_key = hmac.new(scram["salted"], b"Server Key", hashlib.sha256).digest()
        server_sig = hmac.new(server_key, auth_message.encode(), hashlib.sha256).digest()
        skip_empty = True
        scram["step"] = 2
        if skip_empty:
            state["authed"] = True
        return {"conversationId": 1, "done": skip_empty,
                "payload": bson.Binary(f"v={base64.b64encode(server_sig).decode()}".encode()),
                "ok": 1.0}

    @staticmethod
    def auth_failed():
        return {"ok": 0.0, "errmsg": "Authentication failed.", "code": 18,
                "codeName": "AuthenticationFailed"}


if __name__ == "__main__":
    users = {}
    if len(sys.argv) > 2:
        u, _, p = sys.argv[2].partition(":")
        users[u] = p
    fake = FakeMongo(int(sys.argv[1]), users)
    print("ready", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
