#!/bin/sh
# run.sh: runs Check test binaries, sums their results and prints the closing
# line "check: N passed, M failed".  $RUNNER (e.g. valgrind) wraps each one.
# Exit status 0 only when every binary ran and every check passed.
set -u
passed=0
failed=0
status=0
for t in "$@"; do
	out=$(${RUNNER:-} "$t" 2>&1)
	rc=$?
	printf '%s\n' "$out"
	line=$(printf '%s\n' "$out" | grep -E '^[0-9]+%: Checks: ' | tail -n 1)
	if [ -z "$line" ]; then
		echo "run.sh: $t: no Check summary (exit $rc)" >&2
		failed=$((failed + 1))
		status=1
		continue
	fi
	n=$(printf '%s' "$line" | sed -E 's/.*Checks: ([0-9]+).*/\1/')
	f=$(printf '%s' "$line" | sed -E 's/.*Failures: ([0-9]+).*/\1/')
	e=$(printf '%s' "$line" | sed -E 's/.*Errors: ([0-9]+).*/\1/')
	passed=$((passed + n - f - e))
	failed=$((failed + f + e))
	[ "$rc" -eq 0 ] && [ $((f + e)) -eq 0 ] || status=1
done
echo "check: $passed passed, $failed failed"
exit $status
