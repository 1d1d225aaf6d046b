#!/usr/bin/env bash
# Makes sure `make test` has what it needs on a fresh machine: a real redis-server (REDIS_URL, or the
# binary on PATH, installed from Debian's packages when we are root and apt-get is there) and the real
# Node Hydra peers (hydra, hydra-express: npm ci in integration/node) and chromium for the dashboard
# test. Says what it does; fails with instructions otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."

# redis-server for every test; redis-cli (redis-tools) to create the test cluster; redis-sentinel for
# the Sentinel shape (redistest falls back to redis-server --sentinel without it).
if [ -z "${REDIS_URL:-}" ] && ! { command -v redis-server && command -v redis-cli; } >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "ensure-deps: no redis-server or redis-cli on PATH; installing Debian's redis-server and redis-tools"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server redis-tools >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-sentinel >/dev/null 2>&1 || true
    # The package starts a system service on 6379; tests start their own servers, so stop it.
    (service redis-server stop || systemctl stop redis-server) >/dev/null 2>&1 || true
  else
    echo "ensure-deps: tests need a real Redis. Set REDIS_URL=redis://host:port/db, or install redis-server" >&2
    echo "             (Debian/Ubuntu: sudo apt-get install -y redis-server; macOS: brew install redis)" >&2
    exit 1
  fi
fi

# Chromium for the router dashboard's browser test (router/dashboard, driven by chromedp).
if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "ensure-deps: installing Debian's chromium for the dashboard browser test"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  elif [ "${CI:-}" = true ]; then
    echo "ensure-deps: CI needs chromium for the dashboard browser test" >&2
    exit 1
  else
    echo "ensure-deps: no chromium; the dashboard browser test will be skipped"
  fi
fi

if [ -d integration/node ]; then
  if ! command -v npm >/dev/null 2>&1; then
    if [ "${CI:-}" = true ]; then
      echo "ensure-deps: CI needs node and npm for the Node Hydra interop tests" >&2
      exit 1
    fi
    echo "ensure-deps: no npm; the Node Hydra interop tests will be skipped"
  elif [ ! -d integration/node/node_modules/hydra ] || [ ! -d integration/node/node_modules/hydra-express ]; then
    echo "ensure-deps: installing the Node Hydra peer (npm ci in integration/node)"
    (cd integration/node && npm ci --no-audit --no-fund --loglevel=error)
  fi
fi
