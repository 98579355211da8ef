#!/bin/sh
# soak.sh: aqgridd for a long while under steady load -- aqgrid-sim
# publishing a 10,000-cell grid live at QoS 0 at RATE messages/s (default
# half the ceiling measured by bench_e2e.sh), the dashboard's API polled
# every second as the map does, the store on -- sampling the daemon's RSS,
# open file descriptors and thread count every minute.  At the end: every
# message the simulator published must have been applied (no loss), and
# RSS and descriptors must be flat after the warm-up.
# Usage: B=build DURATION=3600 RATE=75000 sh tests/bench/soak.sh
# (make soak; not in CI: it takes the whole DURATION).
set -eu
B=${B:-build}
DURATION=${DURATION:-3600}
RATE=${RATE:-75000}
ROWS=100
COLS=100
# 15 sensors a cell: 150,000 sensors, a round of all of them at 75,000
# messages a second takes exactly the 2 s its timestamps advance, so they
# keep pace with the clock (the daemon refuses readings stamped ahead of
# it).  Keep RATE dividing 150,000 into whole seconds.
PER_CELL=15
tmp=$(mktemp -d /tmp/aqgrid-soak.XXXXXX)
out=${SOAK_OUT:-$B/soak.tsv}
pids=""

cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

free_port() {
	while :; do
		p=$((20000 + $(od -An -N2 -tu2 /dev/urandom) % 40000))
		ss -ltn | grep -q ":$p " || { echo "$p"; return; }
	done
}
status() { # dotted path in /api/v1/status, e.g. readings.accepted
	curl -s "http://127.0.0.1:$http/api/v1/status" |
	    python3 -c 'import json,sys
v = json.load(sys.stdin)
for k in sys.argv[1].split("."): v = v.get(k, 0) if isinstance(v, dict) else 0
print(v)' "$1"
}

mqtt=$(free_port)
http=$(free_port)
sed "s/@PORT@/$mqtt/" etc/mosquitto-test.conf >"$tmp/mosquitto.conf"
mosquitto -c "$tmp/mosquitto.conf" >"$tmp/mosquitto.log" 2>&1 &
pids="$pids $!"
sleep 0.5
cat >"$tmp/aqgridd.conf" <<EOF
[mqtt]
port = $mqtt
client_id = soak-$$
subscribe = aq/sim/# json 0
[http]
listen = 127.0.0.1:$http
web_root = web
threads = 2
[ingest]
queue = 262144
sensors_max = $((ROWS * COLS * PER_CELL))
[store]
dir = $tmp/store
[grid]
origin = 40.0 116.0
rows = $ROWS
cols = $COLS
EOF
"$B/aqgridd" -f -c "$tmp/aqgridd.conf" 2>"$tmp/aqgridd.log" &
dpid=$!
pids="$pids $dpid"
for _ in $(seq 100); do
	curl -sf "http://127.0.0.1:$http/readyz" >/dev/null && break
	sleep 0.1
done

"$B/aqgrid-sim" -p "$mqtt" -q 0 -i "soak-sim-$$" synth --rows $ROWS \
    --cols $COLS --sensors-per-cell $PER_CELL --fault-free --backfill 0 \
    --live --rate "$RATE" --duration "$DURATION" 2>"$tmp/sim.log" &
spid=$!
pids="$pids $spid"

# The dashboard: the cell list, the areas, one cell and the metrics, once a
# second.
(
	while kill -0 "$spid" 2>/dev/null; do
		for p in "/api/v1/cells?limit=1000" /api/v1/areas \
		    /api/v1/cells/r050c050 /metrics; do
			curl -s -o /dev/null "http://127.0.0.1:$http$p" || true
		done
		sleep 1
	done
) &
pids="$pids $!"

printf 'minute\trss_kb\tfds\tthreads\taccepted\n' >"$out"
m=0
while kill -0 "$spid" 2>/dev/null; do
	printf '%d\t%s\t%s\t%s\t%s\n' "$m" \
	    "$(awk '/VmRSS/ {print $2}' /proc/$dpid/status)" \
	    "$(ls /proc/$dpid/fd | wc -l)" \
	    "$(awk '/Threads/ {print $2}' /proc/$dpid/status)" \
	    "$(status readings.accepted)" >>"$out"
	m=$((m + 1))
	for _ in $(seq 60); do
		kill -0 "$spid" 2>/dev/null || break
		sleep 1
	done
done
wait "$spid" || true
sleep 5
published=$(sed -n 's/.*published \([0-9]*\) messages.*/\1/p' "$tmp/sim.log")
accepted=$(status readings.accepted)
rejected=$(status readings.rejected)
printf '%d\t%s\t%s\t%s\t%s\n' "$m" \
    "$(awk '/VmRSS/ {print $2}' /proc/$dpid/status)" \
    "$(ls /proc/$dpid/fd | wc -l)" \
    "$(awk '/Threads/ {print $2}' /proc/$dpid/status)" "$accepted" >>"$out"
# Flat after the warm-up: minute 5 (the windows fill within the first
# hour's readings) against the last sample.
awk -F'\t' -v pub="${published:-0}" -v acc="$accepted" -v rej="$rejected" \
    -v rate="$RATE" -v dur="$DURATION" '
NR == 1 { next }
{ rss[$1] = $2; fd[$1] = $3; th[$1] = $4; last = $1
  if ($2 > maxrss) maxrss = $2; if ($3 > maxfd) maxfd = $3 }
END {
	w = last < 5 ? 0 : 5
	printf "soak: %d s at %d msg/s QoS 0, 10,000 cells, API polled each second\n", dur, rate
	printf "soak: published %d, applied %d, refused %d, lost %d\n", pub, acc, rej, pub - acc - rej
	printf "soak: RSS %.1f MB at minute %d, %.1f MB at the end (max %.1f); fds %d then %d (max %d); threads %d then %d\n",
	    rss[w] / 1024, w, rss[last] / 1024, maxrss / 1024, fd[w], fd[last], maxfd, th[w], th[last]
}' "$out"
echo "soak: per-minute samples in $out"
