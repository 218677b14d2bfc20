#!/usr/bin/env bash
# Mixed-traffic benchmark (issue 16, item 5): reads while readers write.
# Not part of `cargo test`.
#
#   bench/mixed.sh [--backends sqlite,postgres] [--sizes 1k,1m] [--duration 10]
#                  [--connections 32] [--articles 1000] [--shares-per-second 50]
#                  [--comments-per-second 5] [--edit-every 5] [--chart FILE]
#                  [--cache-bytes 67108864] [--reads articles|search]
#
# --chart defaults to docs/bench/mixed.svg (cached article reads),
# mixed-uncached.svg (--cache-bytes 0) or mixed-search.svg (--reads search).
#
# For each backend and size it seeds a database exactly as bench/run.sh does
# (same seeder, same bench/data files and broadsheet_bench_<size> databases,
# reused when they exist), copies it to a scratch database (so every run
# starts from the same data and the seed stays as run.sh expects it), adds
# an editor account with the CLI, starts the server with the response cache
# on (the default 64 MiB; --cache-bytes 0 turns it off, to measure the
# uncached path under writes) and rate limits and share de-duplication
# off, and runs the same read load twice:
#
#   1. alone ("no writes");
#   2. while three fixed-rate writers run ("with writes"): share presses
#      (POST /articles/{slug}/shares, 50/s), reader comments
#      (POST /articles/{slug}/comments, 5/s) and an editor's edit
#      (PATCH /admin/articles/{id} with a bearer token from /auth/login,
#      one every 5 s), each spread over the same articles as the reads.
#
# The reads (--reads articles, the default): wrk -t2 -c32, GET
# /api/v1/articles/{slug} rotated over the newest --articles published
# articles (article-1 is the newest), and every tenth request the home list
# GET /api/v1/articles. With --reads search: the search query mix of
# bench/search.sh (query_mix in bench/lib.sh) through GET /api/v1/search,
# rotated; the edits then change what is indexed while it is searched. 1 s of warm-up, then
# --duration seconds; the writers start with the warm-up and stop about a
# second after the measured reads.
#
# The share and comment writers are wrk processes whose Lua delay() hook
# keeps each write on a fixed schedule (a monotonic clock through LuaJIT's
# FFI). The edits come from a shell loop with curl, one new connection per
# edit (a connection idle for 5 s between edits would meet the server's 5 s
# keep-alive and request timeouts, actix's defaults, and get 408). The rates
# in the table are what was reached (2xx answers / the writer's own run
# time), with non-2xx answers counted apart. A slow server makes them fall
# short, and the table shows it.
#
# Prints a markdown table (stdout) and draws reads/s and p99 latency with and
# without writes as an SVG chart with gnuplot (--chart). Progress lines go
# to stderr when it is a terminal.
#
# Needs wrk, gnuplot and jq (Debian packages); installs them with apt-get if
# missing. Uses loopback port 18080 and, on PostgreSQL, a scratch database
# broadsheet_mixed_<size> (dropped at the end). PGURL as in run.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

BACKENDS=sqlite,postgres
SIZES=1k
DURATION=10
CONNECTIONS=32
ARTICLES=1000
SHARES_PER_SECOND=50
COMMENTS_PER_SECOND=5
EDIT_EVERY=5
CHART=""
CACHE_BYTES=67108864
READS=articles
PGURL=${PGURL:-postgres://postgres@127.0.0.1:5432}
export PGOPTIONS='-c client_min_messages=warning'
PORT=18080
JWT=bench-secret-bench-secret-bench-secret-0
EDITOR_EMAIL=mixed-editor@bench.test
EDITOR_PASSWORD=mixed-benchmark-editor-password
while [ $# -gt 0 ]; do
  case "$1" in
    --backends) BACKENDS=$2; shift 2 ;;
    --sizes) SIZES=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --connections) CONNECTIONS=$2; shift 2 ;;
    --articles) ARTICLES=$2; shift 2 ;;
    --shares-per-second) SHARES_PER_SECOND=$2; shift 2 ;;
    --comments-per-second) COMMENTS_PER_SECOND=$2; shift 2 ;;
    --edit-every) EDIT_EVERY=$2; shift 2 ;;
    --chart) CHART=$2; shift 2 ;;
    --cache-bytes) CACHE_BYTES=$2; shift 2 ;;
    --reads) READS=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
parse_lists "$BACKENDS" "$SIZES"
case "$READS" in articles|search) ;; *) echo "--reads: articles or search, not $READS" >&2; exit 2 ;; esac
case "$CACHE_BYTES" in ''|*[!0-9]*) echo "--cache-bytes: a number of bytes, not $CACHE_BYTES" >&2; exit 2 ;; esac
if [ "$CACHE_BYTES" = 0 ]; then CACHE_LABEL="response cache off"; else CACHE_LABEL="response cache $CACHE_BYTES bytes"; fi
# Each kind of run draws its own chart unless told otherwise: a run of one
# kind never overwrites another's.
if [ -z "$CHART" ]; then
  if [ "$READS" = search ]; then CHART=docs/bench/mixed-search.svg
  elif [ "$CACHE_BYTES" = 0 ]; then CHART=docs/bench/mixed-uncached.svg
  else CHART=docs/bench/mixed.svg; fi
