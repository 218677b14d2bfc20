#!/usr/bin/env bash
# Soak test (issue: reliability). Not part of `cargo test` or CI.
#
#   bench/soak.sh [--minutes 20] [--warmup 10] [--backend sqlite|postgres] [--connections 16]
#
# Builds release, starts the server on a fresh database with demo content
# and rate limits off, and drives it for the given time with wrk: a mix of
# public reads (article, list, comments, tags) and writes (share presses and
# comments) on keep-alive connections. Samples the server's RSS every 10 s.
# At the end it prints the totals (requests, non-2xx/3xx answers, socket
# errors), the RSS series and a verdict:
#   - errors: every answer must be 2xx/3xx and no socket may fail;
#   - memory: flat when the mean anonymous RSS (RssAnon: heap, caches,
#     stacks; not the binary's pages, which the kernel pages out and back in
#     on its own) of the last minute is within 10% of that of the last minute
#     of the warm-up (--warmup, default half the run). Total RSS is printed
#     too. The warm-up is long because the write mix grows the database and
#     SQLite's page caches (64 MiB for the writer, 2 MiB per reader) fill
#     with it for several minutes; the response cache fills too. Those are
#     bounded by configuration and level off; a leak grows with the work
#     done, so it shows in the second half as much as in the first.
# Exits non-zero unless both hold.
#
# PostgreSQL: a fresh database broadsheet_soak_<pid> on PGURL (default
# postgres://postgres@127.0.0.1:5432), dropped at the end.
# Needs wrk (installed with apt-get if missing), curl and jq.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

MINUTES=20
WARMUP=""
BACKEND=sqlite
CONNECTIONS=16
PGURL=${PGURL:-postgres://postgres@127.0.0.1:5432}
PORT=${SOAK_PORT:-18090}
while [ $# -gt 0 ]; do
  case "$1" in
    --minutes) MINUTES=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    --backend) BACKEND=$2; shift 2 ;;
    --connections) CONNECTIONS=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
WARMUP=${WARMUP:-$((MINUTES / 2))}
[ "$WARMUP" -ge 1 ] && [ "$WARMUP" -lt "$MINUTES" ] || { echo "--warmup must be at least 1 and less than --minutes" >&2; exit 2; }
case "$BACKEND" in sqlite|postgres) ;; *) echo "--backend is sqlite or postgres" >&2; exit 2 ;; esac

command -v wrk >/dev/null || {
  echo "installing wrk" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y wrk >/dev/null
}

echo "building release binary…" >&2
cargo build --release --quiet --bin broadsheet
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/broadsheet

WORK=$(mktemp -d)
SERVER_PID=""
SAMPLER_PID=""
PGDB=""
cleanup() {
  [ -n "$SAMPLER_PID" ] && kill "$SAMPLER_PID" 2>/dev/null || true
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  [ -n "$PGDB" ] && psql "$PGURL/postgres" -qc "DROP DATABASE IF EXISTS $PGDB WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

if [ "$BACKEND" = postgres ]; then
  PGDB=broadsheet_soak_$$
  psql "$PGURL/postgres" -qc "CREATE DATABASE $PGDB"
  DATABASE_URL=$PGURL/$PGDB
else
  DATABASE_URL=sqlite://$WORK/soak.db
fi

env DATABASE_URL="$DATABASE_URL" BIND_ADDR=127.0.0.1:$PORT \
  DEMO_CONTENT=true DEMO_ADMIN_PASSWORD='soak-test-password-123' \
  JWT_SECRET=soak-secret-soak-secret-soak-secret-01 \
  RATE_LIMIT_COMMENTS_PER_MINUTE=0 RATE_LIMIT_SHARES_PER_MINUTE=0 RATE_LIMIT_LOGIN_PER_MINUTE=0 \
  SHARE_DEDUP_SECONDS=0 RUST_LOG=warn \
  "$BIN" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 300); do
  curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log" >&2; exit 1; }
  sleep 0.1
done
curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null

SLUGS=$(curl -sf "http://127.0.0.1:$PORT/api/v1/articles?per_page=100&fields=slug" \
  | jq -r '[.data[].slug | "\"" + . + "\""] | join(",")')
[ -n "$SLUGS" ] || { echo "no published demo articles" >&2; exit 1; }

cat > "$WORK/mix.lua" <<LUA
-- 10 requests in every 10: 3 article, 2 list pages, 1 comments, 1 tags,
-- 2 share presses, 1 comment.
local slugs = { $SLUGS }
local json = { ["Content-Type"] = "application/json" }
local channels = { "email", "x", "whatsapp", "facebook", "copy_link" }
local n = 0
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("thread_id", counter)
end

