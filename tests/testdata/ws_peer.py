#!/usr/bin/python3
"""A python3-websockets peer for pxroute's WebSocket tests, run as a subprocess.

argv[1] is a JSON spec, one of:
  {"connect": "ws://127.0.0.1:PORT/path", "origin": "http://...",
   "subprotocols": ["chat", ...], "max_size": bytes (default 1 MiB),
   "timeout": seconds (the whole run; SIGALRM ends it, exit 3),
   "actions": [...]}
  {"serve": "127.0.0.1:0", "timeout": seconds}
     an echo server (the self-test's other side): each message goes back
     as it came, text or binary; a text "close:CODE:REASON" is answered by
     closing with that code. Prints "BOUND ws://127.0.0.1:PORT/" once
     listening and {"peer_closed": code, "reason": r} per connection that
     ends. Runs until killed or timed out.
Actions, in order (client):
  ["text", s]                  one text message
  ["binary", hex]              one binary message
  ["fragments", [s, ...]]      one text message, a frame per fragment and
                               an empty FIN continuation frame at the end
  ["binfragments", [hex, ...]] one binary message, a frame per fragment
  ["ping", hex]                ping with that payload, wait for its pong;
                               prints {"pong": hex}
  ["recv", n]                  receive n messages, each printed as
                               {"recv": s} or {"recvbin": hex}
  ["close", code, reason]      close the handshake with that code; prints
                               {"closed": code, "reason": r}: the peer's
  ["waitclose"]                wait until the peer closes; prints what
                               ["close"] prints
  ["sleep", seconds]
  ["waitfile", path]           wait until the file exists (the test's go)
Lines out: "CONNECTED <subprotocol or ->" once connected, then results,
then "DONE".
"""
import asyncio
import json
import os
import signal
import sys

import websockets


def out(obj):
    print(json.dumps(obj), flush=True)


def message(m):
    return {"recv": m} if isinstance(m, str) else {"recvbin": m.hex()}


def closed(ws):
    return {"closed": ws.close_code, "reason": ws.close_reason}


async def client(spec):
    ws = await websockets.connect(
        spec["connect"],
        origin=spec.get("origin"),
        subprotocols=spec.get("subprotocols"),
        max_size=spec.get("max_size", 1 << 20),
        ping_interval=None,  # pings only when an action says
        compression=None,  # the frames as the actions write them
        open_timeout=spec.get("timeout", 20),
    )
    print("CONNECTED", ws.subprotocol or "-", flush=True)
    for a in spec.get("actions", []):
        op = a[0]
        if op == "text":
            await ws.send(a[1])
        elif op == "binary":
            await ws.send(bytes.fromhex(a[1]))
        elif op == "fragments":
            await ws.send(list(a[1]))
        elif op == "binfragments":
            await ws.send([bytes.fromhex(h) for h in a[1]])
        elif op == "ping":
            await (await ws.ping(bytes.fromhex(a[1])))
            out({"pong": a[1]})
        elif op == "recv":
            for _ in range(a[1]):
                out(message(await ws.recv()))
        elif op == "close":
            await ws.close(code=a[1], reason=a[2])
            out(closed(ws))
        elif op == "waitclose":
            await ws.wait_closed()
            out(closed(ws))
        elif op == "sleep":
            await asyncio.sleep(a[1])
        elif op == "waitfile":
            while not os.path.exists(a[1]):
                await asyncio.sleep(0.01)
        else:
            raise SystemExit("ws_peer.py: unknown action %r" % op)
    print("DONE", flush=True)


async def echo(ws, path=None):
    try:
        async for m in ws:
            if isinstance(m, str) and m.startswith("close:"):
                _, code, reason = m.split(":", 2)
                await ws.close(code=int(code), reason=reason)
                break
            await ws.send(m)
    except websockets.ConnectionClosed:
        pass
    await ws.wait_closed()
    out({"peer_closed": ws.close_code, "reason": ws.close_reason})


async def serve(spec):
    host, port = spec["serve"].rsplit(":", 1)
    async with websockets.serve(echo, host, int(port), compression=None, ping_interval=None) as server:
        bound = server.sockets[0].getsockname()
        print("BOUND ws://%s:%d/" % (bound[0], bound[1]), flush=True)
        await asyncio.Future()


def main():
    spec = json.loads(sys.argv[1])
    signal.signal(signal.SIGALRM, lambda *_: (print("TIMEOUT", flush=True), os._exit(3)))
    signal.alarm(int(spec.get("timeout", 20)))
    asyncio.run(serve(spec) if "serve" in spec else client(spec))


if __name__ == "__main__":
    main()
