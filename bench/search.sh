#!/usr/bin/env bash
# Search benchmark (issue: search). Not part of `cargo test`.
#
#   bench/search.sh [--backends sqlite,postgres] [--sizes 1k,1m] [--duration 10]
#                   [--connections 32] [--baseline-bin PATH] [--bin PATH]
#                   [--chart docs/bench/search.svg]
#
# For each backend and size it seeds a database exactly as bench/run.sh does
# (reused when present), then:
#
# 1. builds the search index from scratch (SEARCH_INDEX_DIR emptied) and
#    reports how long until `/search` answers, and the index's size on disk;
# 2. restarts on the built index and reports the start-up time;
# 3. drives, with the response cache off (RESPONSE_CACHE_BYTES=0), a mix of
#    about 450 different searches, rotated so that no answer repeats within
#    a second: common words, pairs of words, typos, prefixes (the last word
#    half typed), rare words (a seeded title's number), words in no
#    article, and common words filtered by tag, author or date;
#    then the same for `/search/suggest` with half-typed titles, at the
#    given connections and again at two (its latency below saturation);
# 4. with --baseline-bin, drives the same mix through `GET /articles?q=`
#    of that binary (the engine before this one: FTS5 / tsvector).
#
# Prints a markdown table (req/s, p50, p99, non-2xx, peak RSS) and draws the
# rates as an SVG chart with gnuplot (--chart). Progress lines on stderr
# when it is a terminal.
#
# Needs wrk and gnuplot (installed with apt-get if missing). Uses loopback
# port 18080; PGURL as in run.sh.
set -euo pipefail
CALLER_DIR=$PWD
cd "$(dirname "$0")/.."
ROOT=$(pwd)
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

BACKENDS=sqlite,postgres
SIZES=1k
DURATION=10
CONNECTIONS=32
CHART=docs/bench/search.svg
BIN=""
BASELINE=""
PGURL=${PGURL:-postgres://postgres@127.0.0.1:5432}
PORT=18080
while [ $# -gt 0 ]; do
  case "$1" in
    --backends) BACKENDS=$2; shift 2 ;;
    --sizes) SIZES=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --connections) CONNECTIONS=$2; shift 2 ;;
    --chart) CHART=$2; shift 2 ;;
    --bin) BIN=$(cd "$CALLER_DIR" && realpath "$2"); shift 2 ;;
    --baseline-bin) BASELINE=$(cd "$CALLER_DIR" && realpath "$2"); shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
