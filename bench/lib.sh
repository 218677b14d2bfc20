# Shell functions shared by the benchmarks in bench/ (run.sh, mixed.sh,
# uncached.sh, webhooks.sh, topology.sh).
# Sourced, not run. The caller sets, before calling them:
#   ROOT (the checkout), PGURL, PORT (the server's loopback port), WORK (a
#   scratch directory), BIN (the release binary), DURATION and CONNECTIONS
#   (for load), and `set -euo pipefail`.
# They set SERVER_PID and STARTUP_MS (start_server).
# shellcheck shell=bash disable=SC2154,SC2034,SC2153

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
  # An index of the database this seed replaces must not be taken for its.
  rm -rf "$(search_index_dir "$1" "$2")"
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
  # The search index: in SEARCH_INDEX_DIR when the caller keeps one beside
  # a seeded database (bench/data/search-BACKEND-SIZE, removed when that
  # database is seeded again), so that only a first start builds it; else
  # in this run's scratch directory.
  local index_dir=${SEARCH_INDEX_DIR:-$WORK/search-index}
  DATABASE_URL=$1 BIND_ADDR=127.0.0.1:$PORT RUST_LOG=warn DEMO_CONTENT=false \
    JWT_SECRET=bench-secret-bench-secret-bench-secret-0 RESPONSE_CACHE_BYTES=$2 \
    RATE_LIMIT_COMMENTS_PER_MINUTE=0 RATE_LIMIT_SHARES_PER_MINUTE=0 RATE_LIMIT_LOGIN_PER_MINUTE=0 \
    SHARE_DEDUP_SECONDS=0 SEARCH_INDEX_DIR=$index_dir "$BIN" serve >"$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  until curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null; do
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log" >&2; exit 1; }
    sleep 0.01
  done
  STARTUP_MS=$(( ($(date +%s%N) - started) / 1000000 ))
}

# Waits until the search index answers (a first start at 1M builds it in
# the background, about 45 s of CPU): no route is measured beside a build.
# A build without search (404) has nothing to wait for.
wait_for_search() {
  local deadline=$(( $(date +%s) + 600 )) code
  while :; do
    code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/api/v1/search?q=tram")
    case "$code" in 200|404) return ;; esac
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log" >&2; exit 1; }
    [ "$(date +%s)" -lt "$deadline" ] || { echo "the search index was not ready after 600 s (last answer $code)" >&2; exit 1; }
    sleep 0.2
  done
}

