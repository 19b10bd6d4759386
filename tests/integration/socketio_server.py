"""A small Socket.IO server for the tests (Engine.IO v4 over WebSocket, on Debian's
python3-websockets): it opens with Engine.IO's open packet, accepts namespace connects, pings
the client once before each answer, and answers a "ping" event with a "pong" event carrying
the same data. Usage: socketio_server.py PORT STATS_FILE; on SIGTERM it writes
{"connections": n, "pings": n, "pongs_answered": n} to STATS_FILE."""
import asyncio
import json
import signal
import sys

import websockets

stats = {"connections": 0, "pings": 0, "pongs_answered": 0}


async def handler(ws, path=None):
    stats["connections"] += 1
    await ws.send('0{"sid":"s%d","upgrades":[],"pingInterval":25000,"pingTimeout":20000,'
                  '"maxPayload":1000000}' % stats["connections"])
    try:
        async for m in ws:
            if m.startswith("40"):
                ns = m[2:].rstrip(",")
                await ws.send("40" + (ns + "," if ns else "") + '{"sid":"x"}')
            elif m == "3":
                stats["pongs_answered"] += 1
            elif m.startswith("42"):
                body = m[2:]
                prefix = ""
                if body.startswith("/"):
                    prefix, body = body.split(",", 1)
                    prefix += ","
                event = json.loads(body)
                if event[0] == "ping":
                    stats["pings"] += 1
                    await ws.send("2")  # an Engine.IO ping first: the client must answer
                    await ws.send("42" + prefix + json.dumps(["other", {}]))
                    await ws.send("42" + prefix + json.dumps(["pong"] + event[1:]))
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
