#!/usr/bin/env bash
# Uncached-read benchmark (issue 17): every request reaches the database.
# Not part of `cargo test`.
#
#   bench/uncached.sh [--backends sqlite,postgres] [--sizes 1k,1m] [--duration 10]
#                     [--connections 32] [--articles 1000] [--sslmode disable]
#                     [--chart docs/bench/uncached.svg] [--bin PATH]
#
# For each backend and size it seeds a database exactly as bench/run.sh does
# (same seeder, same bench/data files and broadsheet_bench_<size> databases,
# reused when they exist), starts the server with the response cache off
# (RESPONSE_CACHE_BYTES=0) and drives each public read with wrk -t2 -c32 on
# loopback, the paths rotated so that no one row stays hot:
#
#   article by slug         GET /articles/{slug}, over the newest --articles
#                           published articles
#   home list (20, tags)    GET /articles?per_page=20 (page mode, with total)
#   tag page, cursor mode   GET /articles?tag=topic-N&per_page=20&cursor=,
#                           over the 20 tags
#   comments of an article  GET /articles/{slug}/comments, rotated as above
#   share counts            GET /articles/{slug}/shares, rotated as above
#
# and, in the same run, the reference each figure is held against:
#
#   PostgreSQL: PostgreSQL's own single-row lookup rate, pgbench -S -M
#     prepared -c32 -j2 for the same duration (scale 10, database
#     broadsheet_pgbench, created once);
#   SQLite: the cached article by slug (the same server with the response
#     cache on, the same rotation).
#
# Both the server and pgbench connect with the same sslmode (--sslmode,
# default disable: loopback needs no TLS, and libpq's default `prefer` makes
# TLS on a server that has it on, which costs about a fifth of the CPU of a
# short lookup on either side).
#
# Prints a markdown table (stdout) with each route's share of its reference
# and issue 17's target for it, and draws the shares as an SVG chart with
# gnuplot (--chart). Progress lines go to stderr when it is a terminal.
#
# --bin measures that server binary instead of building this checkout's
# (a before/after comparison on the same seeded data).
#
# Needs wrk, gnuplot and pgbench (Debian packages; pgbench comes with
# postgresql-client); installs wrk and gnuplot with apt-get if missing. Uses
# loopback port 18080; PGURL as in run.sh.
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
ARTICLES=1000
SSLMODE=disable
CHART=docs/bench/uncached.svg
BIN=""
PGURL=${PGURL:-postgres://postgres@127.0.0.1:5432}
export PGOPTIONS='-c client_min_messages=warning'
PORT=18080
while [ $# -gt 0 ]; do
  case "$1" in
    --backends) BACKENDS=$2; shift 2 ;;
    --sizes) SIZES=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --connections) CONNECTIONS=$2; shift 2 ;;
    --articles) ARTICLES=$2; shift 2 ;;
    --sslmode) SSLMODE=$2; shift 2 ;;
    --chart) CHART=$2; shift 2 ;;
    --bin) BIN=$(cd "$CALLER_DIR" && realpath "$2"); shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
parse_lists "$BACKENDS" "$SIZES"
STEPS=$(( 2 + 3 * ${#backend_list[@]} * ${#size_list[@]} ))
need_tools wrk:wrk gnuplot:gnuplot-nox pgbench:postgresql-client

if [ -z "$BIN" ]; then
  progress "building the release binary"
  cargo build --release --quiet --bin broadsheet
  BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/broadsheet
else
  progress "measuring $BIN"
fi
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

published_slugs "$ARTICLES" >"$WORK/slugs.txt"
sed 's|^|/api/v1/articles/|' "$WORK/slugs.txt" >"$WORK/article.paths"
sed 's|^\(.*\)$|/api/v1/articles/\1/comments|' "$WORK/slugs.txt" >"$WORK/comments.paths"
sed 's|^\(.*\)$|/api/v1/articles/\1/shares|' "$WORK/slugs.txt" >"$WORK/shares.paths"
echo "/api/v1/articles?per_page=20" >"$WORK/home.paths"
for i in $(seq 1 20); do echo "/api/v1/articles?tag=topic-$i&per_page=20&cursor="; done >"$WORK/tag.paths"

# pgbench's scale-10 database, created once; dropped again when its set-up
# fails, so the next run does not take a half-made one.
pgbench_init() {
  if psql "$PGURL/postgres" -tAc "SELECT 1 FROM pg_database WHERE datname='broadsheet_pgbench'" | grep -q 1; then
    return
  fi
  psql "$PGURL/postgres" -qc "CREATE DATABASE broadsheet_pgbench"
  if ! PGSSLMODE=$SSLMODE pgbench -q -i -s 10 "$PGURL/broadsheet_pgbench" >"$WORK/pgbench-init.log" 2>&1; then
    cat "$WORK/pgbench-init.log" >&2
    psql "$PGURL/postgres" -qc "DROP DATABASE broadsheet_pgbench"
    exit 1
  fi
}

# pgbench -S for the run's duration -> tps
pgbench_tps() {
  PGSSLMODE=$SSLMODE pgbench -S -M prepared -c "$CONNECTIONS" -j 2 -T "$DURATION" "$PGURL/broadsheet_pgbench" 2>/dev/null |
    awk '/^tps = / {printf "%.0f", $3}'
}

label() { # backend size
  local name=SQLite; [ "$1" = postgres ] && name=PostgreSQL
  echo "$name $2"
}

# target backend route -> the share of the reference issue 17 asks for
target() {
  case "$1:$2" in
    postgres:article) echo 50 ;;
    postgres:home|postgres:tag) echo 25 ;;
    sqlite:article) echo 40 ;;
    sqlite:home|sqlite:tag) echo 20 ;;
    *) echo "" ;;
  esac
}

