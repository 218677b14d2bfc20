#!/usr/bin/env bash
# What a tag rename costs now that every article stores its author and tags
# (`article_embeds`, rewritten by triggers in the rename's transaction), and
# what it does to the writes around it. Not part of `cargo test`.
#
#   bench/rename.sh [--backends sqlite,postgres] [--sizes 1k,1m] [--bin PATH]
#
# For each backend and size it seeds (or reuses) the databases of
# bench/run.sh, starts the server, signs in an admin it creates, and renames
# the tag `topic-1` (on about a tenth of all articles) while a second client
# keeps editing one article of another tag (PATCH, subtitle only) and a
# third keeps posting comments; then renames it back, so the seeded data
# keeps its names. Prints the rename's time, the tag's public article
# count (what the rename rewrites, drafts aside), and the slowest edit and
# comment answered while it ran. On SQLite every write waits for the one
# writer; on PostgreSQL only article writes that change tags or an author,
# create or delete an article wait for a rename (an advisory lock, see
# migration 000034), so neither measured client does.
#
# Needs curl and jq; uses loopback port 18080; PGURL as in run.sh.
set -euo pipefail
CALLER_DIR=$PWD
cd "$(dirname "$0")/.."
ROOT=$(pwd)
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

BACKENDS=sqlite,postgres
SIZES=1k
BIN=""
PGURL=${PGURL:-postgres://postgres@127.0.0.1:5432}
export PGOPTIONS='-c client_min_messages=warning'
PORT=18080
ADMIN_EMAIL=rename-admin@bench.test
ADMIN_PASSWORD=rename-benchmark-admin-password
JWT=bench-secret-bench-secret-bench-secret-0
while [ $# -gt 0 ]; do
  case "$1" in
    --backends) BACKENDS=$2; shift 2 ;;
    --sizes) SIZES=$2; shift 2 ;;
    --bin) BIN=$(cd "$CALLER_DIR" && realpath "$2"); shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
parse_lists "$BACKENDS" "$SIZES"
STEPS=$(( 1 + 3 * ${#backend_list[@]} * ${#size_list[@]} ))
need_tools curl:curl jq:jq

if [ -z "$BIN" ]; then
  progress "building the release binary"
  cargo build --release --quiet --bin broadsheet
  BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/broadsheet
fi
mkdir -p bench/data
WORK=$(mktemp -d)
SERVER_PID=""
LOOP_PIDS=()
cleanup() {
  for pid in "${LOOP_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# A client that repeats one request until $WORK/stop exists, writing each
# answer's status and seconds to OUT: loop OUT curl-args…
loop() {
  local out=$1; shift
  while [ ! -e "$WORK/stop" ]; do
    curl -s -o /dev/null -w '%{http_code} %{time_total}\n' "$@" >>"$out"
  done
}

# A loop's file -> the slowest answer in ms, the answers, those not 2xx.
slowest() {
  awk '{ if ($2 > m) m = $2; if ($1 !~ /^2/) bad++ } END { printf "%.0f %d %d\n", m * 1000, NR, bad }' "$1"
}

echo "# Broadsheet tag rename — $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores"
echo
echo "| backend | size | articles on the tag | rename s | rename back s | edits during it | slowest edit ms | comments during it | slowest comment ms | non-2xx |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for size in "${size_list[@]}"; do
  for backend in "${backend_list[@]}"; do
    progress "$backend $size: seed (reused if present), admin account"
    seed "$backend" "$size"
    url=$(database_url "$backend" "$size")
    printf '%s\n' "$ADMIN_PASSWORD" | DATABASE_URL=$url JWT_SECRET=$JWT DEMO_CONTENT=false RUST_LOG=warn \
      "$BIN" editor create --email "$ADMIN_EMAIL" --name "Rename Bench Admin" --role admin --password-stdin \
      >/dev/null 2>&1 || true # already there from an earlier run
    SEARCH_INDEX_DIR=$(search_index_dir "$backend" "$size"); export SEARCH_INDEX_DIR
    start_server "$url" 0; wait_for_search
    B=http://127.0.0.1:$PORT/api/v1
    token=$(curl -sf "$B/auth/login" -H 'content-type: application/json' \
      -d "{\"email\":\"$ADMIN_EMAIL\",\"password\":\"$ADMIN_PASSWORD\"}" | jq -r .access_token)
    if [ -z "$token" ] || [ "$token" = null ]; then echo "sign-in failed" >&2; exit 1; fi
    tag=$(curl -sf "$B/tags/topic-1" | jq -r .id)
    count=$(curl -sf "$B/tags/topic-1" | jq -r .article_count)
    name=$(curl -sf "$B/tags/topic-1" | jq -r .name)
    # An article without topic-1 to edit, and one to comment on.
    other=$(curl -sf "$B/articles?tag=topic-2&per_page=20&cursor=" |
      jq -r '[.data[] | select(all(.tags[]; .slug != "topic-1"))][0] | "\(.id) \(.slug)"')
    read -r edit_id comment_slug <<<"$other"
    [ -n "$edit_id" ] && [ "$edit_id" != null ] || { echo "no article to edit" >&2; exit 1; }

    progress "$backend $size: rename topic-1 ($count articles) under edits and comments"
    rm -f "$WORK/stop" "$WORK/edits" "$WORK/comments"
    : >"$WORK/edits"; : >"$WORK/comments"
    loop "$WORK/edits" -X PATCH "$B/admin/articles/$edit_id" -H "authorization: Bearer $token" \
      -H 'content-type: application/json' -d '{"subtitle": "Edited while a tag is renamed"}' &
    LOOP_PIDS+=($!)
    loop "$WORK/comments" -X POST "$B/articles/$comment_slug/comments" \
      -H 'content-type: application/json' \
      -d '{"author_name": "Bench Reader", "author_email": "reader@example.com", "body": "A comment posted during a rename."}' &
    LOOP_PIDS+=($!)
    sleep 1
    t=$(curl -s -o "$WORK/rename.json" -w '%{http_code} %{time_total}' -X PATCH "$B/admin/tags/$tag" \
      -H "authorization: Bearer $token" -H 'content-type: application/json' -d '{"name": "Topic one, renamed"}')
    sleep 1
    touch "$WORK/stop"
    for pid in "${LOOP_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    LOOP_PIDS=()
    [ "${t%% *}" = 200 ] || { echo "rename answered $t: $(cat "$WORK/rename.json")" >&2; exit 1; }
    read -r edit_ms edits edit_bad < <(slowest "$WORK/edits")
    read -r comment_ms comments comment_bad < <(slowest "$WORK/comments")

    progress "$backend $size: rename back"
    back=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' -X PATCH "$B/admin/tags/$tag" \
      -H "authorization: Bearer $token" -H 'content-type: application/json' -d "{\"name\": \"$name\"}")
    [ "${back%% *}" = 200 ] || { echo "rename back answered $back" >&2; exit 1; }
    stop_server
    printf '| %s | %s | %s | %.2f | %.2f | %s | %s | %s | %s | %s |\n' "$backend" "$size" "$count" \
      "${t#* }" "${back#* }" "$edits" "$edit_ms" "$comments" "$comment_ms" "$((edit_bad + comment_bad))"
  done
done
