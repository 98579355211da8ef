#!/bin/sh
# demo_time.sh: how long a first-time user of `make demo` waits, from the
# start of etc/demo.sh (programs already built) to
#   map      every cell of /api/v1/cells with an AQI (of any hour: while
#            the back-fill runs, the map replays the past),
#   now      every cell's hour the latest complete one (back-fill caught up)
#            and an AQI in all cells but those the simulator's dropouts
#            blank for that hour,
#   forecast every cell's /api/v1/cells/{id}/forecast ready,
#   warning  every area's /api/v1/areas/{id}/warning from the model,
#   plan     /api/v1/indicators with days of data (data_days > 0),
# polled every 0.25 s; medians of $RUNS runs.  The demo listens on a free
# port, not 8080.  Needs curl and jq.
# Usage: B=build RUNS=3 [DEMO_BACKFILL=H] sh tests/bench/demo_time.sh
set -eu
B=${B:-build}
RUNS=${RUNS:-3}
LIMIT=${LIMIT:-300}
top=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d /tmp/aqgrid-demotime.XXXXXX)
dpid=""

cleanup() {
	[ -z "$dpid" ] || kill "$dpid" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

median() { sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
now() { date +%s.%N; }

free_port() {
	while :; do
		p=$((20000 + $(od -An -N2 -tu2 /dev/urandom) % 40000))
		ss -ltn | grep -q ":$p " || { echo "$p"; return; }
	done
}

# One run: prints "map now forecast warning plan" in seconds.
run() {
	port=$(free_port)
	url=http://127.0.0.1:$port
	DEMO_LISTEN=127.0.0.1:$port B=$B sh "$top/etc/demo.sh" \
	    >"$tmp/demo.log" 2>&1 &
	dpid=$!
	t0=$(now)
	rm -f "$tmp/fc.urls" "$tmp/warn.urls"
	t_map="" t_now="" t_fc="" t_warn="" t_plan=""
	while :; do
		el=$(awk "BEGIN { printf \"%.2f\", $(now) - $t0 }")
		if awk "BEGIN { exit !($el > $LIMIT) }"; then
			echo "demo_time: not all there after ${LIMIT} s" >&2
			break
		fi
		sleep 0.25
		cells=$(curl -sf "$url/api/v1/cells?limit=1000" 2>/dev/null) ||
		    continue
		if [ -z "$t_map" ] && echo "$cells" | jq -e \
		    '.results | length > 0 and all(.aqi != null)' >/dev/null
		then
			t_map=$el
		fi
		# The latest complete hour: the one that ended before now, in
		# all cells but the one whose sensor the simulator takes
		# offline when it goes live, with an AQI in all but the few
		# whose sensor the simulator silences for that hour.
		if [ -z "$t_now" ] && echo "$cells" | jq -e --argjson t \
		    "$(date +%s)" '(.results | length) as $n |
		    ([.results[] | select(.aqi != null)] | length >= $n - 3) and
		    ([.results[] | select(.hour != null and (.hour |
		    sub("(?<h>.*)\\+08:00"; "\(.h)Z") | fromdate) - 8 * 3600 >=
		    $t - 3600 - 120)] | length >= $n - 1)' >/dev/null 2>&1
		then
			t_now=$el
		fi
		# One curl for all the cells' forecasts, one for the areas'
		# warnings (kept-alive connections: a poll stays short).
		if [ -z "$t_fc" ]; then
			[ -s "$tmp/fc.urls" ] || echo "$cells" | jq -r --arg u \
			    "$url" '.results[] | "url = \($u)/api/v1/cells/\(.id)/forecast"' \
			    >"$tmp/fc.urls"
			curl -sf -K "$tmp/fc.urls" | jq -s -e \
			    'length > 0 and all(.ready)' >/dev/null 2>&1 &&
			    t_fc=$el
		fi
		if [ -z "$t_warn" ]; then
			[ -s "$tmp/warn.urls" ] || curl -sf "$url/api/v1/areas" |
			    jq -r --arg u "$url" '.results[] |
			    "url = \($u)/api/v1/areas/\(.id)/warning"' \
			    >"$tmp/warn.urls" 2>/dev/null || true
			curl -sf -K "$tmp/warn.urls" 2>/dev/null | jq -s -e \
			    'length > 0 and all(.source == "model")' \
			    >/dev/null 2>&1 && t_warn=$el
		fi
		if [ -z "$t_plan" ] && [ "$(curl -sf "$url/api/v1/indicators" |
		    jq '.data_days > 0')" = true ]; then
			t_plan=$el
		fi
		[ -n "$t_map" ] && [ -n "$t_now" ] && [ -n "$t_fc" ] &&
		    [ -n "$t_warn" ] && [ -n "$t_plan" ] && break
	done
	kill "$dpid" 2>/dev/null || true
	wait "$dpid" 2>/dev/null || true
	dpid=""
	echo "${t_map:-NA} ${t_now:-NA} ${t_fc:-NA} ${t_warn:-NA} ${t_plan:-NA}"
}

: >"$tmp/runs"
for i in $(seq "$RUNS"); do
	r=$(run)
	echo "demo_time: run $i: map $(echo "$r" | cut -d' ' -f1) s," \
	    "current hour $(echo "$r" | cut -d' ' -f2) s," \
	    "forecasts $(echo "$r" | cut -d' ' -f3) s," \
	    "warnings $(echo "$r" | cut -d' ' -f4) s," \
	    "indicators $(echo "$r" | cut -d' ' -f5) s"
	echo "$r" >>"$tmp/runs"
done
echo "demo_time: medians of $RUNS runs (back-fill ${DEMO_BACKFILL:-default}):" \
    "map $(cut -d' ' -f1 "$tmp/runs" | median) s," \
    "current hour $(cut -d' ' -f2 "$tmp/runs" | median) s," \
    "forecasts $(cut -d' ' -f3 "$tmp/runs" | median) s," \
    "warnings $(cut -d' ' -f4 "$tmp/runs" | median) s," \
    "indicators $(cut -d' ' -f5 "$tmp/runs" | median) s"
