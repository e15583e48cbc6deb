#!/usr/bin/env bash
# Installs what Parley needs on a fresh machine: a virtual environment with the package, and
# with `--test`, the Debian packages the test suite starts (PostgreSQL, Redis) when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "bootstrap: $*" >&2; }

want_test=0
[ "${1:-}" = "--test" ] && want_test=1

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "need root to run: $*" >&2; return 1; fi
}

apt_updated=0
apt_install() {
  if ! command -v apt-get >/dev/null; then
    echo "please install: $* (no apt-get on this machine)" >&2; return 1
  fi
  say "installing Debian packages: $*"
  if [ "$apt_updated" = 0 ]; then as_root apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "$@"
}

PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; assert sys.version_info >= (3, 11)' 2>/dev/null; then
  echo "Parley needs Python 3.11 or newer as \$PYTHON (found: $($PYTHON --version 2>&1))" >&2
  exit 1
fi
if ! "$PYTHON" -m venv --help >/dev/null 2>&1 || ! "$PYTHON" -c 'import ensurepip' 2>/dev/null; then
  apt_install python3-venv
fi

if [ "$want_test" = 1 ]; then
  missing=()
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
  command -v psql >/dev/null || missing+=(postgresql-client)
  command -v redis-server >/dev/null || missing+=(redis-server)
  command -v flite >/dev/null || missing+=(flite)
  command -v espeak-ng >/dev/null || missing+=(espeak-ng)
  command -v ip >/dev/null || [ -x /usr/sbin/ip ] || missing+=(iproute2)
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  command -v npm >/dev/null || missing+=(nodejs npm)
  command -v turnserver >/dev/null || [ -x /usr/bin/turnserver ] || missing+=(coturn)
  # the SFU (tests/rtc); janus-tools: janus-pp-rec turns its recordings into media files.
  # Not for plain `make run`: without Janus, rooms stay peer-to-peer.
  command -v janus >/dev/null || missing+=(janus)
  command -v janus-pp-rec >/dev/null || missing+=(janus-tools)
  # deployment tests: the gateway, the service registry, Prometheus (+ promtool)
  command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx)
  command -v etcd >/dev/null || missing+=(etcd-server)
  command -v promtool >/dev/null || missing+=(prometheus)
  command -v amtool >/dev/null || missing+=(prometheus-alertmanager)
  if [ "${#missing[@]}" -gt 0 ]; then apt_install "${missing[@]}"; fi
fi

# An `if`, not `$(test && echo)`: under `set -e` a command substitution that fails in an
# assignment ends the script (that once broke `make run` on every fresh clone).
if [ "$want_test" = 1 ]; then stamp=.venv/.installed-test; extras='.[test]'; else
  stamp=.venv/.installed; extras='.'; fi
if [ ! -x .venv/bin/python ]; then
  say "creating the virtual environment in .venv"
  "$PYTHON" -m venv .venv
fi
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  say "installing Parley and its dependencies into .venv (a few minutes the first time)"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q --progress-bar off -e "$extras"
  touch "$stamp"
  say "installed"
fi

if [ "$want_test" = 1 ] && { [ ! -x node_modules/.bin/tsc ] || [ package-lock.json -nt node_modules/.bin/tsc ]; }; then
  # tsc --checkJs checks the web client's JSDoc types, axe-core its accessibility in the
  # browser tests (dev tooling; nothing is built, nothing of it is served).
  say "installing the web client's dev tools from npm (typescript, axe-core)"
  npm ci --silent --no-audit --no-fund
  touch node_modules/.bin/tsc
fi
