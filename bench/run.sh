#!/usr/bin/env bash
# Broadsheet read/write benchmark (issue: performance). Not part of `cargo test`.
#
#   bench/run.sh [--backends sqlite,postgres] [--sizes 1k,1m] [--duration 10] [--connections 32] [--seed-only]
#
# For each backend and size it: builds release, seeds a database with the bulk
# seeder (benches/seed.rs; reused when it already exists), starts the server,
# drives each route with wrk on loopback and prints requests/s, p50 and p99
# latency, peak server memory and start-up time. It runs every read route
# twice: with the in-process response cache (the default configuration) and
# without it (RESPONSE_CACHE_BYTES=0, so every request reaches the database).
# It also serves the exact bytes of the article and list responses from
# nginx as static files and prints our throughput as a share of nginx's.
#
# Sizes: 1k = 1,000 articles, 5,000 comments, 10,000 share events;
#        1m = 1,000,000 articles, 5,000,000 comments, 10,000,000 share events.
# Both have 20 tags. Databases live in bench/data (SQLite) and in PostgreSQL
# databases named broadsheet_bench_<size> (PGURL, default
# postgres://postgres@127.0.0.1:5432).
#
# Needs wrk and nginx (Debian packages); installs them with apt-get if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
# Seeding, server start/stop, wrk runs: shared with bench/mixed.sh.
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

BACKENDS=sqlite,postgres
SIZES=1k
DURATION=10
CONNECTIONS=32
SEED_ONLY=0
PGURL=${PGURL:-postgres://postgres@127.0.0.1:5432}
PORT=18080
NGINX_PORT=18081
while [ $# -gt 0 ]; do
  case "$1" in
    --backends) BACKENDS=$2; shift 2 ;;
    --sizes) SIZES=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --connections) CONNECTIONS=$2; shift 2 ;;
    --seed-only) SEED_ONLY=1; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

for tool in wrk nginx; do
  command -v "$tool" >/dev/null || PATH=$PATH:/usr/sbin command -v "$tool" >/dev/null || {
    echo "installing $tool" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y "$tool" >/dev/null
  }
done
NGINX=$(PATH=$PATH:/usr/sbin command -v nginx)

echo "building release binaries…" >&2
cargo build --release --quiet --bin broadsheet
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/broadsheet
mkdir -p bench/data
WORK=$(mktemp -d)
SERVER_PID=""
NGINX_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; fi
  if [ -n "$NGINX_PID" ]; then kill "$NGINX_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

cat > "$WORK/share.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"channel":"email"}'
wrk.headers["Content-Type"] = "application/json"
LUA
cat > "$WORK/comment.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"author_name":"Bench Reader","author_email":"bench@example.com","body":"A thoughtful comment about the tram plan."}'
wrk.headers["Content-Type"] = "application/json"
LUA

row() { # label result...
  printf '| %s | %s | %s | %s | %s |\n' "$@"
}

nginx_static() { # article_bytes list_bytes -> prints rps for each
  mkdir -p "$WORK/www" "$WORK/nginx"
  cp "$1" "$WORK/www/article.json"
  cp "$2" "$WORK/www/list.json"
  cat > "$WORK/nginx/nginx.conf" <<CONF
worker_processes 2;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log;
daemon off;
events { worker_connections 1024; }
http {
  access_log off;
  default_type application/json;
  client_body_temp_path $WORK/nginx;
  proxy_temp_path $WORK/nginx;
  fastcgi_temp_path $WORK/nginx;
  uwsgi_temp_path $WORK/nginx;
  scgi_temp_path $WORK/nginx;
  server { listen 127.0.0.1:$NGINX_PORT; root $WORK/www; etag on; }
}
CONF
  "$NGINX" -c "$WORK/nginx/nginx.conf" &
  NGINX_PID=$!
  sleep 0.5
  NGINX_ARTICLE=$(load "http://127.0.0.1:$NGINX_PORT/article.json")
  NGINX_LIST=$(load "http://127.0.0.1:$NGINX_PORT/list.json")
  kill "$NGINX_PID"; wait "$NGINX_PID" 2>/dev/null || true; NGINX_PID=""
}

