"""A small forward proxy for the tests: HTTP (absolute-form requests, piped to the origin),
HTTP CONNECT and SOCKS5 (no authentication, or user/password), on one port. Each tunnel or
forwarded connection is logged as a line "KIND HOST:PORT [user]" to the file given.

Usage: proxy_server.py PORT LOG [USER:PASSWORD]  (with USER:PASSWORD, all three kinds require it)
"""
import base64
import socket
import sys
import threading

PORT, LOG = int(sys.argv[1]), sys.argv[2]
CRED = sys.argv[3] if len(sys.argv) > 3 else None
lock = threading.Lock()


def log(line):
    with lock, open(LOG, "a") as f:
        f.write(line + "\n")


def pipe(a, b):
    def one(src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
    t = threading.Thread(target=one, args=(b, a), daemon=True)
    t.start()
    one(a, b)
    t.join()
    a.close()
    b.close()


def recv_exact(c, n):
    data = b""
    while len(data) < n:
        chunk = c.recv(n - len(data))
        if not chunk:
            raise OSError("closed")
        data += chunk
    return data


def http(c, first):
    data = first
    while b"\r\n\r\n" not in data:
        chunk = c.recv(65536)
        if not chunk:
            return c.close()
        data += chunk
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    method, target = head.split(" ")[:2]
    if CRED:
        want = "Basic " + base64.b64encode(CRED.encode()).decode()
        if f"\r\nProxy-Authorization: {want}" not in head:
            c.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n")
            return c.close()
    if method == "CONNECT":
        host, port = target.rsplit(":", 1)
        up = socket.create_connection((host.strip("[]"), int(port)), timeout=5)
        c.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        log(f"connect {host}:{port}")
        return pipe(c, up)
    if not target.startswith("http://"):
        c.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        return c.close()
    authority = target[7:].split("/", 1)[0]
    host, port = authority.rsplit(":", 1) if ":" in authority else (authority, "80")
    up = socket.create_connection((host, int(port)), timeout=5)
    up.sendall(data)  # the origin takes the absolute form too
    log(f"forward {host}:{port}")
    pipe(c, up)


def handle(c):
    try:
        first = c.recv(1)
        if first == b"\x05":  # SOCKS5's version byte
            return socks_after_version(c)
        if first:
            http(c, first)
    except OSError:
        c.close()


def socks_after_version(c):
    n = recv_exact(c, 1)[0]
    methods = recv_exact(c, n)
    want = 2 if CRED else 0
    if want not in methods:
        c.sendall(b"\x05\xff")
        return c.close()
    c.sendall(bytes([5, want]))
    user = ""
    if CRED:
        recv_exact(c, 1)
        user = recv_exact(c, recv_exact(c, 1)[0]).decode()
        password = recv_exact(c, recv_exact(c, 1)[0]).decode()
        if f"{user}:{password}" != CRED:
            c.sendall(b"\x01\x01")
            return c.close()
        c.sendall(b"\x01\x00")
    ver, cmd, _, atyp = recv_exact(c, 4)
    if atyp == 3:
        host = recv_exact(c, recv_exact(c, 1)[0]).decode()
    elif atyp == 1:
        host = socket.inet_ntoa(recv_exact(c, 4))
    else:
        host = socket.inet_ntop(socket.AF_INET6, recv_exact(c, 16))
    port = int.from_bytes(recv_exact(c, 2), "big")
    try:
        up = socket.create_connection((host, port), timeout=5)
    except OSError:
        c.sendall(b"\x05\x05\x00\x01\x00\x00\x00\x00\x00\x00")
        return c.close()
    c.sendall(b"\x05\x00\x00\x01\x7f\x00\x00\x01" + port.to_bytes(2, "big"))
    log(f"socks {host}:{port} {user}".strip())
    pipe(c, up)


def main():
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", PORT))
    s.listen(256)
    print("ready", flush=True)
    while True:
        c, _ = s.accept()
        threading.Thread(target=handle, args=(c,), daemon=True).start()


if __name__ == "__main__":
    main()