parse_lists "$BACKENDS" "$SIZES"
STEPS=$(( 1 + 4 * ${#backend_list[@]} * ${#size_list[@]} + 1 ))
need_tools wrk:wrk gnuplot:gnuplot-nox

if [ -z "$BIN" ]; then
  progress "building the release binary"
  cargo build --release --quiet --bin broadsheet
  BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/broadsheet
else
  progress "measuring $BIN"
fi
NEW_BIN=$BIN
mkdir -p bench/data
WORK=$(mktemp -d)
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# query_mix: bench/lib.sh (shared with bench/mixed.sh --reads search).
suggest_mix() { # articles
  local n=$1 i w
  for w in "${WORDS[@]}"; do echo "q=${w:0:3}"; echo "q=article+${w:0:2}"; done
  for i in $(seq 1 100); do echo "q=article+$(( (i * 7919) % n + 1 ))"; done
}

# Waits until a search answers; prints the seconds since $1 (date +%s%N).
wait_searchable() {
  local started=$1
  until [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/api/v1/search?q=tram")" = 200 ]; do
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log" >&2; exit 1; }
    sleep 0.2
  done
  awk -v s="$started" -v e="$(date +%s%N)" 'BEGIN { printf "%.1f", (e - s) / 1e9 }'
}

row() { printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$@"; }

echo "# Broadsheet search — $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, wrk -t2 -c$CONNECTIONS -d${DURATION}s, response cache off"
echo
echo "| backend | size | what | req/s | p50 ms | p99 ms | non-2xx | peak RSS MB |"
echo "|---|---|---|---|---|---|---|---|"
: >"$WORK/chart.dat"
: >"$WORK/builds.txt"
for size in "${size_list[@]}"; do
  read -r articles _ _ < <(size_numbers "$size")
  query_mix "$articles" | sed 's|^|/api/v1/search?|' >"$WORK/search.paths"
  query_mix "$articles" | sed 's|^|/api/v1/articles?|' >"$WORK/list.paths"
  suggest_mix "$articles" | sed 's|^|/api/v1/search/suggest?|' >"$WORK/suggest.paths"
  for backend in "${backend_list[@]}"; do
    progress "$backend $size: seed (reused if present)"
    seed "$backend" "$size"
    url=$(database_url "$backend" "$size")
    SEARCH_INDEX_DIR=$(search_index_dir "$backend" "$size"); export SEARCH_INDEX_DIR
    rm -rf "$SEARCH_INDEX_DIR"
    BIN=$NEW_BIN

    progress "$backend $size: building the index from scratch"
    started=$(date +%s%N)
    start_server "$url" 0
    build_s=$(wait_searchable "$started")
    stop_server
    started=$(date +%s%N)
    start_server "$url" 0
    reopen_s=$(wait_searchable "$started")
    disk=$(du -sm "$SEARCH_INDEX_DIR" | cut -f1)
    echo "$backend $size: index built in $build_s s, $disk MB on disk; start-up on it $reopen_s s" >>"$WORK/builds.txt"

    progress "$backend $size: $(wc -l <"$WORK/search.paths") searches, $(wc -l <"$WORK/suggest.paths") suggestions"
    read -r s1 s2 s3 s4 < <(rotated "$WORK/search.paths")
    row "$backend" "$size" "/search, query mix" "$s1" "$s2" "$s3" "$s4" "$(peak_rss_mb)"
    read -r g1 g2 g3 g4 < <(rotated "$WORK/suggest.paths")
    row "$backend" "$size" "/search/suggest" "$g1" "$g2" "$g3" "$g4" "$(peak_rss_mb)"
    # Latency as a reader typing sees it: two connections, the machine not
    # saturated (at -c32, p99 is mostly the wait for a core).
    read -r t1 t2 t3 t4 < <(CONNECTIONS=2 rotated "$WORK/suggest.paths")
    row "$backend" "$size" "/search/suggest, 2 connections" "$t1" "$t2" "$t3" "$t4" "$(peak_rss_mb)"
    read -r l1 l2 l3 l4 < <(rotated "$WORK/list.paths")
    row "$backend" "$size" "/articles?q=, query mix" "$l1" "$l2" "$l3" "$l4" "$(peak_rss_mb)"
    stop_server

    progress "$backend $size: the previous engine"
    b1=0
    if [ -n "$BASELINE" ]; then
      BIN=$BASELINE
      start_server "$url" 0
      read -r b1 b2 b3 b4 < <(rotated "$WORK/list.paths")
      row "$backend" "$size" "previous engine, /articles?q=, query mix" "$b1" "$b2" "$b3" "$b4" "$(peak_rss_mb)"
      stop_server
    fi
    name=SQLite; [ "$backend" = postgres ] && name=PostgreSQL
    printf '"%s %s" %s %s %s %s\n' "$name" "$size" "$s1" "$g1" "$l1" "$b1" >>"$WORK/chart.dat"
  done
done
echo
sed 's/^/- /' "$WORK/builds.txt"

progress "chart: $CHART"
mkdir -p "$(dirname "$CHART")"
cat > "$WORK/chart.gp" <<'GP'
set terminal svg size 960,440 dynamic font "sans,12" background "#ffffff"
set output out
set title heading
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics
set key outside right top
set logscale y
set yrange [1:*]
set ylabel "requests/s (log scale)"
plot data using ($2 > 0 ? $2 : 1):xtic(1) title "/search, query mix", \
     '' using ($3 > 0 ? $3 : 1) title "/search/suggest", \
     '' using ($4 > 0 ? $4 : 1) title "/articles?q=", \
     '' using ($5 > 0 ? $5 : 1) title "previous engine (FTS5 / tsvector)"
GP
gnuplot -e "out='$CHART'; data='$WORK/chart.dat'" \
  -e "heading=\"Uncached searches per second, one instance\"" \
  "$WORK/chart.gp"
