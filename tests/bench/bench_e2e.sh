#!/bin/sh
# bench_e2e.sh: aqgridd end to end through a real local mosquitto.
#  1. Ingest rate of aqgridd against a bare subscriber that only counts,
#     same broker, same publisher (aqgrid-sim back-filling one hour of a
#     10,000-cell grid with 20,000 sensors: 240,000 messages), at QoS 0 and
#     QoS 1; medians of $RUNS runs and their ratio.
#  2. The same at QoS 1 with the store on (journal, images, hourly rows)
#     against the store off; and the start-up time of a daemon holding
#     24 hours of state for the 10,000 cells, after a clean stop and after
#     kill -9 (image + journal replay).
#  3. GET /api/v1/cells/{id} under wrk while aqgrid-sim publishes at half the
#     QoS 0 ceiling: requests/s, p99, and the ingest rate with and without
#     the HTTP load.
# Usage: B=build RUNS=3 sh tests/bench/bench_e2e.sh  (called by make bench)
set -eu
B=${B:-build}
RUNS=${RUNS:-3}
ROWS=100
COLS=100
PER_CELL=2
N=$((ROWS * COLS * PER_CELL * 12))
tmp=$(mktemp -d /tmp/aqgrid-bench.XXXXXX)
pids=""

cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"%.3f\", $1 }"; }
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

sim() { # qos, then extra arguments
	q=$1
	shift
	"$B/aqgrid-sim" -p "$mqtt" -q "$q" -i "sim-$$-$(now)" synth \
	    --rows $ROWS --cols $COLS --sensors-per-cell $PER_CELL \
	    --fault-free "$@" 2>>"$tmp/sim.log"
}

status_accepted() {
	curl -s "http://127.0.0.1:$http/api/v1/status" |
	    sed -n 's/.*"readings":{"accepted":\([0-9]*\).*/\1/p'
}

start_daemon() { # qos [store folder]
	http=$(free_port)
	store=${2:-}
	cat >"$tmp/aqgridd.conf" <<EOF
[mqtt]
port = $mqtt
client_id = bench-$$-$(now)
subscribe = aq/sim/# json $1
[http]
listen = 127.0.0.1:$http
web_root = web
threads = 2
[ingest]
queue = 262144
[grid]
origin = 40.0 116.0
rows = $ROWS
cols = $COLS
EOF
	if [ -n "$store" ]; then
		printf '[store]\ndir = %s\n' "$store" >>"$tmp/aqgridd.conf"
	fi
	"$B/aqgridd" -f -c "$tmp/aqgridd.conf" 2>>"$tmp/aqgridd.log" &
	dpid=$!
	pids="$pids $dpid"
	for _ in $(seq 100); do
		curl -sf "http://127.0.0.1:$http/readyz" >/dev/null && return
		sleep 0.1
	done
	echo "bench: aqgridd did not become ready" >&2
	exit 1
}

stop_daemon() {
	kill "$dpid"
	wait "$dpid" 2>/dev/null || true
}

for q in 0 1; do
	: >"$tmp/bare.$q"
	: >"$tmp/daemon.$q"
	for r in $(seq "$RUNS"); do
		QOS=$q "$B/bench/bench_sub" "$mqtt" 'aq/sim/#' "$N" \
		    >"$tmp/sub.out" &
		spid=$!
		until grep -q ready "$tmp/sub.out"; do sleep 0.05; done
		sleep 0.3
		sim "$q" --backfill 1 --no-live
		wait "$spid"
		tail -n 1 "$tmp/sub.out" | awk -v n="$N" \
		    '{printf "%.0f %d\n", $1 / $2, $1}' >>"$tmp/bare.$q"

		start_daemon "$q"
		"$B/bench/bench_sub" --watch "$http" "$N" >"$tmp/watch.out" &
		wpid=$!
		until grep -q ready "$tmp/watch.out"; do sleep 0.05; done
		sim "$q" --backfill 1 --no-live
		wait "$wpid"
		tail -n 1 "$tmp/watch.out" | awk \
		    '{printf "%.0f %d\n", $1 / $2, $1}' >>"$tmp/daemon.$q"
		stop_daemon
	done
	bare=$(cut -d' ' -f1 "$tmp/bare.$q" | median)
	daemon=$(cut -d' ' -f1 "$tmp/daemon.$q" | median)
	echo "e2e: QoS $q: bare subscriber median $bare msg/s," \
	    "aqgridd median $daemon msg/s, ratio" \
	    "$(calc "$daemon / $bare")" \
	    "(runs: bare $(cut -d' ' -f1 "$tmp/bare.$q" | tr '\n' ' ')/" \
	    "aqgridd $(cut -d' ' -f1 "$tmp/daemon.$q" | tr '\n' ' ');" \
	    "delivered of $N: bare $(cut -d' ' -f2 "$tmp/bare.$q" |
		tr '\n' ' ')/ aqgridd $(cut -d' ' -f2 "$tmp/daemon.$q" |
		tr '\n' ' '))"
	[ "$q" = 0 ] && ceiling=$bare
