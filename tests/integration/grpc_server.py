"""A gRPC server for tests, on Python grpcio (a server we did not write): code generated from
tests/integration/grpc/shop.proto with protoc and grpc_python_plugin at start, calls counted by
method and by the status they ended with, and a server reflection service
(grpc.reflection.v1alpha, generated from Debian's grpc-proto) so --reflect has something to ask.
Run with /usr/bin/python3 (Debian's grpc module)."""
import importlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent import futures

import grpc

HERE = os.path.dirname(os.path.abspath(__file__))
PROTO_DIR = os.path.join(HERE, "grpc")
REFLECTION_DIR = "/usr/share/grpc-proto"
REFLECTION_PROTO = "grpc/reflection/v1alpha/reflection.proto"


def generate(out):
    # The reflection proto is compiled from a copy outside grpc/ so that its module
    # (reflection_pb2) does not hide under the grpc package.
    os.makedirs(os.path.join(out, "src"), exist_ok=True)
    shutil.copy(os.path.join(REFLECTION_DIR, REFLECTION_PROTO), os.path.join(out, "src"))
    for include, proto in ((PROTO_DIR, "shop.proto"), (os.path.join(out, "src"),
                                                       "reflection.proto")):
        subprocess.run(["protoc", "-I", include, "-I", "/usr/include", f"--python_out={out}",
                        f"--grpc_out={out}",
                        "--plugin=protoc-gen-grpc=/usr/bin/grpc_python_plugin", proto],
                       check=True)
    sys.path.insert(0, out)


class GrpcServer:
    def __init__(self, port, workers=16, tls=None):
        """With tls=(key file, certificate file): TLS (h2 by ALPN) instead of h2c."""
        self.tmp = tempfile.mkdtemp(prefix="spiker-grpc-")
        generate(self.tmp)
        pb = importlib.import_module("shop_pb2")
        pb_grpc = importlib.import_module("shop_pb2_grpc")
        rpb = importlib.import_module("reflection_pb2")
        rpb_grpc = importlib.import_module("reflection_pb2_grpc")
        self.calls = Counter()     # by method
        self.statuses = Counter()  # by method and status name
        self.metadata = Counter()  # x-user values seen
        self.received = Counter()  # messages received by method
        self.sent = Counter()      # messages streamed by method
        self.lock = threading.Lock()
        outer = self

        def note(method, status="OK"):
            with outer.lock:
                outer.calls[method] += 1
                outer.statuses[(method, status)] += 1

        class Items(pb_grpc.ItemsServicer):
            def GetItem(self, request, context):
                md = dict(context.invocation_metadata())
                if md.get("x-compress") == "gzip":
                    context.set_compression(grpc.Compression.Gzip)
                if "x-user" in md:
                    with outer.lock:
                        outer.metadata[md["x-user"]] += 1
                if request.id == 404:
                    note("GetItem", "NOT_FOUND")
                    context.abort(grpc.StatusCode.NOT_FOUND, f"no item {request.id}")
                note("GetItem")
                # A compressed reply is worth it only for a larger message.
                pad = "-" + "z" * 4000 if md.get("x-compress") == "gzip" else ""
                return pb.Item(id=request.id, name=f"item-{request.id}{pad}", tags=["a", "b"])

            def ListItems(self, request, context):
                note("ListItems")
                with outer.lock:
                    outer.sent["ListItems"] += request.count
                for i in range(request.count):
                    if i and request.gap_ms:
                        time.sleep(request.gap_ms / 1000)
                    yield pb.Item(id=i, name=f"item-{i}")

            def AddItems(self, request_iterator, context):
                n = total = 0
                for item in request_iterator:
                    n += 1
                    total += item.id
                with outer.lock:
                    outer.received["AddItems"] += n
                note("AddItems")
                return pb.Summary(count=n, total=total)

            def Chat(self, request_iterator, context):
                for item in request_iterator:
                    with outer.lock:
                        outer.received["Chat"] += 1
                    yield pb.Item(id=item.id, name=f"echo-{item.name}")
                note("Chat")

            def Slow(self, request, context):
                time.sleep(request.id / 1000)
                if not context.is_active():
                    note("Slow", "DEADLINE_EXCEEDED")
                    return pb.Item()
                note("Slow")
                return pb.Item(id=request.id, name="slow")

        pool = sys.modules["google.protobuf.descriptor_pool"].Default()

        class Reflection(rpb_grpc.ServerReflectionServicer):
            def ServerReflectionInfo(self, request_iterator, context):
                for req in request_iterator:
                    which = req.WhichOneof("message_request")
                    try:
                        if which == "file_containing_symbol":
                            fd = pool.FindFileContainingSymbol(req.file_containing_symbol)
                        elif which == "file_by_filename":
                            fd = pool.FindFileByName(req.file_by_filename)
                        elif which == "list_services":
                            yield rpb.ServerReflectionResponse(
                                list_services_response=rpb.ListServiceResponse(
                                    service=[rpb.ServiceResponse(name="shop.Items")]))
                            continue
                        else:
                            raise KeyError(which)
                    except KeyError as e:
                        yield rpb.ServerReflectionResponse(
                            error_response=rpb.ErrorResponse(error_code=5,
                                                             error_message=str(e)))
                        continue
                    # The file alone: the client asks for its imports by name.
                    yield rpb.ServerReflectionResponse(
                        file_descriptor_response=rpb.FileDescriptorResponse(
                            file_descriptor_proto=[fd.serialized_pb]))

        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=workers))
        pb_grpc.add_ItemsServicer_to_server(Items(), self.server)
        rpb_grpc.add_ServerReflectionServicer_to_server(Reflection(), self.server)
        self.port = port
        if tls:
            with open(tls[0], "rb") as k, open(tls[1], "rb") as c:
                creds = grpc.ssl_server_credentials([(k.read(), c.read())])
            self.server.add_secure_port(f"127.0.0.1:{port}", creds)
        else:
            self.server.add_insecure_port(f"127.0.0.1:{port}")
        self.server.start()
        self.url = f"{'grpcs' if tls else 'grpc'}://127.0.0.1:{port}"
        self.proto = os.path.join(PROTO_DIR, "shop.proto")

    def reset(self):
        with self.lock:
            self.calls.clear()
            self.statuses.clear()
            self.metadata.clear()
            self.received.clear()
            self.sent.clear()

    def stop(self):
        self.server.stop(0)


if __name__ == "__main__":  # a server to try by hand: grpc_server.py PORT
    s = GrpcServer(int(sys.argv[1]))
    print(f"listening on {s.url}", flush=True)
    s.server.wait_for_termination()