echo "# Broadsheet benchmark — $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, wrk -t2 -c$CONNECTIONS -d${DURATION}s"
echo
IFS=, read -ra backend_list <<<"$BACKENDS"
IFS=, read -ra size_list <<<"$SIZES"
for size in "${size_list[@]}"; do
  for backend in "${backend_list[@]}"; do
    seed "$backend" "$size"
    [ "$SEED_ONLY" = 1 ] && continue
    url=$(database_url "$backend" "$size")
    SEARCH_INDEX_DIR=$(search_index_dir "$backend" "$size"); export SEARCH_INDEX_DIR
    B=http://127.0.0.1:$PORT/api/v1
    echo "## $backend, $size"
    echo
    for mode in cached uncached; do
      if [ "$mode" = cached ]; then start_server "$url" 67108864; else start_server "$url" 0; fi
      wait_for_search
      echo "### $mode (start-up ${STARTUP_MS} ms)"
      echo
      echo "| route | req/s | p50 ms | p99 ms | non-2xx |"
      echo "|---|---|---|---|---|"
      curl -s "$B/articles/article-3" -o "$WORK/article.json"
      curl -s "$B/articles?per_page=20" -o "$WORK/list.json"
      read -r a1 a2 a3 a4 < <(load "$B/articles/article-3"); row "article by slug" "$a1" "$a2" "$a3" "$a4"; ARTICLE_RPS=$a1
      read -r a1 a2 a3 a4 < <(load "$B/articles?per_page=20"); row "home list (20, tags)" "$a1" "$a2" "$a3" "$a4"; LIST_RPS=$a1
      read -r a1 a2 a3 a4 < <(load "$B/articles?per_page=20&cursor="); row "home list, cursor mode" "$a1" "$a2" "$a3" "$a4"
      read -r a1 a2 a3 a4 < <(load "$B/articles?tag=topic-3&per_page=20&cursor="); row "tag page, cursor mode" "$a1" "$a2" "$a3" "$a4"
      read -r a1 a2 a3 a4 < <(load "$B/articles/article-3/comments"); row "comments of an article" "$a1" "$a2" "$a3" "$a4"
      # What a frontend builds beside the article (issue 18).
      read -r a1 a2 a3 a4 < <(load "$B/articles/article-3/related?per_page=4"); row "related articles (4)" "$a1" "$a2" "$a3" "$a4"
      read -r a1 a2 a3 a4 < <(load "$B/authors/writer-1"); row "author page" "$a1" "$a2" "$a3" "$a4"
      read -r a1 a2 a3 a4 < <(load "$B/authors?per_page=20"); row "authors list" "$a1" "$a2" "$a3" "$a4"
      read -r a1 a2 a3 a4 < <(load "$B/feeds/rss"); row "RSS feed (home)" "$a1" "$a2" "$a3" "$a4"
      if [ "$mode" = uncached ]; then
        # One sitemap file, first request on this server: its time and size
        # (the target: under a second and a few MB for 50,000 URLs).
        curl -s -o /dev/null -w '%{time_total} %{size_download}\n' "$B/sitemaps/articles-1.xml" >"$WORK/sitemap.txt"
        read -r st ss <"$WORK/sitemap.txt"
        echo "| sitemap file 1, one request: $(awk -v t="$st" 'BEGIN{printf "%.0f ms", 1000*t}'), $(awk -v b="$ss" 'BEGIN{printf "%.1f MB", b/1e6}') | | | | |"
        read -r a1 a2 a3 a4 < <(load "$B/sitemaps/articles-1.xml"); row "sitemap file 1" "$a1" "$a2" "$a3" "$a4"
      fi
      if [ "$mode" = uncached ]; then
        # A sync client's poll with nothing new (the feed is never in the
        # response cache): one settled read of the change log's feed index.
        since=$(curl -s "$B/changes" | sed -n 's/.*"next_cursor":"\([^"]*\)".*/\1/p')
        read -r a1 a2 a3 a4 < <(load "$B/changes?since=$since"); row "sync feed poll, nothing new" "$a1" "$a2" "$a3" "$a4"
        read -r a1 a2 a3 a4 < <(load "$B/articles?per_page=20&page=50"); row "home list, page 50" "$a1" "$a2" "$a3" "$a4"
        if [ "$size" = 1m ]; then
          # Page mode's cost grows with depth (OFFSET); cursor mode's does not.
          read -r a1 a2 a3 a4 < <(load "$B/articles?per_page=20&page=500"); row "home list, page 500" "$a1" "$a2" "$a3" "$a4"
          read -r a1 a2 a3 a4 < <(load "$B/articles?per_page=20&page=5000"); row "home list, page 5000" "$a1" "$a2" "$a3" "$a4"
          read -r a1 a2 a3 a4 < <(load "$B/articles?per_page=20&page=45000"); row "home list, page 45000" "$a1" "$a2" "$a3" "$a4"
        fi
        read -r a1 a2 a3 a4 < <(load "$B/articles/article-3/shares" "$WORK/share.lua"); row "share POST" "$a1" "$a2" "$a3" "$a4"
        read -r a1 a2 a3 a4 < <(load "$B/articles/article-3/comments" "$WORK/comment.lua"); row "comment POST" "$a1" "$a2" "$a3" "$a4"
      fi
      # Last: at 1M articles every seeded article matches, and a search that
      # ranks a million matches leaves work queued that would slow the
      # routes measured after it.
      read -r a1 a2 a3 a4 < <(load "$B/articles?q=tram+budget"); row "search q=tram budget" "$a1" "$a2" "$a3" "$a4"
      echo
      echo "peak server RSS: $(peak_rss_mb) MB"
      echo
      if [ "$mode" = cached ]; then
        nginx_static "$WORK/article.json" "$WORK/list.json"
        read -r n1 n2 n3 _ <<<"$NGINX_ARTICLE"
        read -r m1 m2 m3 _ <<<"$NGINX_LIST"
        echo "nginx static, same bytes: article $n1 req/s (p50 $n2, p99 $n3 ms); list $m1 req/s (p50 $m2, p99 $m3 ms)"
        awk -v a="$ARTICLE_RPS" -v n="$n1" -v l="$LIST_RPS" -v m="$m1" \
          'BEGIN { printf "ratio to nginx: article %.0f%%, list %.0f%%\n", 100*a/n, 100*l/m }'
        echo
      fi
      stop_server
    done
  done
done