done

# The store's cost at QoS 1: the same back-fill into a daemon with and
# without a store folder (a fresh one per run), on and off in turns so that
# whatever else loads the machine weighs on both alike.
: >"$tmp/store.off"
: >"$tmp/store.on"
for r in $(seq "$RUNS"); do
	for mode in off on; do
		rm -rf "$tmp/store-run"
		if [ "$mode" = on ]; then
			start_daemon 1 "$tmp/store-run"
		else
			start_daemon 1
		fi
		"$B/bench/bench_sub" --watch "$http" "$N" >"$tmp/watch.out" &
		wpid=$!
		until grep -q ready "$tmp/watch.out"; do sleep 0.05; done
		sim 1 --backfill 1 --no-live
		wait "$wpid"
		tail -n 1 "$tmp/watch.out" | awk \
		    '{printf "%.0f\n", $1 / $2}' >>"$tmp/store.$mode"
		stop_daemon
	done
done
off=$(median <"$tmp/store.off")
on=$(median <"$tmp/store.on")
echo "e2e: QoS 1 with the store on: median $on msg/s against $off off," \
    "ratio $(calc "$on / $off") (runs: on $(tr '\n' ' ' <"$tmp/store.on")/" \
    "off $(tr '\n' ' ' <"$tmp/store.off"))"

# Start-up with 24 hours of state for every cell: back-fill a day, stop
# (a last image), then start again and time it until it answers /readyz;
# its first answers already come from the restored windows.
rm -rf "$tmp/store-day"
start_daemon 0 "$tmp/store-day"
sim 0 --backfill 24 --no-live
sleep 2
day=$(status_accepted)
stop_daemon
startup() { # label
	t0=$(now)
	start_daemon 0 "$tmp/store-day"
	t1=$(now)
	echo "e2e: start-up with $((ROWS * COLS)) cells and 24 h of state" \
	    "($day readings) $1: $(calc "$t1 - $t0") s to ready;" \
	    "$(grep 'resumed' "$tmp/aqgridd.log" | tail -n 1 |
		sed 's/.*ingest: //')"
}
startup "after a clean stop"
# Live data for a while, then kill -9: the journal holds what the last
# image does not.
sim 0 --backfill 0 --live --rate 20000 --duration 8
kill -9 "$dpid"
wait "$dpid" 2>/dev/null || true
startup "after kill -9"
stop_daemon
rm -rf "$tmp/store-day"

# HTTP under ingest at half the QoS 0 ceiling.
half=$((${ceiling%.*} / 2))
start_daemon 0
sim 0 --backfill 0 --live --rate "$half" --duration 24 &
simpid=$!
sleep 4
a0=$(status_accepted)
t0=$(now)
sleep 8
a1=$(status_accepted)
t1=$(now)
wrk -t2 -c32 -d8s --latency \
    "http://127.0.0.1:$http/api/v1/cells/r050c050" >"$tmp/wrk.out"
a2=$(status_accepted)
t2=$(now)
quiet=$(calc "($a1 - $a0) / ($t1 - $t0)")
loaded=$(calc "($a2 - $a1) / ($t2 - $t1)")
rps=$(sed -n 's/^Requests\/sec: *//p' "$tmp/wrk.out")
p99=$(awk '$1 == "99%" {print $2}' "$tmp/wrk.out")
echo "e2e: HTTP GET /api/v1/cells/{id} (wrk, 2 threads, 32 connections)" \
    "while publishing $half msg/s: $rps req/s, p99 $p99;" \
    "ingest $quiet msg/s before, $loaded msg/s during"
wait "$simpid" 2>/dev/null || true
echo "e2e: aqgridd RSS with $((ROWS * COLS)) cells and" \
    "$((ROWS * COLS * PER_CELL)) sensors after the runs:" \
    "$(awk '/VmRSS/ {print $2, $3}' /proc/"$dpid"/status)"
stop_daemon