# Where the search index of a seeded database is kept between runs.
search_index_dir() { # backend size
  echo "$ROOT/bench/data/search-$1-$2"
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

# rotate_script FILE: writes the wrk script that sends every path of the
# file named by $BENCH_PATHS (one per line) in turn, each wrk thread from
# its own place, so that no one row or answer stays hot.
rotate_script() {
  cat > "$1" <<'LUA'
local requests, n, k = {}, 0, 0
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("offset", threads * 7919)
end
function init(args)
  for path in io.lines(os.getenv("BENCH_PATHS")) do
    n = n + 1
    requests[n] = wrk.format("GET", path)
  end
  k = (offset or 0) % n
end
function request()
  k = k % n + 1
  return requests[k]
end
LUA
}

# rotated PATHS_FILE -> "rps p50 p99 non2xx": `load` over every path of
# the file in turn (rotate_script). Writes its wrk script into $WORK.
rotated() {
  rotate_script "$WORK/rotate.lua"
  export BENCH_PATHS=$1
  load "http://127.0.0.1:$PORT/" "$WORK/rotate.lua"
}

# The search query mix (bench/search.sh, bench/mixed.sh --reads search), as
# query strings (deterministic): the 50 words alone, 100 pairs, typos,
# prefixes, rare words (a seeded title's number), words in no article,
# and common words filtered by tag, author or date. The seeder writes its
# titles and bodies from these words (benches/seed.rs, WORDS).
WORDS=(tram budget council library housing river festival school bus park street rent energy
  climate market harbour museum bridge hospital station bicycle election tax water garden theatre
  football bakery winter summer night morning policy plan vote neighbour teacher doctor worker
  student family future history money time city town village road train)
query_mix() { # articles
  local n=$1 i w
  for w in "${WORDS[@]}"; do echo "q=$w"; done
  for i in $(seq 0 99); do echo "q=${WORDS[$((i % 50))]}+${WORDS[$(((i * 7 + 3) % 50))]}"; done
  for w in "${WORDS[@]}"; do
    # One typo: the third and fourth letters swapped, or a letter dropped.
    if [ ${#w} -ge 5 ]; then echo "q=${w:0:2}${w:3:1}${w:2:1}${w:4}"; echo "q=${w:0:3}${w:4}"; fi
  done
  for w in "${WORDS[@]}"; do [ ${#w} -ge 4 ] && echo "q=${w:0:3}" && echo "q=${WORDS[0]}+${w:0:4}"; done
  for i in $(seq 1 60); do echo "q=article+$(( (i * 7919) % n + 1 ))"; done
  for w in zeppelin aqueduct lighthouse volcano glacier orchestra cathedral satellite; do echo "q=$w"; done
  for i in $(seq 0 39); do echo "q=${WORDS[$i]}&tag=topic-$(( i % 20 + 1 ))"; done
  for i in $(seq 0 19); do echo "q=${WORDS[$i]}&author=writer-$(( i % 10 + 1 ))"; done
  for i in $(seq 0 19); do echo "q=${WORDS[$i]}&from=2026-01-01"; done
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

# The mixed read/write load (bench/mixed.sh, bench/topology.sh). The caller
# also sets SHARES_PER_SECOND, COMMENTS_PER_SECOND, EDIT_EVERY, WRITER_PIDS
# (an array, for its cleanup), $WORK/slugs.txt (the slugs to read and
# write to), $WORK/ids.txt (the ids of the articles to edit) and exports
# MIXED_SLUGS=$WORK/slugs.txt. PORT is where the load goes: one server, or
# a load balancer in front of several.

# Writes $WORK/reads.lua and $WORK/writer.lua.
mixed_scripts() {
  # The reads: prepared requests for every slug of $MIXED_SLUGS, rotated;
  # every tenth request the home list. Each thread starts at its own place.
  cat > "$WORK/reads.lua" <<'LUA'
local requests, n, k, i = {}, 0, 0, 0
local list
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("offset", threads * 7919)
end
function init(args)
  for slug in io.lines(os.getenv("MIXED_SLUGS")) do
    n = n + 1
    requests[n] = wrk.format("GET", "/api/v1/articles/" .. slug)
  end
  list = wrk.format("GET", "/api/v1/articles")
  k = (offset or 0) % n
end
function request()
  i = i + 1
  if i % 10 == 0 then return list end
  k = k % n + 1
  return requests[k]
end
LUA

  # A writer: args kind (share|comment), rate per second, connections,
  # targets file (slugs), start index.
  # Write number s is due at start + s/rate; delay() waits for it (the first
  # request of each connection goes at once). Counts 2xx and other answers.
  cat > "$WORK/writer.lua" <<'LUA'
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } mixed_timespec;
int clock_gettime(int clk_id, mixed_timespec *tp);
]]
local ts = ffi.new("mixed_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end
local channels = {"email", "facebook", "x", "linkedin", "whatsapp", "telegram", "reddit", "copy_link", "other"}
local kind, interval, start, slot
local targets, n, k, sent = {}, 0, 0, 0
ok, bad, first_bad = 0, 0, nil
local threads = {}
function setup(thread)
  table.insert(threads, thread)
end
function init(args)
  kind = args[1]
  interval = 1000 / tonumber(args[2])
  slot = tonumber(args[3]) - 1
  for line in io.lines(args[4]) do
    n = n + 1
    targets[n] = line
  end
  k = tonumber(args[5]) % n
  wrk.headers["Content-Type"] = "application/json"
  start = now_ms()
end
function request()
  sent = sent + 1
  k = k % n + 1
  local t = targets[k]
  if kind == "share" then
    return wrk.format("POST", "/api/v1/articles/" .. t .. "/shares", nil,
      '{"channel":"' .. channels[sent % #channels + 1] .. '"}')
  else
    return wrk.format("POST", "/api/v1/articles/" .. t .. "/comments", nil, string.format(
      '{"author_name":"Mixed Reader %d","author_email":"reader%d@example.com",' ..
      '"body":"Comment %d of the mixed benchmark, about the tram plan."}', sent % 500, sent % 500, sent))
  end
end
function delay()
  slot = slot + 1
  local wait = start + slot * interval - now_ms()
  if wait < 0 then return 0 end
  return math.floor(wait)
end
function response(status, headers, body)
  if status >= 200 and status < 300 then
    ok = ok + 1
  else
    bad = bad + 1
    if not first_bad then first_bad = status .. " " .. string.sub(body or "", 1, 200) end
  end
end
function done(summary, latency, requests)
  local o, b, fb = 0, 0, nil
  for _, t in ipairs(threads) do
    o = o + t:get("ok")
    b = b + t:get("bad")
    fb = fb or t:get("first_bad")
  end
  io.write(string.format("mixed-writes ok=%d bad=%d seconds=%.3f\n", o, b, summary.duration / 1e6))
  if fb then io.write("mixed-first-bad " .. (fb:gsub("%s+", " ")) .. "\n") end
end
LUA
}

# writer kind rate connections targets start: runs in the background,
# output in $WORK/<kind>.out.
writer() {
  local kind=$1; shift
  wrk -t1 "-c$2" "-d$((DURATION + 2))s" --timeout 10s -s "$WORK/writer.lua" \
    "http://127.0.0.1:$PORT" -- "$kind" "$@" >"$WORK/$kind.out" 2>&1 &
  WRITER_PIDS+=("$!")
}

# The editor: PATCH one article of ids.txt (in turn) every $EDIT_EVERY
# seconds, at 0.5, 1.5, 2.5… intervals from the start, for as long as the
# wrk writers run; same output as they. In the background.
editor_writes() { # token
  (
    local start now due k=0 ok=0 bad=0 first="" code id
    local ids; mapfile -t ids <"$WORK/ids.txt"
    local end_ns=$(( $(date +%s%N) + (DURATION + 2) * 1000000000 ))
    local every_ns; every_ns=$(awk -v e="$EDIT_EVERY" 'BEGIN { printf "%.0f", e * 1e9 }')
    start=$(date +%s%N)
    while :; do
      due=$(( start + k * every_ns + every_ns / 2 ))
      [ "$due" -lt "$end_ns" ] || break
      now=$(date +%s%N)
      if [ "$due" -gt "$now" ]; then sleep "$(awk -v d=$((due - now)) 'BEGIN { printf "%.3f", d / 1e9 }')"; fi
      id=${ids[k % ${#ids[@]}]}
      code=$(curl -s -o "$WORK/edit.body" -w '%{http_code}' --max-time 10 -X PATCH \
        "http://127.0.0.1:$PORT/api/v1/admin/articles/$id" -H "Authorization: Bearer $1" \
        -H 'content-type: application/json' \
        -d "{\"subtitle\":\"Edited during the mixed benchmark (edit $((k + 1)))\"}" || true)
      if [ "${code:0:1}" = 2 ]; then
        ok=$((ok + 1))
      else
        bad=$((bad + 1))
        [ -n "$first" ] || first="$code $(head -c 200 "$WORK/edit.body" 2>/dev/null | tr -s '[:space:]' ' ')"
      fi
      k=$((k + 1))
    done
    sleep "$(awk -v d=$((end_ns - $(date +%s%N))) 'BEGIN { printf "%.3f", (d > 0 ? d : 0) / 1e9 }')"
    echo "mixed-writes ok=$ok bad=$bad seconds=$(awk -v d=$(($(date +%s%N) - start)) 'BEGIN { printf "%.3f", d / 1e9 }')"
    if [ -n "$first" ]; then echo "mixed-first-bad $first"; fi
  ) >"$WORK/edit.out" 2>&1 &
  WRITER_PIDS+=("$!")
}

# WRITER_RESULT="ok bad seconds" of a writer's output; its first non-2xx
# answer to stderr.
writer_result() { # kind
  local out=$WORK/$1.out
  WRITER_RESULT=$(sed -n 's/^mixed-writes ok=\([0-9]*\) bad=\([0-9]*\) seconds=\([0-9.]*\)$/\1 \2 \3/p' "$out")
  if [ -z "$WRITER_RESULT" ]; then
    echo "the $1 writer failed:" >&2; cat "$out" >&2; exit 1
  fi
  grep '^mixed-first-bad ' "$out" | sed "s/^mixed-first-bad /first non-2xx $1 answer: /" >&2 || true
}

rate() { # ok seconds
  awk -v n="$1" -v s="$2" 'BEGIN { printf (n / s >= 10 ? "%.1f" : "%.2f"), n / s }'
}

# The reads (load) while the three writers write, each spread over the same
# articles as the reads; sets READ_RESULT ("rps p50 p99 non2xx") and
# SHARE_RESULT, COMMENT_RESULT and EDIT_RESULT ("ok bad seconds").
load_with_writes() { # url token slug_count
  WRITER_PIDS=()
  writer share "$SHARES_PER_SECOND" 5 "$WORK/slugs.txt" 0
  writer comment "$COMMENTS_PER_SECOND" 2 "$WORK/slugs.txt" "$(($3 / 3))"
  editor_writes "$2"
  READ_RESULT=$(load "$1" "$WORK/reads.lua")
  local pid
  for pid in "${WRITER_PIDS[@]}"; do wait "$pid" || true; done
  WRITER_PIDS=()
  writer_result share; SHARE_RESULT=$WRITER_RESULT
  writer_result comment; COMMENT_RESULT=$WRITER_RESULT
  writer_result edit; EDIT_RESULT=$WRITER_RESULT
}
