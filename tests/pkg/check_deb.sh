#!/bin/sh
# check_deb.sh DIR: installs DIR/aqgrid_*.deb (make deb) on this machine
# with apt-get, checks what it installed, runs the installed daemon as its
# user for a moment, then purges it and checks it is gone.  As root, on a
# machine that may be changed (CI's throwaway Debian 12, or a developer's
# test box): it adds the system user aqgridd, which purge leaves.
# Prints "check_deb: N passed, M failed"; exit status 0 only with M = 0.
set -u
dir=${1:-build}
passed=0
failed=0

ok() { passed=$((passed + 1)); echo "ok: $*"; }
bad() { failed=$((failed + 1)); echo "FAILED: $*" >&2; }
check() { # check "what" command...
	what=$1
	shift
	if "$@" >/tmp/check_deb.out 2>&1; then ok "$what"; else
		bad "$what"; sed 's/^/  | /' /tmp/check_deb.out >&2; fi
}

[ "$(id -u)" = 0 ] || { echo "check_deb: needs root" >&2; exit 1; }
deb=$(ls "$dir"/aqgrid_*.deb 2>/dev/null | head -n 1)
[ -n "$deb" ] || { echo "check_deb: no $dir/aqgrid_*.deb (make deb)" >&2; exit 1; }
case $deb in /*) ;; *) deb=./$deb ;; esac
version=$(sed -n 's/^#define AQ_VERSION "\(.*\)"/\1/p' daemon/version.h)
export DEBIAN_FRONTEND=noninteractive

# A previous run's install would make apt-get skip the same version.
dpkg-query -W aqgrid >/dev/null 2>&1 && apt-get purge -y -qq aqgrid >/dev/null

check "the package's version is the programs' ($version)" \
    sh -c "dpkg-deb -f '$deb' Version | grep -qx '$version'"
check "lintian: no error, no warning" \
    lintian --fail-on error,warning "$deb"
check "apt-get install $deb" apt-get install -y -qq "$deb"
check "dpkg says installed" \
    sh -c "dpkg-query -W -f='\${Status}' aqgrid | grep -q 'install ok installed'"
for f in /usr/sbin/aqgridd /usr/bin/aqgrid /usr/bin/aqgrid-sim; do
	check "$f runs" test -x "$f"
done
check "aqgrid --version" /usr/bin/aqgrid --version
check "system user aqgridd" \
    sh -c 'getent passwd aqgridd | awk -F: "\$3 < 1000 && \$7 ~ /nologin|false/ {ok=1} END {exit !ok}"'
check "/var/lib/aqgridd owned by aqgridd, mode 750" \
    sh -c 'test "$(stat -c %U:%G:%a /var/lib/aqgridd)" = aqgridd:aqgridd:750'
for f in aqgridd.conf grid.conf rules.conf; do
	check "/etc/aqgridd/$f is a conffile" \
	    sh -c "dpkg-query -W -f='\${Conffiles}' aqgrid | grep -q ' /etc/aqgridd/$f '"
done
check "the configuration points to the store and the web root" \
    sh -c 'grep -qx "dir = /var/lib/aqgridd" /etc/aqgridd/aqgridd.conf &&
	grep -qx "web_root = /usr/share/aqgrid/web" /etc/aqgridd/aqgridd.conf &&
	test -f /usr/share/aqgrid/web/static/index.html'
check "aqgridd -t -c /etc/aqgridd/aqgridd.conf (as aqgridd)" \
    runuser -u aqgridd -- /usr/sbin/aqgridd -t -c /etc/aqgridd/aqgridd.conf
for p in aqgridd.conf aqgridd aqgrid aqgrid-sim; do
	check "man -w $p" man -w "$p"
done
check "the pages format without warnings" \
    sh -c 'for p in aqgridd.conf aqgridd aqgrid aqgrid-sim; do
	out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 \
	    -Z "$(man -w $p)" 2>&1 >/dev/null); [ -z "$out" ] ||
	    { echo "$p: $out"; exit 1; }; done'
check "the unit is at /lib/systemd/system with /usr paths" \
    grep -q '^ExecStart=/usr/sbin/aqgridd -f ' /lib/systemd/system/aqgridd.service
check "systemd-analyze verify aqgridd.service" \
    sh -c 'out=$(systemd-analyze verify /lib/systemd/system/aqgridd.service 2>&1);
	echo "$out"; [ -z "$out" ]'

# The installed daemon, as its user, with the shipped configuration but
# free ports and no broker: it serves the dashboard from the web root and
# opens its store in /var/lib/aqgridd.
tmp=$(mktemp -d)
chmod 755 "$tmp"
sed -e 's/^listen = 127.0.0.1:8080$/listen = 127.0.0.1:0/' \
    -e 's/^port = 1883$/port = 1/' -e 's|^include = |include = /etc/aqgridd/|' \
    /etc/aqgridd/aqgridd.conf >"$tmp/aqgridd.conf"
chmod 644 "$tmp/aqgridd.conf"
setpriv --reuid=aqgridd --regid=aqgridd --init-groups \
    /usr/sbin/aqgridd -f -c "$tmp/aqgridd.conf" >"$tmp/log" 2>&1 &
pid=$!
port=
for _ in $(seq 1 100); do
	port=$(sed -n 's|.*http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$tmp/log" | head -n 1)
	[ -n "$port" ] && break
	sleep 0.1
done
check "the installed aqgridd starts as aqgridd" test -n "$port"
check "it serves the dashboard from /usr/share/aqgrid/web" \
    sh -c "curl -fsS http://127.0.0.1:$port/ | grep -qi '<html'"
check "its store is /var/lib/aqgridd/aqgrid.db, owned by aqgridd" \
    sh -c 'test "$(stat -c %U /var/lib/aqgridd/aqgrid.db)" = aqgridd'
kill "$pid" 2>/dev/null
wait "$pid"
rc=$?
check "it stops cleanly on SIGTERM (exit $rc)" \
    sh -c "[ $rc = 0 ] && grep -q 'aqgridd: stopped' '$tmp/log'"
[ "$failed" = 0 ] || sed 's/^/  log| /' "$tmp/log" >&2
rm -rf "$tmp"

check "apt-get purge aqgrid" apt-get purge -y -qq aqgrid
check "purge removed the programs, /etc/aqgridd and /var/lib/aqgridd" \
    sh -c '! test -e /usr/sbin/aqgridd && ! test -e /etc/aqgridd &&
	! test -e /var/lib/aqgridd && ! test -e /lib/systemd/system/aqgridd.service'
rm -f /tmp/check_deb.out
echo "check_deb: $passed passed, $failed failed"
[ "$failed" = 0 ]