fi
STEPS=$(( 2 + 4 * ${#backend_list[@]} * ${#size_list[@]} ))
need_tools wrk:wrk gnuplot:gnuplot-nox jq:jq

progress "building the release binary"
cargo build --release --quiet --bin broadsheet
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/broadsheet
mkdir -p bench/data
WORK=$(mktemp -d)
SERVER_PID=""
WRITER_PIDS=()
SCRATCH_DB=""
cleanup() {
  local pid
  for pid in "${WRITER_PIDS[@]}"; do
    pkill -P "$pid" 2>/dev/null || true # the editor loop's sleep or curl
    kill "$pid" 2>/dev/null || true
  done
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  if [ -n "$SCRATCH_DB" ]; then
    psql "$PGURL/postgres" -qc "DROP DATABASE IF EXISTS $SCRATCH_DB WITH (FORCE)" >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

mixed_scripts
if [ "$READS" = search ]; then
  # The searches replace the article reads (load_with_writes reads with
  # $WORK/reads.lua); the paths are written per size below.
  rotate_script "$WORK/reads.lua"
  export BENCH_PATHS=$WORK/search.paths
fi

# A copy of the seeded database to write into; sets SCRATCH_URL.
scratch_copy() { # backend size
  if [ "$1" = sqlite ]; then
    local file=$ROOT/bench/data/$2.db
    rm -f "$WORK"/mixed.db*
    cp "$file" "$WORK/mixed.db"
    if [ -f "$file-wal" ]; then cp "$file-wal" "$WORK/mixed.db-wal"; fi
    SCRATCH_URL=sqlite://$WORK/mixed.db
  else
    SCRATCH_DB=broadsheet_mixed_$2
    psql "$PGURL/postgres" -qc "DROP DATABASE IF EXISTS $SCRATCH_DB WITH (FORCE)" >/dev/null
    psql "$PGURL/postgres" -qc "CREATE DATABASE $SCRATCH_DB TEMPLATE broadsheet_bench_$2 STRATEGY FILE_COPY" >/dev/null
    SCRATCH_URL=$PGURL/$SCRATCH_DB
  fi
}

drop_scratch() {
  if [ -n "$SCRATCH_DB" ]; then
    psql "$PGURL/postgres" -qc "DROP DATABASE IF EXISTS $SCRATCH_DB WITH (FORCE)" >/dev/null
    SCRATCH_DB=""
  fi
  rm -f "$WORK"/mixed.db*
  # The next backend or size builds its own search index: an index of
  # another database could pass for current (its log position compares
  # as older) and answer for it.
  rm -rf "$WORK/search-index"
}

label() { # backend size
  local name=SQLite; [ "$1" = postgres ] && name=PostgreSQL
  echo "$name $2"
}

published_slugs "$ARTICLES" >"$WORK/slugs.txt"
export MIXED_SLUGS=$WORK/slugs.txt
slug_count=$(wc -l <"$WORK/slugs.txt")
: >"$WORK/chart.dat"

echo "# Broadsheet mixed traffic — $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores"
echo
if [ "$READS" = search ]; then
  echo "Reads: wrk -t2 -c$CONNECTIONS -d${DURATION}s, the search query mix of bench/search.sh through /api/v1/search, rotated; $CACHE_LABEL."
else
  echo "Reads: wrk -t2 -c$CONNECTIONS -d${DURATION}s, article by slug over $slug_count published articles, every tenth request the home list; $CACHE_LABEL."
fi
echo "Writes: $SHARES_PER_SECOND share presses/s, $COMMENTS_PER_SECOND comments/s, an edit every $EDIT_EVERY s (target rates; reached rates below)."
echo
echo "| backend | size | run | reads/s | of no-write | p50 ms | p99 ms | read non-2xx | shares/s (non-2xx) | comments/s (non-2xx) | edits/s (count, non-2xx) | load avg |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"

for size in "${size_list[@]}"; do
  read -r n_articles n_comments n_shares < <(size_numbers "$size")
  [ "$ARTICLES" -le "$n_articles" ] || { echo "--articles $ARTICLES exceeds the $n_articles of size $size" >&2; exit 2; }
  [ "$READS" = search ] && query_mix "$n_articles" | sed 's|^|/api/v1/search?|' >"$WORK/search.paths"
  for backend in "${backend_list[@]}"; do
    progress "$backend $size: seed ($n_articles articles, $n_comments comments, $n_shares share events; reused if present)"
    seed "$backend" "$size"

    progress "$backend $size: scratch copy, editor account, server start, sign-in"
    scratch_copy "$backend" "$size"
    url=$SCRATCH_URL
    printf '%s\n' "$EDITOR_PASSWORD" | DATABASE_URL=$url JWT_SECRET=$JWT DEMO_CONTENT=false RUST_LOG=warn \
      "$BIN" editor create --email "$EDITOR_EMAIL" --name "Mixed Bench Editor" --role editor --password-stdin >/dev/null
    start_server "$url" "$CACHE_BYTES"; wait_for_search
    B=http://127.0.0.1:$PORT/api/v1
    # wrk's URL gives the host; the script sends the paths.
    READ_URL=$B/articles; [ "$READS" = search ] && READ_URL=$B/search
    # Articles to edit: 20 spread over the read set, by id.
    awk -v n="$slug_count" 'NR % int((n + 19) / 20) == 1' "$WORK/slugs.txt" | while read -r slug; do
      curl -sf "$B/articles/$slug" | jq -r .id
    done >"$WORK/ids.txt"
    [ "$(wc -l <"$WORK/ids.txt")" -gt 0 ] || { echo "no article ids" >&2; exit 1; }
    token=$(curl -sf "$B/auth/login" -H 'content-type: application/json' \
      -d "{\"email\":\"$EDITOR_EMAIL\",\"password\":\"$EDITOR_PASSWORD\"}" | jq -r .access_token)
    if [ -z "$token" ] || [ "$token" = null ]; then echo "sign-in failed" >&2; exit 1; fi

    progress "$backend $size: reads without writes (${DURATION} s, $READS)"
    load0=$(awk '{print $1}' /proc/loadavg)
    read -r r0 p50_0 p99_0 bad0 < <(load "$READ_URL" "$WORK/reads.lua")
    printf '| %s | %s | no writes | %s | 100%% | %s | %s | %s | | | | %s |\n' \
      "$backend" "$size" "$r0" "$p50_0" "$p99_0" "$bad0" "$load0"

    progress "$backend $size: reads with writes (${DURATION} s; $SHARES_PER_SECOND shares/s, $COMMENTS_PER_SECOND comments/s, an edit every $EDIT_EVERY s)"
    load1=$(awk '{print $1}' /proc/loadavg)
    load_with_writes "$READ_URL" "$token" "$slug_count"
    read -r r1 p50_1 p99_1 bad1 <<<"$READ_RESULT"
    read -r s_ok s_bad s_sec <<<"$SHARE_RESULT"
    read -r c_ok c_bad c_sec <<<"$COMMENT_RESULT"
    read -r e_ok e_bad e_sec <<<"$EDIT_RESULT"
    pct=$(awk -v a="$r1" -v b="$r0" 'BEGIN { printf "%.0f", (b > 0 ? 100 * a / b : 0) }')
    printf '| %s | %s | with writes | %s | %s%% | %s | %s | %s | %s (%s) | %s (%s) | %s (%s, %s) | %s |\n' \
      "$backend" "$size" "$r1" "$pct" "$p50_1" "$p99_1" "$bad1" \
      "$(rate "$s_ok" "$s_sec")" "$s_bad" "$(rate "$c_ok" "$c_sec")" "$c_bad" \
      "$(rate "$e_ok" "$e_sec")" "$e_ok" "$e_bad" "$load1"
    printf '"%s" %s %s %s %s %s\n' "$(label "$backend" "$size")" "$r0" "$r1" "$pct" "$p99_0" "$p99_1" >>"$WORK/chart.dat"

    stop_server
    drop_scratch
  done
done

progress "chart: $CHART"
mkdir -p "$(dirname "$CHART")"
cat > "$WORK/chart.gp" <<'GP'
set terminal svg size 960,440 dynamic font "sans,12" background "#ffffff"
set output out
set multiplot layout 1,2 title heading
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics
set key top right
set xtics nomirror
set xrange [-0.6:rows - 0.4]
set yrange [0:*]
set offsets 0, 0, graph 0.15, 0
set title "reads/s (label: with writes as % of no writes)"
plot data using 2:xtic(1) title "no writes" lc rgb "#4c72b0", \
     '' using 3 title "with writes" lc rgb "#dd8452", \
     '' using ($0 + 1.0/6):3:(sprintf("%d%%", int($4))) with labels offset 0,0.8 notitle
set title sprintf("p99 latency of the reads, ms (dashed: the target, %d ms)", target)
set arrow 1 from graph 0, first target to graph 1, first target nohead dt 2 lw 1.5 lc rgb "#555555" front
plot data using 5:xtic(1) title "no writes" lc rgb "#4c72b0", \
     '' using 6 title "with writes" lc rgb "#dd8452"
unset multiplot
GP
# The p99 target drawn: 10 ms for cached reads (issue 16), 20 ms for
# uncached ones (issue 17's for PostgreSQL; SQLite's is 10 ms), 50 ms for
# searches (issue 22).
target=10
[ "$CACHE_BYTES" = 0 ] && target=20
[ "$READS" = search ] && target=50
gnuplot -e "out='$CHART'; data='$WORK/chart.dat'; rows=$(wc -l <"$WORK/chart.dat"); target=$target" \
  -e "heading=\"Reads ($READS, $CACHE_LABEL) with and without readers' writes ($SHARES_PER_SECOND shares/s, $COMMENTS_PER_SECOND comments/s, an edit every $EDIT_EVERY s)\"" \
  "$WORK/chart.gp"