echo "# Broadsheet uncached reads — $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, wrk -t2 -c$CONNECTIONS -d${DURATION}s, sslmode=$SSLMODE"
echo
echo "Reference: PostgreSQL, pgbench -S -M prepared -c$CONNECTIONS -j2 (scale 10) in the same run; SQLite, the cached article by slug in the same run."
echo "Comments and share counts are held to half the article-by-slug figure."
echo
echo "| backend | size | route | req/s | p50 ms | p99 ms | non-2xx | reference | share | target | met |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
: >"$WORK/chart.dat"
for size in "${size_list[@]}"; do
  for backend in "${backend_list[@]}"; do
    progress "$backend $size: seed (reused if present)"
    seed "$backend" "$size"
    url=$(database_url "$backend" "$size")
    [ "$backend" = postgres ] && url="$url?sslmode=$SSLMODE"
    SEARCH_INDEX_DIR=$(search_index_dir "$backend" "$size"); export SEARCH_INDEX_DIR

    progress "$backend $size: reference"
    if [ "$backend" = postgres ]; then
      pgbench_init
      reference=$(pgbench_tps)
      [ -n "$reference" ] || { echo "pgbench -S gave no rate" >&2; exit 1; }
      ref_label="pgbench -S $reference tps"
    else
      start_server "$url" 67108864; wait_for_search
      read -r reference _ _ _ < <(rotated "$WORK/article.paths")
      stop_server
      ref_label="cached article $reference req/s"
    fi

    progress "$backend $size: uncached routes (5 × ${DURATION} s)"
    start_server "$url" 0; wait_for_search
    article_rps=""
    row=()
    for route in article home tag comments shares; do
      read -r rps p50 p99 bad < <(rotated "$WORK/$route.paths")
      case "$route" in
        article) name="article by slug"; article_rps=$rps ;;
        home) name="home list (20, tags)" ;;
        tag) name="tag page, cursor mode" ;;
        comments) name="comments of an article" ;;
        shares) name="share counts" ;;
      esac
      if [ "$route" = comments ] || [ "$route" = shares ]; then
        ref=$article_rps; ref_text="article by slug"; want=50
      else
        ref=$reference; ref_text=$ref_label; want=$(target "$backend" "$route")
      fi
      share=$(awk -v a="$rps" -v b="$ref" 'BEGIN { printf "%.0f", (b > 0 ? 100 * a / b : 0) }')
      p99_max=10; [ "$backend" = postgres ] && p99_max=20
      met=yes
      awk -v s="$share" -v w="$want" 'BEGIN { exit !(s >= w) }' || met=no
      if [ "$route" != comments ] && [ "$route" != shares ]; then
        awk -v p="$p99" -v m="$p99_max" 'BEGIN { exit !(p <= m) }' || met="$met, p99 > $p99_max ms"
      fi
      printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s%% | ≥ %s%% | %s |\n' \
        "$backend" "$size" "$name" "$rps" "$p50" "$p99" "$bad" "$ref_text" "$share" "$want" "$met"
      row+=("$share")
    done
    stop_server
    printf '"%s" %s\n' "$(label "$backend" "$size")" "${row[*]}" >>"$WORK/chart.dat"
  done
done

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
set yrange [0:*]
set ylabel "% of the reference"
plot data using 2:xtic(1) title "article by slug", \
     '' using 3 title "home list", \
     '' using 4 title "tag page", \
     '' using 5 title "comments (of article)", \
     '' using 6 title "share counts (of article)"
GP
gnuplot -e "out='$CHART'; data='$WORK/chart.dat'" \
  -e "heading=\"Uncached reads as a share of the reference (PostgreSQL: pgbench -S; SQLite: cached article)\"" \
  "$WORK/chart.gp"
