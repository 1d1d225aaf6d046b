#!/usr/bin/env bash
# The exported surface of every public package, kept in api/<package>.txt so that a change to it is
# deliberate: `check` (run by make lint) fails when the code's surface differs from the files, `write`
# (make api) rewrites them, and `diff BASE` (make apidiff) classifies the changes since git revision BASE
# as compatible or not with golang.org/x/exp/cmd/apidiff.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
APIDIFF=${APIDIFF:-golang.org/x/exp/cmd/apidiff@v0.0.0-20261113113407-e3970619a1a4}
module=$($GO list -m)

packages() {
  $GO list -f '{{if ne .Name "main"}}{{.ImportPath}}{{end}}' ./... |
    grep -vE "/(internal|examples|bench|integration|cmd)(/|$)"
}

# surface prints a package's declarations as go doc shows them, without the doc text.
surface() {
  $GO doc -all "$1" | awk 'NR == 1 { print; next } /^(CONSTANTS|VARIABLES|FUNCTIONS|TYPES)$/ { body = 1 } body' |
    grep -vE '^(    |$)' | grep -vE '^[[:space:]]*//'
}

file() { local p=${1#"$module"}; p=${p#/}; echo "api/${p:-hydrakit}.txt" | tr / _ | sed 's#^api_#api/#'; }

case "${1:-check}" in
write)
  rm -rf api && mkdir -p api
  for p in $(packages); do surface "$p" >"$(file "$p")"; done
  echo "api: wrote $(ls api | wc -l) files"
  ;;
check)
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
  status=0
  for p in $(packages); do
    f=$(file "$p")
    surface "$p" >"$tmp/now"
    if [ ! -f "$f" ] || ! diff -u "$f" "$tmp/now" >"$tmp/diff"; then
      echo "api: the exported surface of $p changed:"; cat "$tmp/diff" 2>/dev/null || true
      status=1
    fi
  done
  for f in api/*.txt; do
    found=0
    for p in $(packages); do [ "$(file "$p")" = "$f" ] && found=1; done
    [ $found = 1 ] || { echo "api: $f names no package"; status=1; }
  done
  [ $status = 0 ] || echo "api: if the change is deliberate, run 'make api', list it in docs/changes.md and commit"
  exit $status
  ;;
diff)
  base=${2:?usage: api.sh diff BASE}
  tmp=$(mktemp -d); trap 'git worktree remove --force "$tmp/old" >/dev/null 2>&1; rm -rf "$tmp"' EXIT
  git worktree add -q --detach "$tmp/old" "$base"
  for p in $(packages); do
    rel=${p#"$module"}; rel=.${rel:-/}
    if (cd "$tmp/old" && [ -d "$rel" ] && $GO run "$APIDIFF" -w "$tmp/export" "$p") 2>/dev/null; then
      out=$($GO run "$APIDIFF" "$tmp/export" "$p")
      [ -n "$out" ] && printf '## %s\n%s\n\n' "$p" "$out"
    else
      printf '## %s\n(new package)\n\n' "$p"
    fi
  done
  ;;
*) echo "usage: api.sh [check|write|diff BASE]" >&2; exit 2 ;;
esac
