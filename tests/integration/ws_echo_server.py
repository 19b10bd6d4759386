"""A WebSocket server that is not ours, for the tests: Debian's python3-websockets.

Usage: ws_echo_server.py PORT STATS_FILE. Paths: /echo echoes; /slow echoes after 50 ms;
/close4000 echoes two messages, then closes with code 4000. On SIGTERM it writes what it saw
({"messages": n, "connections": n, "binary": n}) to STATS_FILE and exits.
"""
import asyncio
import json
import signal
import sys

import websockets

stats = {"messages": 0, "connections": 0, "binary": 0}


async def handler(ws, path=None):
    path = path if path is not None else ws.path
    stats["connections"] += 1
    count = 0
    try:
        async for message in ws:
            stats["messages"] += 1
            stats["binary"] += isinstance(message, bytes)
            count += 1
            if path == "/slow":
                await asyncio.sleep(0.05)
            await ws.send(message)
            if path == "/close4000" and count == 2:
                await ws.close(code=4000, reason="enough")
                return
    except websockets.ConnectionClosed:
        pass


async def main():
    port, stats_file = int(sys.argv[1]), sys.argv[2]
    stop = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set_result, None)
    async with websockets.serve(handler, "127.0.0.1", port, ping_interval=None):
        print("ready", flush=True)
        await stop
    with open(stats_file, "w") as f:
        json.dump(stats, f)


asyncio.run(main())
