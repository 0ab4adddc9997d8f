#!/usr/bin/python3
"""A pyzmq (libzmq) peer for pxroute's ZMTP tests, run as a subprocess.

argv[1] is a JSON spec:
  {"type": "PUSH", "bind": "tcp://127.0.0.1:0" | "connect": "tcp://...",
   "subscribe": [hex, ...] (SUB: prefixes),
   "heartbeat_ivl", "heartbeat_timeout", "heartbeat_ttl": milliseconds
   (ZMQ_HEARTBEAT_IVL, _TIMEOUT, _TTL; libzmq's defaults when absent),
   "timeout": seconds (the whole run; SIGALRM ends it, exit 3),
   "rcvhwm", "sndhwm", "rcvbuf": integers set before bind/connect,
   "plain_server": {user: password, ...} (a ZAP handler checks them),
   "plain_client": [username, password],
   "curve_server": [public, secret] (Z85; any client key is let in),
   "curve_client": [server_public, public, secret] (Z85),
   "actions": [...]}
Actions, in order:
  ["send", [part, ...]]       one message; a part is hex, or "rep:N:HH"
                               (N bytes of hex byte HH)
  ["recv", n]                  receive n messages, each printed as
                               {"recv": [hex, ...]}
  ["serve", n]                 (REP) n times: receive, reply the same parts
                               with the last one prefixed by "re:"
  ["request", n, tag]          (REQ) n times: send tag-i, receive, print
  ["publish", [[part...]...], n, ms]  n rounds, ms apart, of the messages
                               (a PUB's subscribers join late)
  ["recvidle", ms]             receive and print until none comes for ms
                               after the first
  ["serveidle", ms]            serve likewise
  ["sleep", seconds]
  ["subscribe", hex]           (SUB) subscribe to the prefix
  ["unsubscribe", hex]         (SUB) cancel the prefix
  ["waitfile", path]           wait until the file exists (the test's go)
Lines out: "BOUND <endpoint>" once bound, then results, then "DONE".
"""
import json
import os
import signal
import sys
import time

import zmq


def part(p):
    if p.startswith("rep:"):
        _, n, hh = p.split(":")
        return bytes([int(hh, 16)]) * int(n)
    return bytes.fromhex(p)


def out(obj):
    print(json.dumps(obj), flush=True)


auth = None


def secure(ctx, s, spec):
    """Sets the socket's security mechanism (NULL unless the spec says)."""
    if "plain_server" in spec:
        from zmq.auth.thread import ThreadAuthenticator
        global auth  # kept: a collected authenticator stops answering ZAP
        auth = ThreadAuthenticator(ctx)
        auth.start()
        auth.configure_plain(domain="*", passwords=spec["plain_server"])
        s.plain_server = True
    if "plain_client" in spec:
        s.plain_username = spec["plain_client"][0].encode()
        s.plain_password = spec["plain_client"][1].encode()
    if "curve_server" in spec:
        s.curve_publickey = spec["curve_server"][0].encode()
        s.curve_secretkey = spec["curve_server"][1].encode()
        s.curve_server = True
    if "curve_client" in spec:
        s.curve_serverkey = spec["curve_client"][0].encode()
        s.curve_publickey = spec["curve_client"][1].encode()
        s.curve_secretkey = spec["curve_client"][2].encode()


def main():
    spec = json.loads(sys.argv[1])
    signal.signal(signal.SIGALRM, lambda *_: (print("TIMEOUT", flush=True), sys.exit(3)))
    signal.alarm(int(spec.get("timeout", 20)))
    ctx = zmq.Context()
    s = ctx.socket(getattr(zmq, spec["type"]))
    s.linger = 2000
    for key in ("heartbeat_ivl", "heartbeat_timeout", "heartbeat_ttl"):
        if key in spec:
            s.setsockopt(getattr(zmq, key.upper()), spec[key])
    for opt in ("rcvhwm", "sndhwm", "rcvbuf"):
        if opt in spec:
            s.setsockopt(getattr(zmq, opt.upper()), spec[opt])
    secure(ctx, s, spec)
    for prefix in spec.get("subscribe", []):
        s.setsockopt(zmq.SUBSCRIBE, bytes.fromhex(prefix))
    if "bind" in spec:
        s.bind(spec["bind"])
        print("BOUND", s.last_endpoint.decode(), flush=True)
    else:
        s.connect(spec["connect"])
    for a in spec.get("actions", []):
        op = a[0]
        if op == "send":
            s.send_multipart([part(p) for p in a[1]])
        elif op == "recv":
            for _ in range(a[1]):
                out({"recv": [p.hex() for p in s.recv_multipart()]})
        elif op == "serve":
            for _ in range(a[1]):
                msg = s.recv_multipart()
                msg[-1] = b"re:" + msg[-1]
                s.send_multipart(msg)
        elif op == "request":
            for i in range(a[1]):
                s.send(("%s-%d" % (a[2], i)).encode())
                out({"reply": s.recv().decode()})
        elif op == "publish":
            msgs = [[part(p) for p in m] for m in a[1]]
            for _ in range(a[2]):
                for m in msgs:
                    s.send_multipart(m)
                time.sleep(a[3] / 1000)
        elif op in ("recvidle", "serveidle"):
            first = True
            while first or s.poll(a[1]):
                first = False
                msg = s.recv_multipart()
                if op == "recvidle":
                    out({"recv": [p.hex() for p in msg]})
                else:
                    msg[-1] = b"re:" + msg[-1]
                    s.send_multipart(msg)
        elif op == "sleep":
            time.sleep(a[1])
        elif op == "subscribe":
            s.setsockopt(zmq.SUBSCRIBE, bytes.fromhex(a[1]))
        elif op == "unsubscribe":
            s.setsockopt(zmq.UNSUBSCRIBE, bytes.fromhex(a[1]))
        elif op == "waitfile":
            while not os.path.exists(a[1]):
                time.sleep(0.01)
        else:
            raise SystemExit("zmq_peer.py: unknown action %r" % op)
    print("DONE", flush=True)
    s.close()
    if auth is not None:
        auth.stop()
    ctx.term()


if __name__ == "__main__":
    main()
