#!/usr/bin/env bash
# Runs every fuzz target of every package for FUZZTIME each. Go 1.26's fuzz coordinator can end a
# clean run with a bare "context deadline exceeded" at the -fuzztime boundary (go.dev/issue/75804,
# fixed in Go 1.27); a real finding always writes a reproducer ("Failing input written to"). So a
# failure counts only with a reproducer or another error; a bare deadline is reported and retried once.
set -uo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
FUZZTIME=${FUZZTIME:-10s}
passed=0 failed=0
run() { # dir target
  "$GO" test "./$1" -run '^$' -fuzz "^$2\$" -fuzztime "$FUZZTIME" >"$log" 2>&1
}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for f in $(grep -l '^func Fuzz' $(git ls-files '*_test.go')); do
  dir=$(dirname "$f")
  for t in $(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\).*/\1/p' "$f"); do
    echo "== $dir $t"
    ok=false
    for try in 1 2; do
      if run "$dir" "$t"; then ok=true; break; fi
      if grep -q 'Failing input written to' "$log" || ! grep -q 'context deadline exceeded' "$log"; then
        break # a real finding, or a failure of another kind
      fi
      echo "   bare 'context deadline exceeded' with no reproducer (go.dev/issue/75804); retrying once"
    done
    tail -n 2 "$log"
    if $ok; then passed=$((passed + 1)); else failed=$((failed + 1)); cat "$log"; fi
  done
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" = 0 ]
