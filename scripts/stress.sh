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
trap 'kill "${burners[@]}" 2>/dev/null || true' EXIT
# shellcheck disable=SC2086
$GO test -race -count=5 -timeout 60m $PKGS
