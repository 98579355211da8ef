#!/bin/sh
# demo.sh: the whole system on this machine, for a first look.  Starts a
# private mosquitto on a free loopback port, aqgridd with the sample district
# and the dashboard on http://127.0.0.1:8080, and aqgrid-sim, which
# back-fills the last 8 days and then publishes live.  Ctrl-C stops all
# three.  Run through `make demo`, which builds first.
#
# Why 8 days: a cell's forecast needs FC_WARM = 168 hours with a value
# (daemon/forecast.h) and the areas' warning levels come from those
# forecasts; the plan indicators count whole days (7 here); the hotspots'
# pollution roses decay over a week.  --sources 1: a works in r007c008,
# the hotspot (the plume drifts on too fast to stand out 3 hours).  The
# back-fill goes oldest first, as the engine refuses a sensor's reading
# older than its newest by more than the lateness: the map replays the
# week within seconds and reaches the current hour, forecasts ready, in 14
# to 23 s on two cores (README.md, "What make demo shows, and when";
# tests/bench/demo_time.sh measures it).
set -u
B=${B:-build}
# DEMO_LISTEN: the dashboard's address; DEMO_BACKFILL: hours of history.
listen=${DEMO_LISTEN:-127.0.0.1:8080}
backfill=${DEMO_BACKFILL:-192}
top=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d /tmp/aqgrid-demo.XXXXXX)
pids=""

stop() {
	trap - INT TERM EXIT
	for p in $pids; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$tmp"
	echo "demo: stopped"
	exit 0
}
trap stop INT TERM EXIT

lport=${listen##*:}
if ss -ltn 2>/dev/null | grep -q ":$lport "; then
	echo "demo: port $lport is taken; stop what uses it and try again" >&2
	exit 1
fi

# A free loopback port for the broker: never 1883.
for try in 1 2 3 4 5 6 7 8; do
	port=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom) % 40000 ))
	ss -ltn 2>/dev/null | grep -q ":$port " && continue
	sed "s/@PORT@/$port/" "$top/etc/mosquitto-test.conf" >"$tmp/mosquitto.conf"
	mosquitto -c "$tmp/mosquitto.conf" >"$tmp/mosquitto.log" 2>&1 &
	mpid=$!
	sleep 0.3
	if kill -0 "$mpid" 2>/dev/null; then
		pids="$mpid"
		break
	fi
done
[ -n "$pids" ] || { echo "demo: cannot start mosquitto" >&2; exit 1; }

sed -e "s|^port = 1883|port = $port|" \
    -e "s|^listen = 127.0.0.1:8080|listen = $listen|" \
    -e "s|^web_root = .*|web_root = $top/web|" \
    -e "s|^include = grid.conf|include = $top/etc/grid.conf|" \
    -e "s|^include = rules.conf|include = $top/etc/rules.conf|" \
    -e "s|^dir = /var/lib/aqgridd|dir = $tmp/store|" \
    "$top/etc/aqgridd.conf" >"$tmp/aqgridd.conf"
"$top/$B/aqgridd" -f -c "$tmp/aqgridd.conf" &
pids="$pids $!"
"$top/$B/aqgrid-sim" -p "$port" -q 1 synth --rows 22 --cols 12 \
    --backfill "$backfill" --live --dust-sites 3 --sources 1 \
    2>"$tmp/sim.log" &
pids="$pids $!"

echo "demo: broker on 127.0.0.1:$port, simulator back-filling $backfill hours"
echo "demo: dashboard and API on http://$listen/   (Ctrl-C stops)"
wait