function request()
  n = n + 1
  local slug = slugs[(n % #slugs) + 1]
  local base = "/api/v1/articles/" .. slug
  local k = n % 10
  if k < 3 then
    return wrk.format("GET", base)
  elseif k == 3 then
    return wrk.format("GET", "/api/v1/articles?per_page=20")
  elseif k == 4 then
    return wrk.format("GET", "/api/v1/articles?page=" .. ((n % 3) + 1) .. "&per_page=5&fields=slug,title,share_count")
  elseif k == 5 then
    return wrk.format("GET", base .. "/comments")
  elseif k == 6 then
    return wrk.format("GET", "/api/v1/tags")
  elseif k < 9 then
    return wrk.format("POST", base .. "/shares", json, '{"channel":"' .. channels[(n % #channels) + 1] .. '"}')
  else
    local id = thread_id or 0 -- set by setup() in each thread's state
    local body = '{"author_name":"Soak Reader","author_email":"soak' .. id .. '@example.com",'
      .. '"body":"Soak comment ' .. id .. '-' .. n .. ': the tram plan deserves a vote."}'
    return wrk.format("POST", base .. "/comments", json, body)
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("SOAK requests=%d non_2xx_3xx=%d connect=%d read=%d write=%d timeout=%d p50_ms=%.1f p99_ms=%.1f max_ms=%.1f\n",
    summary.requests, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
LUA

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$SERVER_PID/status"; }
# The anonymous part of RSS: the heap, SQLite's page caches, thread stacks;
# what a leak grows. The rest is file-backed (the binary's own code), which
# the kernel may page out and back in: these VMs run DAMON with a `pageout`
# scheme that evicts pages unused for a while, so total RSS drifts down and
# jumps back up with no change in what the process holds.
anon_kb() { awk '/^RssAnon:/ {print $2}' "/proc/$SERVER_PID/status"; }
# Transparent huge pages in it: the kernel's khugepaged can grow RSS by
# itself by filling half-used 2 MiB ranges (the allocator is built without
# THP for that reason; this column shows if anything brings them back).
thp_kb() { awk '/^AnonHugePages:/ {print $2}' "/proc/$SERVER_PID/smaps_rollup"; }
# What the response cache holds, to tell its fill from the rest.
cache_kb() {
  curl -sf "http://127.0.0.1:$PORT/metrics" | awk '/^broadsheet_response_cache_bytes / {printf "%d", $2 / 1024}'
}
: > "$WORK/rss"
(
  t=0
  while kill -0 "$SERVER_PID" 2>/dev/null; do
    echo "$t $(rss_kb) $(cache_kb) $(anon_kb) $(thp_kb)" >> "$WORK/rss"
    sleep 10
    t=$((t + 10))
  done
) &
SAMPLER_PID=$!

echo "soak: $BACKEND, $MINUTES min, $CONNECTIONS connections, server pid $SERVER_PID" >&2
wrk -t2 -c"$CONNECTIONS" -d"${MINUTES}m" --timeout 10s --latency -s "$WORK/mix.lua" \
  "http://127.0.0.1:$PORT" > "$WORK/wrk.out" 2>&1 || true
# One last sample at the end of the run.
echo "$((MINUTES * 60)) $(rss_kb) $(cache_kb) $(anon_kb) $(thp_kb)" >> "$WORK/rss"
kill "$SAMPLER_PID" 2>/dev/null || true
SAMPLER_PID=""

cat "$WORK/wrk.out"
if [ "$BACKEND" = sqlite ]; then
  # The page caches fill with what the writes add, up to their bounds.
  echo "database files at the end: $(du -cb "$WORK"/soak.db* | awk 'END {printf "%.1f MiB", $1 / 1048576}')"
fi
LINE=$(grep '^SOAK ' "$WORK/wrk.out" || true)
[ -n "$LINE" ] || { echo "wrk printed no summary" >&2; exit 1; }
field() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p" <<<" ${LINE#SOAK }"; }
REQUESTS=$(field requests)
BAD=$(field non_2xx_3xx)
SOCKET=$(( $(field connect) + $(field read) + $(field write) + $(field timeout) ))

echo
echo "RSS of the server, its anonymous part (of which huge pages), and what its response cache holds (every 10 s):"
awk '{printf "  %4ds  %7.1f MiB  anonymous %7.1f MiB (huge %5.1f)  (response cache %5.1f MiB)\n", $1, $2 / 1024, $4 / 1024, $5 / 1024, $3 / 1024}' "$WORK/rss"

VERDICT=$(awk -v minutes="$MINUTES" -v warmup="$WARMUP" '
  $1 >= (warmup - 1) * 60 && $1 < warmup * 60 { s += $4; sn++ }
  $1 >= (minutes - 1) * 60 && $1 <= minutes * 60 { l += $4; ln++ }
  END {
    if (sn == 0 || ln == 0) { print "n/a (no samples)"; exit }
    before = s / sn; last = l / ln; change = (last - before) / before * 100
    printf "%s: anonymous RSS minute %d (end of warm-up) %.1f MiB, last minute %.1f MiB (%+.1f%%)\n",
      (change <= 10 ? "flat" : "GROWING"), warmup, before / 1024, last / 1024, change
  }' "$WORK/rss")

echo
echo "requests:        $REQUESTS"
echo "non-2xx/3xx:     $BAD"
echo "socket errors:   $SOCKET (connect, read, write, timeout)"
echo "memory:          $VERDICT"
if grep -qiE 'panicked|ERROR' "$WORK/server.log"; then
  echo "server log has errors:" >&2
  grep -iE 'panicked|ERROR' "$WORK/server.log" | head -20 >&2
  exit 1
fi
if [ "$BAD" != 0 ] || [ "$SOCKET" != 0 ]; then
  echo "verdict: FAIL (errors)"
  exit 1
fi
case "$VERDICT" in
  GROWING*) echo "verdict: FAIL (memory grows)"; exit 1 ;;
  *) echo "verdict: PASS" ;;
esac
