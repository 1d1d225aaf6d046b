#!/usr/bin/env bash
# make stress: the timing-sensitive packages, five times over with the race detector, while two busy
# loops keep both cores of the machine saturated. A test that passes only on an idle machine fails here.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
PKGS=${STRESS_PKGS:-"./sd/... ./queue/... ./transport/... ./health/... ./integration/..."}
burners=()
for _ in $(seq "$(nproc)"); do
	( while :; do :; done ) &
	burners+=($!)
done
# STRESS_PAUSE=1 also freezes every test binary for 300 ms of each second (SIGSTOP/SIGCONT): a stall
# that busy loops alone rarely cause, and the one that exposed a lease test racing its heartbeat.
if [ "${STRESS_PAUSE:-0}" = 1 ]; then
	( while :; do sleep 0.7; pkill -STOP -f '\.test -test\.' || true; sleep 0.3; pkill -CONT -f '\.test -test\.' || true; done ) &
	burners+=($!)
fi
trap 'kill "${burners[@]}" 2>/dev/null || true; pkill -CONT -f "\.test -test\." 2>/dev/null || true' EXIT
# shellcheck disable=SC2086
$GO test -race -count=5 -timeout 60m $PKGS
