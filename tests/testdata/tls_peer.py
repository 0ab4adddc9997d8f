#!/usr/bin/python3
"""A Python ssl (OpenSSL) TLS peer for pxroute's TLS tests, run as a subprocess.

argv[1] is a JSON spec:
  {"role": "client" | "server",
   "connect": "host:port" (client) | "listen": "127.0.0.1:0" (server),
   "version": "1.2" | "1.3" (the only version offered; absent: defaults),
   "ciphers": "OpenSSL cipher string" (TLS 1.2 suites; TLS 1.3 suites come
              from OPENSSL_CONF, which Python's ssl cannot set),
   "server_name": SNI to send and the name to check (client),
   "alpn": [protocol, ...],
   "ca": PEM path (client: trust for the server, verified with its name;
         server: trust for client certificates),
   "cert", "key": own certificate and key,
   "require_client_cert": true (server),
   "echo": true (server: send back what arrives),
   "send_file": path (client: its bytes are written after the handshake),
   "want": n (client: bytes to read back before closing),
   "timeout": seconds (the whole run; SIGALRM ends it, exit 3)}
Lines out: "BOUND host:port" once listening (server), then one JSON
{"info": {version, cipher, alpn, sni, peer_cn}} after the handshake, then
{"recv": hex} per chunk received, then "DONE" (exit 0), or "ERROR <why>"
(exit 1).
"""
import json
import select
import signal
import socket
import ssl
import sys

VERSIONS = {"1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}


def out(obj):
    print(json.dumps(obj) if not isinstance(obj, str) else obj, flush=True)


def context(spec, server):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER if server else ssl.PROTOCOL_TLS_CLIENT)
    if "version" in spec:
        ctx.minimum_version = ctx.maximum_version = VERSIONS[spec["version"]]
    if "ciphers" in spec:
        ctx.set_ciphers(spec["ciphers"])
    if "alpn" in spec:
        ctx.set_alpn_protocols(spec["alpn"])
    if "cert" in spec:
        ctx.load_cert_chain(spec["cert"], spec["key"])
    if server:
        if "ca" in spec:
            ctx.load_verify_locations(spec["ca"])
        ctx.verify_mode = ssl.CERT_REQUIRED if spec.get("require_client_cert") else ssl.CERT_NONE
        seen = {}
        ctx.sni_callback = lambda sock, name, _ctx: seen.__setitem__("sni", name)
        return ctx, seen
    if "ca" in spec:
        ctx.load_verify_locations(spec["ca"])
        ctx.check_hostname = "server_name" in spec
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx, {}


def info(s, seen):
    peer = s.getpeercert() or {}
    cn = [v for rdn in peer.get("subject", ()) for (k, v) in rdn if k == "commonName"]
    return {"info": {"version": s.version(), "cipher": s.cipher()[0],
                     "alpn": s.selected_alpn_protocol() or "",
                     "sni": seen.get("sni") or "", "peer_cn": cn[0] if cn else ""}}


def close(s):
    """Sends close_notify (pxroute should see a clean end), then closes;
    a peer that closes without answering it is no error of ours."""
    try:
        s.unwrap().close()
    except (OSError, ssl.SSLError):
        s.close()


def client(spec):
    ctx, seen = context(spec, False)
    host, port = spec["connect"].rsplit(":", 1)
    raw = socket.create_connection((host.strip("[]"), int(port)))
    s = ctx.wrap_socket(raw, server_hostname=spec.get("server_name"))
    out(info(s, seen))
    send = b""
    if "send_file" in spec:
        with open(spec["send_file"], "rb") as f:
            send = f.read()
    exchange(s, send, spec.get("want", 0))
    close(s)


def exchange(s, send, want):
    """Writes send while reading until want bytes came (or EOF): both at
    once, so an echoing peer never waits on a writer that is not reading.
    One thread and select, since an SSL object is not for two threads."""
    s.setblocking(False)
    got = 0
    while send or got < want:
        if got < want and s.pending():  # decrypted already: select would not tell
            r, w = [s], []
        else:
            r, w, _ = select.select([s] if got < want else [], [s] if send else [], [])
        try:
            if w:
                send = send[s.send(send[:16384]):]
            if r:
                b = s.recv(65536)
                if not b:
                    break
                got += len(b)
                out({"recv": b.hex()})
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
            pass
    s.setblocking(True)


def server(spec):
    ctx, seen = context(spec, True)
    host, port = spec["listen"].rsplit(":", 1)
    ln = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    ln.bind((host.strip("[]"), int(port)))
    ln.listen(1)
    h, p = ln.getsockname()[:2]
    out("BOUND %s:%d" % (("[%s]" % h) if ":" in h else h, p))
    raw, _ = ln.accept()
    s = ctx.wrap_socket(raw, server_side=True)
    out(info(s, seen))
    while True:
        try:
            b = s.recv(65536)
        except ssl.SSLEOFError:  # the peer closed without close_notify
            break
        if not b:
            break
        out({"recv": b.hex()})
        if spec.get("echo"):
            s.sendall(b)
    close(s)


def main():
    spec = json.loads(sys.argv[1])
    signal.signal(signal.SIGALRM, lambda *_: (print("TIMEOUT", flush=True), sys.exit(3)))
    signal.alarm(int(spec.get("timeout", 20)))
    try:
        (server if spec["role"] == "server" else client)(spec)
    except (OSError, ssl.SSLError) as e:
        out("ERROR %s" % e)
        sys.exit(1)
    out("DONE")


if __name__ == "__main__":
    main()
