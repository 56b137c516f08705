#!/usr/bin/env bash
# Runs the whole suite the way CI does: installs PostgreSQL and Redis from the
# system's packages when absent, starts private throwaway instances on free
# loopback ports, runs lint, types and pytest on SQLite and on PostgreSQL, and
# stops everything on exit, whatever happened.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
VENV="$ROOT/.venv"
cd "$ROOT"

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

ensure_system_packages() {
  local missing=()
  command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
  # Browser tests drive Debian's Chromium through Playwright (no browser download).
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing ${missing[*]} from the system's packages"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  fi
}

free_port() { "$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

WORK=$(mktemp -d /tmp/znachki-test.XXXXXX)
PG_BIN=""
PG_DATA="$WORK/pg"
REDIS_PID=""

pg() {  # run a PostgreSQL binary as an unprivileged user (the server refuses root)
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

cleanup() {
  set +e
  if [ -n "$PG_BIN" ] && [ -f "$PG_DATA/postmaster.pid" ]; then
    pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m immediate stop >/dev/null 2>&1
  fi
  [ -n "$REDIS_PID" ] && kill "$REDIS_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

ensure_system_packages
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)

PG_PORT=$(free_port)
mkdir -p "$PG_DATA"
if [ "$(id -u)" -eq 0 ]; then chown postgres "$WORK" "$PG_DATA"; fi
pg "$PG_BIN/initdb" -D "$PG_DATA" -U znachki -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$WORK/pg.log" -w -o \
  "-p $PG_PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
  start >/dev/null
for db in znachki_unit znachki_it; do
  "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U znachki "$db"
done

REDIS_PORT=$(free_port)
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
  --daemonize no --logfile "$WORK/redis.log" &
REDIS_PID=$!

export ZNACHKI_TEST_PG="postgresql+psycopg://znachki@127.0.0.1:$PG_PORT"
export ZNACHKI_TEST_REDIS="redis://127.0.0.1:$REDIS_PORT"

if [ -z "${SKIP_LINT:-}" ]; then
  echo "== ruff"
  "$VENV/bin/ruff" check .
  "$VENV/bin/ruff" format --check --quiet .
  echo "== import-linter (the direction of imports between packages)"
  "$VENV/bin/lint-imports"
  echo "== mypy"
  "$VENV/bin/mypy" marketplace workers
fi
echo "== pytest on SQLite"
"$VENV/bin/pytest" -q -p no:cacheprovider --db=sqlite "$@"
echo "== pytest on PostgreSQL"
"$VENV/bin/pytest" -q -p no:cacheprovider --db=postgresql --ignore=tests/matching "$@"
