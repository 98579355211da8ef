#!/bin/sh
# deps.sh: makes sure aqgrid's build, test and demo dependencies are present.
# On Debian, as root, it installs the missing packages itself; otherwise it
# prints the one command to run and fails.  Called by make before building.
set -u

PKGS="gcc make pkg-config check libsubunit-dev libjansson-dev zlib1g-dev \
libmosquitto-dev libmicrohttpd-dev libcurl4-gnutls-dev libgnutls28-dev \
libsqlite3-dev mosquitto openssl tzdata valgrind clang clang-format libclang-rt-14-dev \
curl wrk iproute2 openssl faketime chromium fonts-wqy-microhei \
mandoc groff-base man-db"

missing=""
if command -v dpkg-query >/dev/null 2>&1; then
	for p in $PKGS; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
		    grep -q 'install ok installed' || missing="$missing $p"
	done
else
	pkg-config --exists check jansson libmosquitto libmicrohttpd libcurl \
	    2>/dev/null || missing=" (a pkg-config library)"
fi
# The dashboard's browser tests run node and npm: Debian's nodejs and npm,
# unless a node that brings its own npm is installed already.
command -v npm >/dev/null 2>&1 || missing="$missing nodejs npm"
[ -z "$missing" ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	echo "deps: installing:$missing" >&2
	export DEBIAN_FRONTEND=noninteractive
	if ! apt-get install -y --no-install-recommends $missing >/dev/null; then
		apt-get update -qq >/dev/null &&
		    apt-get install -y --no-install-recommends $missing \
		    >/dev/null || { echo "deps: apt-get failed" >&2; exit 1; }
	fi
	exit 0
fi
echo "deps: missing:$missing" >&2
echo "deps: run: sudo apt-get install -y --no-install-recommends$missing" >&2
exit 1
