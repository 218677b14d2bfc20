#!/usr/bin/env bash
# Public reads with and without a read replica (issue 21). Not part of
# `cargo test`.
#
#   bench/replicas.sh [--duration 10] [--connections 32] [--articles 200] [--bin PATH]
#
# Starts a streaming replica of the local PostgreSQL (pg_basebackup -R into
# a temporary directory, postgres on port 54329 as the postgres user; the
# primary must accept replication connections from 127.0.0.1, see .ci/run),
# creates a database with --articles published articles through the API,
# and drives uncached article reads (RESPONSE_CACHE_BYTES=0, paths rotated
# over the articles) with wrk, three ways:
#
#   primary only           DATABASE_REPLICA_URLS unset
#   with the replica       DATABASE_REPLICA_URLS=<replica>
#   with the replica, 10%  the same, plus one article PATCH per 10 reads
#   writes                 (each write moves the fence: reads right after it
#                          check the replica's position or fall back)
#
# and prints req/s, p50, p99 and the share of public reads the replica
# served (from /metrics). On one machine the replica shares the primary's
# cores: this measures the routing's cost, not a capacity gain. Stops the
# server and the replica and drops its database on every exit.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
DURATION=10
CONNECTIONS=32
ARTICLES=200
BIN=$ROOT/target/release/broadsheet
PGURL=${PGURL:-postgres://postgres@127.0.0.1:5432}
PORT=18090
REPLICA_PORT=54329
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) DURATION=$2; shift 2 ;;
    --connections) CONNECTIONS=$2; shift 2 ;;
    --articles) ARTICLES=$2; shift 2 ;;
    --bin) BIN=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
command -v wrk >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y wrk >/dev/null
[ -x "$BIN" ] || cargo build --release --quiet
MAJOR=$(psql "$PGURL/postgres" -Atc "SELECT current_setting('server_version_num')::int / 10000")
PGBIN=/usr/lib/postgresql/$MAJOR/bin
DB=broadsheet_bench_replicas
WORK=$(mktemp -d /tmp/bs-bench-replicas.XXXXXX)
chown postgres "$WORK"
SERVER_PID=""
REPLICA_PID=""
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  [ -n "$REPLICA_PID" ] && kill -QUIT "$REPLICA_PID" 2>/dev/null && sleep 1
  rm -rf "$WORK"
  psql "$PGURL/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" 2>/dev/null || true
}
trap cleanup EXIT

psql "$PGURL/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
psql "$PGURL/postgres" -qc "CREATE DATABASE $DB"
URL=$PGURL/$DB
REPLICA_URL=postgres://postgres@127.0.0.1:$REPLICA_PORT/$DB
SECRET=bench-secret-bench-secret-bench-secret-0
echo "a long benchmark passphrase" | DATABASE_URL=$URL JWT_SECRET=$SECRET "$BIN" editor create \
  --email bench@example.com --name Bench --role admin --password-stdin >/dev/null 2>&1

setpriv --reuid postgres --regid postgres --clear-groups -- "$PGBIN/pg_basebackup" \
  -h 127.0.0.1 -p "${PGURL##*:}" -U postgres -D "$WORK/data" -R -X stream -c fast --no-sync
touch "$WORK/data/postgresql.conf" "$WORK/data/pg_ident.conf"
printf 'local all all trust\nhost all all 127.0.0.1/32 trust\n' >"$WORK/data/pg_hba.conf"
chown postgres "$WORK/data/"*.conf
setpriv --reuid postgres --regid postgres --clear-groups -- "$PGBIN/postgres" -D "$WORK/data" \
  -p "$REPLICA_PORT" -c listen_addresses=127.0.0.1 -c "unix_socket_directories=$WORK" \
  -c hot_standby=on -c hot_standby_feedback=on >"$WORK/replica.log" 2>&1 &
REPLICA_PID=$!
until psql "$REPLICA_URL" -Atc "SELECT 1" >/dev/null 2>&1; do sleep 0.1; done

start_server() { # extra env assignments…
  env DATABASE_URL="$URL" BIND_ADDR=127.0.0.1:$PORT RUST_LOG=warn DEMO_CONTENT=false JWT_SECRET=$SECRET \
    RESPONSE_CACHE_BYTES=0 RATE_LIMIT_LOGIN_PER_MINUTE=0 "$@" "$BIN" serve >"$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  until curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null; do
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log" >&2; exit 1; }
    sleep 0.05
  done
}
stop_server() { kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""; }
token() {
  curl -sf "http://127.0.0.1:$PORT/api/v1/auth/login" -H 'content-type: application/json' \
    -d '{"email":"bench@example.com","password":"a long benchmark passphrase"}' |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
}
metric() { curl -sf "http://127.0.0.1:$PORT/metrics" | awk -v m="$1" 'index($0, m) == 1 {print $NF}'; }

start_server
TOKEN=$(token)
for i in $(seq 1 "$ARTICLES"); do
  curl -sf -o /dev/null "http://127.0.0.1:$PORT/api/v1/admin/articles" -H "authorization: Bearer $TOKEN" \
    -H 'content-type: application/json' \
    -d "{\"title\":\"Replica bench $i\",\"body_markdown\":\"Body of article $i.\",\"status\":\"published\"}"
done
stop_server

cat >"$WORK/reads.lua" <<LUA
local n = $ARTICLES
local i = 0
local writes = tonumber(os.getenv("WRITE_EVERY") or "0")
local token = os.getenv("TOKEN")
request = function()
  i = i + 1
  if writes > 0 and i % writes == 0 then
    local id = (i % n) + 1
    return wrk.format("PATCH", "/api/v1/admin/articles/" .. id,
      {["authorization"] = "Bearer " .. token, ["content-type"] = "application/json"},
      '{"subtitle":"edit ' .. i .. '"}')
  end
  return wrk.format("GET", "/api/v1/articles/replica-bench-" .. ((i % n) + 1))
end
LUA

run() { # label write_every [server env…]
  local label=$1 every=$2; shift 2
  start_server "$@"
  TOKEN=$(token)
  sleep 1
  local before_r before_p
  before_r=$(metric 'broadsheet_replica_reads_total{replica="1"}'); before_r=${before_r:-0}
  before_p=$(metric 'broadsheet_replica_fallback_reads_total'); before_p=${before_p:-0}
  local out
  out=$(TOKEN=$TOKEN WRITE_EVERY=$every wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency \
    -s "$WORK/reads.lua" "http://127.0.0.1:$PORT")
  local rps p50 p99 non2xx r p share
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
  r=$(metric 'broadsheet_replica_reads_total{replica="1"}'); r=${r:-0}
  p=$(metric 'broadsheet_replica_fallback_reads_total'); p=${p:-0}
  share=$(awk -v r="$((r - before_r))" -v p="$((p - before_p))" 'BEGIN { if (r + p) printf "%.0f%%", 100 * r / (r + p); else print "-" }')
  printf '%-34s %10s req/s  p50 %-9s p99 %-9s replica share %-5s non-2xx %s\n' \
    "$label" "$rps" "$p50" "$p99" "$share" "${non2xx:-0}"
  stop_server
}

echo "article reads, uncached, wrk -t2 -c$CONNECTIONS ${DURATION}s, $ARTICLES articles, $(nproc) cores"
run "primary only" 0
run "with the replica" 0 DATABASE_REPLICA_URLS="$REPLICA_URL"
run "primary only, 1 write per 10" 10
run "with the replica, 1 write per 10" 10 DATABASE_REPLICA_URLS="$REPLICA_URL"
