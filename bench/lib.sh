# Shell functions shared by the benchmarks in bench/ (run.sh, mixed.sh).
# Sourced, not run. The caller sets, before calling them:
#   ROOT (the checkout), PGURL, PORT (the server's loopback port), WORK (a
#   scratch directory), BIN (the release binary), DURATION and CONNECTIONS
#   (for load), and `set -euo pipefail`.
# They set SERVER_PID and STARTUP_MS (start_server).
# shellcheck shell=bash disable=SC2154,SC2034

size_numbers() {
  case "$1" in
    1k) echo "1000 5000 10000" ;;
    1m) echo "1000000 5000000 10000000" ;;
    *) echo "unknown size $1" >&2; exit 2 ;;
  esac
}

# The published articles among article-1..article-N (the seeder makes every
# hundredth article a draft and the next one archived).
published_slugs() { # count
  awk -v n="$1" 'BEGIN { for (i = 1; i <= n; i++) if ((i - 1) % 100 >= 2) print "article-" i }'
}

# Splits --backends and --sizes into backend_list and size_list and checks
# them.
parse_lists() { # backends sizes
  IFS=, read -ra backend_list <<<"$1"
  IFS=, read -ra size_list <<<"$2"
  local backend size
  for backend in "${backend_list[@]}"; do
    case "$backend" in sqlite|postgres) ;; *) echo "unknown backend $backend" >&2; exit 2 ;; esac
  done
  for size in "${size_list[@]}"; do size_numbers "$size" >/dev/null; done
}

# One line per step on stderr with its time, only on a terminal; the caller
# sets STEPS.
STEP=0
progress() {
  STEP=$((STEP + 1))
  if [ -t 2 ]; then echo "[$STEP/$STEPS] $(date +%T) $*" >&2; fi
}

# Installs the Debian packages of the commands missing: need_tools cmd:package…
need_tools() {
  local tool
  for tool in "$@"; do
    command -v "${tool%%:*}" >/dev/null || {
      echo "installing ${tool#*:}" >&2
      DEBIAN_FRONTEND=noninteractive apt-get install -y "${tool#*:}" >/dev/null
    }
  done
}

database_url() {
  case "$1" in
    sqlite) echo "sqlite://$ROOT/bench/data/$2.db" ;;
    postgres) echo "$PGURL/broadsheet_bench_$2" ;;
  esac
}

seed() { # backend size
  local url; url=$(database_url "$1" "$2")
  read -r articles comments shares < <(size_numbers "$2")
  if [ "$1" = sqlite ] && [ -f "$ROOT/bench/data/$2.db" ]; then return; fi
  if [ "$1" = postgres ]; then
    if psql "$PGURL/postgres" -tAc "SELECT 1 FROM pg_database WHERE datname='broadsheet_bench_$2'" | grep -q 1; then return; fi
    psql "$PGURL/postgres" -qc "CREATE DATABASE broadsheet_bench_$2"
  fi
  echo "seeding $1 $2 ($articles articles, $comments comments, $shares shares)…" >&2
  # Seed into a scratch file or database first: an interrupted seed must
  # never be mistaken for a finished one on the next run.
  if [ "$1" = sqlite ]; then
    local file=$ROOT/bench/data/$2.db
    rm -f "$file.partial"*
    cargo bench --quiet --bench seed -- --database-url "sqlite://$file.partial" \
      --articles "$articles" --comments "$comments" --shares "$shares" >&2
    sqlite_checkpoint_and_move "$file.partial" "$file"
  else
    if ! cargo bench --quiet --bench seed -- --database-url "$url" \
      --articles "$articles" --comments "$comments" --shares "$shares" >&2; then
      psql "$PGURL/postgres" -qc "DROP DATABASE broadsheet_bench_$2"
      exit 1
    fi
  fi
}

# A WAL database is three files; fold the log into the main file and move it.
sqlite_checkpoint_and_move() {
  python3 - "$1" <<'PY'
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1])
conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
conn.close()
PY
  rm -f "$1-wal" "$1-shm"
  mv "$1" "$2"
}

start_server() { # url cache_bytes
  local started; started=$(date +%s%N)
  DATABASE_URL=$1 BIND_ADDR=127.0.0.1:$PORT RUST_LOG=warn DEMO_CONTENT=false \
    JWT_SECRET=bench-secret-bench-secret-bench-secret-0 RESPONSE_CACHE_BYTES=$2 \
    RATE_LIMIT_COMMENTS_PER_MINUTE=0 RATE_LIMIT_SHARES_PER_MINUTE=0 RATE_LIMIT_LOGIN_PER_MINUTE=0 \
    SHARE_DEDUP_SECONDS=0 "$BIN" serve >"$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  until curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null; do
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log" >&2; exit 1; }
    sleep 0.01
  done
  STARTUP_MS=$(( ($(date +%s%N) - started) / 1000000 ))
}

stop_server() {
  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}

peak_rss_mb() {
  awk '/VmHWM/ {printf "%.0f", $2/1024}' "/proc/$SERVER_PID/status"
}

to_ms() { # "1.23ms" | "850.00us" | "1.20s"
  awk -v v="$1" 'BEGIN {
    if (v ~ /us$/) { sub(/us$/, "", v); printf "%.2f", v/1000 }
    else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.2f", v }
    else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.2f", v*1000 }
    else print v }'
}

# wrk URL [script] -> "rps p50 p99 non2xx"
load() {
  local url=$1 script=${2:-}
  local args=(-t2 "-c$CONNECTIONS" "-d${DURATION}s" --latency)
  [ -n "$script" ] && args+=(-s "$script")
  wrk "${args[@]}" -d1s "$url" >/dev/null 2>&1 || true   # warm-up
  local out; out=$(wrk "${args[@]}" "$url" 2>&1)
  local rps p50 p99 bad
  rps=$(awk '/^Requests\/sec/ {printf "%.0f", $2}' <<<"$out")
  p50=$(to_ms "$(awk '$1=="50%" {print $2}' <<<"$out")")
  p99=$(to_ms "$(awk '$1=="99%" {print $2}' <<<"$out")")
  bad=$(awk '/Non-2xx/ {print $5}' <<<"$out")
  echo "$rps $p50 $p99 ${bad:-0}"
  drain
}

# A slow route leaves queries running after wrk stops (their clients are
# gone, the database work is not); wait until the server answers /readyz
# (a database round trip) quickly again, so they don't slow the next route.
drain() {
  local _
  for _ in $(seq 1 120); do
    local t; t=$(curl -s -o /dev/null -w '%{time_total}' "http://127.0.0.1:$PORT/readyz" 2>/dev/null || echo 1)
    awk -v t="$t" 'BEGIN { exit !(t < 0.05) }' && return
    sleep 0.25
  done
}
