#!/usr/bin/env bash
# The throughput cost of PgBouncer in transaction mode (issue 21): one
# public read and one write route, with PostgreSQL reached three ways:
#
#   direct      DATABASE_URL to PostgreSQL, DATABASE_POOLER=none (prepared
#               statements cached per connection: the default)
#   unnamed     the same connection, DATABASE_POOLER=transaction (no
#               statement cache: the cost of unnamed statements alone)
#   pgbouncer   through PgBouncer (pool_mode = transaction, 8 server
#               connections), DATABASE_POOLER=transaction
#
#   BIN=target/release/broadsheet bench/pooler.sh [--duration 10] [--connections 32]
#
# Needs PostgreSQL on 127.0.0.1:5432 (trust), pgbouncer and wrk (Debian
# packages). Creates and drops the database bs_bench_pooler; the server
# runs with its response cache off (every read reaches the database), rate
# limits and share de-duplication off, and the demo content as data. The
# read is GET /api/v1/articles/{slug} of one demo article, the write
# POST /api/v1/articles/{slug}/shares. wrk -t2 -cN for the duration after
# 2 s of warm-up; prints one Markdown table row per route and mode.
# It stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-target/release/broadsheet}
DURATION=10
CONNECTIONS=32
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) DURATION=$2; shift 2 ;;
    --connections) CONNECTIONS=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
for tool in wrk pgbouncer psql; do
  command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || { echo "needs $tool" >&2; exit 2; }
done
[ -x "$BIN" ] || { echo "no binary at $BIN (cargo build --release)" >&2; exit 2; }

WORK=$(mktemp -d)
chmod 777 "$WORK"
SERVER_PID=
BOUNCER_PID=
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
  [ -f "$WORK/pgbouncer.pid" ] && kill "$(cat "$WORK/pgbouncer.pid")" 2>/dev/null || true
  [ -n "$BOUNCER_PID" ] && wait "$BOUNCER_PID" 2>/dev/null || true
  psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS bs_bench_pooler WITH (FORCE)" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS bs_bench_pooler WITH (FORCE)"
psql -q -h 127.0.0.1 -U postgres -d postgres -c "CREATE DATABASE bs_bench_pooler"
DIRECT=postgres://postgres@127.0.0.1:5432/bs_bench_pooler

BPORT=$(free_port)
cat >"$WORK/pgbouncer.ini" <<INI
[databases]
* = host=127.0.0.1 port=5432
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $BPORT
unix_socket_dir =
auth_type = trust
auth_file = $WORK/userlist.txt
pool_mode = transaction
default_pool_size = 8
max_client_conn = 200
server_reset_query =
logfile = $WORK/pgbouncer.log
pidfile = $WORK/pgbouncer.pid
INI
echo '"postgres" ""' >"$WORK/userlist.txt"
if [ "$(id -u)" = 0 ]; then
  runuser -u postgres -- pgbouncer -q "$WORK/pgbouncer.ini" & BOUNCER_PID=$!
else
  pgbouncer -q "$WORK/pgbouncer.ini" & BOUNCER_PID=$!
fi
for _ in $(seq 1 50); do (exec 3<>/dev/tcp/127.0.0.1/"$BPORT") 2>/dev/null && break; sleep 0.1; done
POOLED=postgres://postgres@127.0.0.1:$BPORT/bs_bench_pooler

PORT=$(free_port)
start_server() { # url pooler
  DATABASE_URL=$1 DATABASE_POOLER=$2 BIND_ADDR=127.0.0.1:$PORT RESPONSE_CACHE_BYTES=0 \
    RATE_LIMIT_SHARES_PER_MINUTE=0 SHARE_DEDUP_SECONDS=0 DB_POOL_SIZE=16 RUST_LOG=error \
    JWT_SECRET=bench-secret-bench-secret-bench-secret-00 \
    "$BIN" serve >>"$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 300); do
    curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && return
    sleep 0.1
  done
  echo "server did not start" >&2; cat "$WORK/server.log" >&2; exit 1
}
stop_server() { kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=; }

# Seed (demo content) with a first start, and find a demo article.
start_server "$DIRECT" none
SLUG=$(curl -fs "http://127.0.0.1:$PORT/api/v1/articles?per_page=1" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["data"][0]["slug"])')
stop_server

cat >"$WORK/share.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"channel":"other"}'
wrk.headers["Content-Type"] = "application/json"
LUA

# wrk's requests/s and p99 (ms); non-2xx answers fail the run.
measure() { # path [lua]
  local args=(-t2 -c"$CONNECTIONS" --latency)
  [ -n "${2:-}" ] && args+=(-s "$2")
  wrk "${args[@]}" -d2s "http://127.0.0.1:$PORT$1" >/dev/null
  local out
  out=$(wrk "${args[@]}" -d"${DURATION}s" "http://127.0.0.1:$PORT$1")
  if grep -q "Non-2xx" <<<"$out"; then echo "$out" >&2; echo "non-2xx answers" >&2; exit 1; fi
  local rps p99
  rps=$(awk '/Requests\/sec/ {printf "%d", $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  echo "$rps req/s, p99 $p99"
}

echo "| mode | GET /api/v1/articles/{slug} (uncached) | POST /api/v1/articles/{slug}/shares |"
echo "|---|---|---|"
for mode in direct unnamed pgbouncer; do
  case $mode in
    direct) start_server "$DIRECT" none ;;
    unnamed) start_server "$DIRECT" transaction ;;
    pgbouncer) start_server "$POOLED" transaction ;;
  esac
  read_result=$(measure "/api/v1/articles/$SLUG")
  write_result=$(measure "/api/v1/articles/$SLUG/shares" "$WORK/share.lua")
  stop_server
  echo "| $mode | $read_result | $write_result |"
done
