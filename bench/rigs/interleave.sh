#!/bin/bash
# Interleaved side-by-side runs of pxroute builds and settings, for the
# experiments BENCHMARKS.md quotes as "bench/rigs/interleave.sh". Each
# round runs every variant once, so a slow minute on a shared machine hits
# them alike; compare medians of the rounds.
#
#   interleave.sh bridge ROUNDS N SIZE VARIANT...      64 B..64 KiB raw round trips through a bridge
#   interleave.sh request ROUNDS N SIZE VARIANT...     framed round trips through request (or echo)
#   interleave.sh handshakes ROUNDS VARIANT...         TLS handshakes/s through a terminating bridge
#
# VARIANT is "label|ENV=V ...|BIN|loops|engine" (BIN a pxroute binary; for
# handshakes BIN "go" is the bench's Go crypto/tls relay; for request,
# engine may be followed by ",echo" to run an echo route instead).
# pxroute's CPU (utime+stime from /proc/PID/stat) is read around the
# measured part. Ports 7611-7632 on 127.0.0.1 must be free.
set -eu
cd "$(dirname "$0")/../.."
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT
go build -o "$work/bench" ./bench
B="$work/bench"
cpu() { awk '{print $14+$15}' "/proc/$1/stat"; }

cat > "$work/bridge.yaml" <<Y
endpoints:
  front: {kind: tcp, listen: "127.0.0.1:7612"}
  back:  {kind: tcp, connect: "127.0.0.1:7611"}
routes:
  - {pattern: bridge, from: front, to: back}
Y
cat > "$work/request.yaml" <<Y
endpoints:
  clients: {kind: tcp, listen: "127.0.0.1:7621", framing: length-prefix, max_frame: 1MiB}
  workers: {kind: tcp, listen: "127.0.0.1:7622", framing: length-prefix, max_frame: 1MiB}
routes:
  - {pattern: request, from: clients, to: workers}
Y
cat > "$work/echo.yaml" <<Y
endpoints:
  e: {kind: tcp, listen: "127.0.0.1:7621", framing: length-prefix, max_frame: 1MiB}
routes:
  - {pattern: echo, members: e}
Y
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/k.pem" -out "$work/c.pem" \
	-days 30 -subj /CN=localhost -addext subjectAltName=DNS:localhost 2>/dev/null
chmod 600 "$work/k.pem"
cat > "$work/tls.yaml" <<Y
endpoints:
  front: {kind: tcp, listen: "127.0.0.1:7630", tls: {cert: "$work/c.pem", key: "$work/k.pem"}}
  back:  {kind: tcp, connect: "127.0.0.1:7611"}
routes:
  - {pattern: bridge, from: front, to: back}
Y

mode=$1; rounds=$2; shift 2
"$B" -helper echo 127.0.0.1:7611 & sleep 0.5
case $mode in
bridge|request)
	n=$1 size=$2; shift 2
	for _ in $(seq "$rounds"); do
		for v in "$@"; do
			IFS='|' read -r label envs bin loops engine <<< "$v"
			yaml=bridge addr=127.0.0.1:7612 frames=
			if [ "$mode" = request ]; then
				yaml=request addr=127.0.0.1:7621 frames=frames
				case $engine in *,echo) yaml=echo engine=${engine%,echo} ;; esac
			fi
			env $envs "$bin" run --loops "$loops" --engine "$engine" "$work/$yaml.yaml" > /dev/null 2>&1 & p=$!
			sleep 0.7
			w=
			if [ "$yaml" = request ]; then "$B" -helper frames-worker 127.0.0.1:7622 & w=$!; sleep 0.3; fi
			"$B" -helper pingpong $addr "$size" 1000 $frames > /dev/null
			t0=$(cpu $p)
			out=$("$B" -helper pingpong $addr "$size" "$n" $frames)
			t1=$(cpu $p)
			echo "$label: $out; pxroute CPU $(( (t1 - t0) * 10000 / n )) µs per round trip"
			[ -n "$w" ] && kill $w
			kill $p; wait $p 2>/dev/null || true
		done
	done ;;
handshakes)
	for _ in $(seq "$rounds"); do
		for v in "$@"; do
			IFS='|' read -r label envs bin loops engine <<< "$v"
			if [ "$bin" = go ]; then
				"$B" -helper tls-relay 127.0.0.1:7630 127.0.0.1:7611 "$work/c.pem" "$work/k.pem" > /dev/null 2>&1 & p=$!
			else
				env $envs "$bin" run --loops "$loops" --engine "${engine:-io_uring}" "$work/tls.yaml" > /dev/null 2>&1 & p=$!
			fi
			sleep 0.7
			"$B" -helper tls-handshakes 127.0.0.1:7630 "$work/c.pem" localhost 8 1s 3s > "$work/hs.out" & c=$!
			sleep 1; t0=$(cpu $p); sleep 3; t1=$(cpu $p)
			wait $c
			read -r rate failed _ < "$work/hs.out"
			echo "$label: $rate handshakes/s, $failed failed; server CPU $(echo "($t1 - $t0) * 10 / ($rate * 3)" | bc -l | cut -c1-5) ms per handshake"
			kill $p; wait $p 2>/dev/null || true
		done
	done ;;
*)
	echo "usage: $0 bridge|request|handshakes ROUNDS ..." >&2; exit 2 ;;
esac
