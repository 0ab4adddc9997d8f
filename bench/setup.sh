#!/usr/bin/env bash
# Installs the peers the benchmark compares pxroute with, from Debian's
# packages, if they are missing: socat, ncat, openssl, stunnel4, iperf3, nats-server,
# redis-server, uvloop for Debian's python3, python3-zmq (pyzmq on
# libzmq: the ZMTP tests' peer, which they need), chromium and
# python3-websockets (the WebSocket tests' browser and peer), and libzmq3-dev with a C
# compiler (the zmq-forwarder scenario compiles its libzmq publisher,
# subscribers and zmq_proxy at run time). Idempotent; needs root (or sudo)
# and the Debian package registry.
set -euo pipefail

need=()
command -v socat >/dev/null || need+=(socat)
command -v openssl >/dev/null || need+=(openssl) # the TLS tests' s_client and s_server peers
command -v stunnel4 >/dev/null || command -v stunnel >/dev/null || need+=(stunnel4) # a TLS-terminating contender
command -v ncat >/dev/null || need+=(ncat)
command -v nc >/dev/null || need+=(ncat) # router's relay example talks through nc (ncat's alternative)
command -v iperf3 >/dev/null || need+=(iperf3)
command -v nats-server >/dev/null || need+=(nats-server)
command -v redis-server >/dev/null || need+=(redis-server)
[ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import uvloop' 2>/dev/null || need+=(python3 python3-uvloop)
[ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import zmq' 2>/dev/null || need+=(python3 python3-zmq)
[ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import websockets' 2>/dev/null || need+=(python3 python3-websockets)
command -v chromium >/dev/null || need+=(chromium) # headless, driven by chromedp in tests/browser*_test.go
[ -f /usr/include/zmq.h ] || need+=(libzmq3-dev)
command -v cc >/dev/null || need+=(gcc libc6-dev)

if [ ${#need[@]} -eq 0 ]; then
  echo "bench/setup.sh: every peer is installed"
  exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "bench/setup.sh: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# The Debian packages start their servers as services where they can; the
# benchmark runs its own instances on free loopback ports.
for svc in redis-server nats-server; do
  $sudo service "$svc" stop >/dev/null 2>&1 || true
done
echo "bench/setup.sh: done"
