"""A TCP and UDP echo server for the tcp:// and udp:// tests (not LoadSpiker's code).

Counts what it received and writes the counts as JSON to --stats when it gets SIGTERM.
--udp-drop N: ignores every Nth datagram (a lost reply); --tcp-silent: reads but never answers.
--tcp-close-after N: closes each connection after answering N lines.
"""
import argparse
import json
import signal
import socket
import socketserver
import sys
import threading

stats = {"tcp_connections": 0, "tcp_bytes": 0, "tcp_lines": 0, "udp_datagrams": 0, "udp_bytes": 0}
lock = threading.Lock()
args = None


class TcpHandler(socketserver.BaseRequestHandler):
    def handle(self):
        with lock:
            stats["tcp_connections"] += 1
        answered = 0
        while True:
            try:
                data = self.request.recv(65536)
            except OSError:
                return
            if not data:
                return
            with lock:
                stats["tcp_bytes"] += len(data)
                stats["tcp_lines"] += data.count(b"\n")
            if args.tcp_silent:
                continue
            self.request.sendall(data)
            answered += data.count(b"\n")
            if args.tcp_close_after and answered >= args.tcp_close_after:
                return


class Tcp(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def udp_loop(sock):
    n = 0
    while True:
        data, peer = sock.recvfrom(65536)
        n += 1
        with lock:
            stats["udp_datagrams"] += 1
            stats["udp_bytes"] += len(data)
        if args.udp_drop and n % args.udp_drop == 0:
            continue
        sock.sendto(data, peer)


def main():
    global args
    p = argparse.ArgumentParser()
    p.add_argument("--tcp", type=int, default=0)
    p.add_argument("--udp", type=int, default=0)
    p.add_argument("--stats", required=True)
    p.add_argument("--udp-drop", type=int, default=0)
    p.add_argument("--tcp-silent", action="store_true")
    p.add_argument("--tcp-close-after", type=int, default=0)
    args = p.parse_args()

    def stop(*_):
        with lock, open(args.stats, "w") as f:
            json.dump(stats, f)
        sys.stdout.flush()
        import os
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    if args.udp:
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        u.bind(("127.0.0.1", args.udp))
        threading.Thread(target=udp_loop, args=(u,), daemon=True).start()
    if args.tcp:
        server = Tcp(("127.0.0.1", args.tcp), TcpHandler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
    print("ready", flush=True)
    signal.pause() if hasattr(signal, "pause") else threading.Event().wait()
    while True:
        signal.pause()


if __name__ == "__main__":
    main()
