#!/bin/sh
# forecast.sh: the dashboard's forecast checks (forecast.test.mjs) for
# tests/run.sh, which counts one Check summary line per program.
exec sh "$(dirname "$0")/run.sh" forecast.test
