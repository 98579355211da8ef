#!/bin/sh
# demo.sh: the whole system on this machine, for a first look.  Starts a
# private mosquitto on a free loopback port, aqgridd with the sample district
# and the dashboard on http://127.0.0.1:8080, and aqgrid-sim, which
# back-fills the last 24 hours and then publishes live.  Ctrl-C stops all
# three.  Run through `make demo`, which builds first.
set -u
B=${B:-build}
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

if ss -ltn 2>/dev/null | grep -q '127.0.0.1:8080 \|\*:8080 \|0.0.0.0:8080 '; then
	echo "demo: port 8080 is taken; stop what uses it and try again" >&2
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
    -e "s|^web_root = .*|web_root = $top/web|" \
    -e "s|^include = grid.conf|include = $top/etc/grid.conf|" \
    -e "s|^include = rules.conf|include = $top/etc/rules.conf|" \
    -e "s|^dir = /var/lib/aqgridd|dir = $tmp/store|" \
    "$top/etc/aqgridd.conf" >"$tmp/aqgridd.conf"
"$top/$B/aqgridd" -f -c "$tmp/aqgridd.conf" &
pids="$pids $!"
"$top/$B/aqgrid-sim" -p "$port" -q 1 synth --rows 22 --cols 12 \
    --backfill 24 --live --dust-sites 3 2>"$tmp/sim.log" &
pids="$pids $!"

echo "demo: broker on 127.0.0.1:$port, simulator back-filling 24 hours"
echo "demo: dashboard and API on http://127.0.0.1:8080/   (Ctrl-C stops)"
wait
