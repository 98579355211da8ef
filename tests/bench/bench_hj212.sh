#!/bin/sh
# bench_hj212.sh: aqgridd's HJ 212 listener end to end.  1,000 data loggers
# (aqgrid-sim hj212, one TCP connection each, all in the daemon's sensor
# registry) send 200,000 real-time frames as fast as the daemon answers them
# (at most 8 unacknowledged a logger); the rate is the daemon's: readings
# accepted a second, from /api/v1/status polled by bench_sub --watch over one
# kept-alive connection, first to last reading.  A fresh daemon each run,
# behind a real local mosquitto (the daemon needs its broker); medians of
# $RUNS runs, and the acknowledgements the simulator got.
# Usage: B=build RUNS=3 sh tests/bench/bench_hj212.sh  (called by make bench)
set -eu
B=${B:-build}
RUNS=${RUNS:-3}
ROWS=100
COLS=100
LOGGERS=${LOGGERS:-1000}
N=${FRAMES:-200000}
tmp=$(mktemp -d /tmp/aqgrid-bench-hj212.XXXXXX)
pids=""

cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

now() { date +%s.%N; }
median() { sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

free_port() {
	while :; do
		p=$((20000 + $(od -An -N2 -tu2 /dev/urandom) % 40000))
		ss -ltn | grep -q ":$p " || { echo "$p"; return; }
	done
}

mqtt=$(free_port)
sed "s/@PORT@/$mqtt/" etc/mosquitto-test.conf >"$tmp/mosquitto.conf"
mosquitto -c "$tmp/mosquitto.conf" >"$tmp/mosquitto.log" 2>&1 &
pids="$pids $!"
sleep 0.5

# The registry: logger k (MN = prefix and k, from 1) stands in cell k - 1
# of the grid, row by row, where aqgrid-sim --rows/--cols puts it.
awk -v n="$LOGGERS" -v cols=$COLS 'BEGIN {
	for (k = 1; k <= n; k++)
		printf "[sensor 010000A8900016%010d]\ncell = r%03dc%03d\n" \
		    "password = 123456\n", k, int((k - 1) / cols),
		    (k - 1) % cols
}' >"$tmp/registry.conf"

start_daemon() {
	http=$(free_port)
	hj=$(free_port)
	cat >"$tmp/aqgridd.conf" <<EOF
[mqtt]
port = $mqtt
client_id = bench-hj212-$$-$(now)
subscribe = aq/bench-hj212/# json 0
[http]
listen = 127.0.0.1:$http
web_root = web
threads = 2
[hj212]
listen = 127.0.0.1:$hj
connections = 2048
[ingest]
queue = 262144
[grid]
origin = 40.0 116.0
rows = $ROWS
cols = $COLS
include = registry.conf
EOF
	"$B/aqgridd" -f -c "$tmp/aqgridd.conf" 2>>"$tmp/aqgridd.log" &
	dpid=$!
	pids="$pids $dpid"
	for _ in $(seq 100); do
		if curl -sf "http://127.0.0.1:$http/readyz" >/dev/null &&
		    ss -ltn | grep -q "127.0.0.1:$hj "; then
			return
		fi
		kill -0 "$dpid" 2>/dev/null || break
		sleep 0.1
	done
	echo "bench: aqgridd did not become ready with an HJ 212 listener" \
	    "(log: $(tail -n 3 "$tmp/aqgridd.log" | tr '\n' ' '))" >&2
	exit 1
}

stop_daemon() {
	kill "$dpid"
	wait "$dpid" 2>/dev/null || true
}

: >"$tmp/runs"
for r in $(seq "$RUNS"); do
	start_daemon
	"$B/bench/bench_sub" --watch "$http" "$N" >"$tmp/watch.out" &
	wpid=$!
	until grep -q ready "$tmp/watch.out"; do sleep 0.05; done
	"$B/aqgrid-sim" hj212 --port "$hj" --loggers "$LOGGERS" \
	    --rows $ROWS --cols $COLS --rate 0 --count "$N" \
	    2>"$tmp/sim.log" || {
		echo "bench: aqgrid-sim hj212 failed:" \
		    "$(tr '\n' ' ' <"$tmp/sim.log")" >&2
		exit 1
	}
	wait "$wpid"
	# "aqgrid-sim: sent Z frames (Y acknowledged)"
	acks=$(awk '/^aqgrid-sim: sent [0-9]+ frames/ {
		sub(/\(/, "", $5); print $5, $3 }' "$tmp/sim.log")
	tail -n 1 "$tmp/watch.out" | awk -v a="$acks" \
	    '{printf "%.0f %d %s\n", ($2 > 0 ? $1 / $2 : 0), $1, a}' \
	    >>"$tmp/runs"
	stop_daemon
done
# Each line: rate, readings accepted, acknowledged, sent.
rate=$(cut -d' ' -f1 "$tmp/runs" | median)
acks=$(awk '{print $3 " of " $4}' "$tmp/runs" | sort -u)
[ "$(printf '%s\n' "$acks" | wc -l)" -eq 1 ] ||
    acks=$(awk '{printf "%s%s/%s", NR > 1 ? ", " : "", $3, $4}' "$tmp/runs")
echo "hj212: $LOGGERS logger connections: median $rate frames/s through" \
    "the listener (runs: $(cut -d' ' -f1 "$tmp/runs" | tr '\n' ' ')/" \
    "readings accepted of $N: $(cut -d' ' -f2 "$tmp/runs" | tr '\n' ' '))," \
    "acks $acks"
