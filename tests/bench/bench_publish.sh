#!/bin/sh
# bench_publish.sh: the cost of [publish] (results back to MQTT) on ingest.
# The back-fill of bench_e2e.sh (aqgrid-sim, one hour of a 10,000-cell grid
# with 20,000 sensors: 240,000 messages at QoS 0) into aqgridd with
# publishing off and on (discovery included), in turns so that whatever
# else loads the machine weighs on both alike; medians of $RUNS runs, and
# what the publisher sent meanwhile (cells, areas, discovery documents)
# and dropped.
# Usage: B=build RUNS=3 sh tests/bench/bench_publish.sh  (called by make bench)
set -eu
B=${B:-build}
RUNS=${RUNS:-3}
ROWS=100
COLS=100
PER_CELL=2
N=$((ROWS * COLS * PER_CELL * 12))
tmp=$(mktemp -d /tmp/aqgrid-bench-pub.XXXXXX)
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

# The sum of a metric's series.
metric() {
	curl -s "http://127.0.0.1:$http/metrics" |
	    awk -v m="$1" 'index($0, m) == 1 {s += $NF} END {print s + 0}'
}

start_daemon() { # publish: yes or no
	http=$(free_port)
	cat >"$tmp/aqgridd.conf" <<CONF
[mqtt]
port = $mqtt
client_id = bench-$$-$(now)
subscribe = aq/sim/# json 0
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
[area west]
cells = r000c000-r099c049
[area east]
cells = r000c050-r099c099
[publish]
enabled = $1
client_id = bench-pub-$$
CONF
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

# Waits until the publisher has sent its discovery documents (it does at
# connect): the back-fill then measures the steady cost, not start-up.
# The discovery burst at connect: messages and seconds from the first
# counted to the last (polled every 50 ms), appended to $tmp/burst.
burst() {
	until [ "$(metric 'aqgrid_publish_messages_total')" -gt 0 ]; do
		sleep 0.05
	done
	b0=$(now)
	last=-1
	while :; do
		n=$(metric 'aqgrid_publish_messages_total')
		if [ "$n" = "$last" ]; then
			break
		fi
		last=$n
		b1=$(now)
		sleep 0.05
	done
	echo "$n $(calc "$b1 - $b0")" >>"$tmp/burst"
}

settle_publisher() {
	last=-1
	while :; do
		n=$(metric 'aqgrid_publish_messages_total')
		[ "$n" = "$last" ] && [ "$n" -gt 0 ] && return
		last=$n
		sleep 0.5
	done
}

: >"$tmp/off"
: >"$tmp/on"
: >"$tmp/sent"
: >"$tmp/burst"
for r in $(seq "$RUNS"); do
	for mode in off on; do
		if [ "$mode" = on ]; then
			start_daemon yes
			# The burst at connect (status and discovery), timed
			# from the first message counted to the last.
			burst
		else
			start_daemon no
		fi
		before=$(metric 'aqgrid_publish_messages_total')
		"$B/bench/bench_sub" --watch "$http" "$N" >"$tmp/watch.out" &
		wpid=$!
		until grep -q ready "$tmp/watch.out"; do sleep 0.05; done
		t0=$(now)
		"$B/aqgrid-sim" -p "$mqtt" -q 0 -i "sim-$$-$(now)" synth \
		    --rows $ROWS --cols $COLS --sensors-per-cell $PER_CELL \
		    --fault-free --backfill 1 --no-live 2>>"$tmp/sim.log"
		wait "$wpid"
		tail -n 1 "$tmp/watch.out" | awk \
		    '{printf "%.0f\n", $1 / $2}' >>"$tmp/$mode"
		if [ "$mode" = on ]; then
			# Until the worker has caught up with the last views.
			settle_publisher
			t1=$(now)
			after=$(metric 'aqgrid_publish_messages_total')
			echo "$((after - before)) $(calc "$t1 - $t0")" \
			    "$(metric 'aqgrid_publish_dropped_total')" \
			    "$(metric 'aqgrid_publish_messages_total{kind="cell"}')" \
			    "$(metric 'aqgrid_publish_messages_total{kind="discovery"}')" \
			    >>"$tmp/sent"
		fi
		stop_daemon
	done
done
off=$(median <"$tmp/off")
on=$(median <"$tmp/on")
echo "publish: QoS 0 back-fill of $N messages: median $on msg/s with" \
    "[publish] on against $off off, ratio $(calc "$on / $off")" \
    "(runs: on $(tr '\n' ' ' <"$tmp/on")/ off $(tr '\n' ' ' <"$tmp/off"))"
awk '{printf "publish: at connect, %d messages (status and discovery)" \
    " in %.2f s: %.0f msg/s\n", $1, $2, $1 / $2}' "$tmp/burst"
awk '{printf "publish: run %d: %d messages published during the back-fill" \
    " in %.1f s (%.0f/s), %d dropped; %d cell messages and %d discovery" \
    " documents in all\n", NR, $1, $2, $1 / $2, $3, $4, $5}' "$tmp/sent"
