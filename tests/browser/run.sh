#!/bin/sh
# run.sh: the dashboard's browser tests (dashboard.test.mjs), for
# tests/run.sh, which reads the Check-style summary line they print.
# playwright-core comes from npm with the committed package-lock.json
# (installed again only when the lock is newer than node_modules); the
# browser is Debian's /usr/bin/chromium.  $AQGRIDD names the daemon.
# "run.sh bench" runs bench.mjs instead (make bench).
set -u
cd "$(dirname "$0")" || exit 1
if [ ! -f node_modules/.package-lock.json ] ||
    [ package-lock.json -nt node_modules/.package-lock.json ]; then
	npm ci --no-audit --no-fund --loglevel=error ||
	    { echo "browser: npm ci failed" >&2; exit 1; }
fi
exec node "${1:-dashboard.test}.mjs"
