#!/usr/bin/env bash
# Webhook delivery (issue 20): how many deliveries a second one instance
# sends, and whether a dead receiver slows editors' writes.
#
#   bench/webhooks.sh [--backends sqlite,postgres] [--duration 10] [--connections 8] [--endpoints 10]
#                     [--runs none,live,dead1,dead] [--drain-limit 900]
#
# For each backend, on a fresh database with the demo content, one release
# server (WEBHOOK_ALLOW_PRIVATE_TARGETS=true, rate limits off), and four
# runs of `wrk` creating published articles (POST /api/v1/admin/articles)
# as the demo admin for the duration:
#
#   none    no webhook configured: the editors' write latency on its own
#   live    N endpoints (--endpoints) on a local nginx answering 204: each
#           article is N deliveries, more than the sender can keep up with,
#           so the deliveries counted in nginx's log over the run are what
#           one instance sends while editors write; then the time the
#           backlog takes to drain (at most --drain-limit seconds) and the
#           rate it drains at, with no other load
#   dead1   one endpoint on a port that accepts connections and never
#           answers: the issue's case, "a dead receiver configured"
#
# The "none" and "dead1" runs also create at a newsroom's pace first
# ("paced": 2 connections, 100 ms between a connection's requests, about
# 20 a second): one editor's latency, beside the flood's throughput.
#   dead    N endpoints on a port that accepts connections and never answers
#           (each attempt waits out its 10 s timeout): the write latency
#           with a dead receiver configured
#
# Prints a Markdown table and draws it (docs/bench/webhooks.svg). Progress on a
# terminal; quiet when piped. Needs wrk and nginx (installed with apt-get
# when missing) and PostgreSQL on 127.0.0.1:5432 for the postgres backend.
# It stops everything it started and drops its database.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
BACKENDS=sqlite,postgres
DURATION=10
CONNECTIONS=8
ENDPOINTS=10
RUNS=none,live,dead1,dead
DRAIN_LIMIT=900
while [ $# -gt 0 ]; do
  case "$1" in
    --backends) BACKENDS=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --connections) CONNECTIONS=$2; shift 2 ;;
    --endpoints) ENDPOINTS=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --drain-limit) DRAIN_LIMIT=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
PGURL=${PGURL:-postgres://postgres@127.0.0.1:5432}
# shellcheck source=bench/lib.sh
. bench/lib.sh
parse_lists "$BACKENDS" 1k
need_tools wrk:wrk nginx:nginx
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
STEPS=$(( ${#backend_list[@]} * 5 + 1 ))

WORK=$(mktemp -d)
chmod 755 "$WORK"
SERVER_PID="" NGINX_PID="" DEAD_PID=""
cleanup() {
  for pid in "$SERVER_PID" "$NGINX_PID" "$DEAD_PID"; do
    if [ -n "$pid" ]; then kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; fi
  done
  psql -q "$PGURL/postgres" -c "DROP DATABASE IF EXISTS bs_bench_webhooks WITH (FORCE)" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

progress "release build"
cargo build --release --quiet --bin broadsheet
BIN=$ROOT/target/release/broadsheet
PORT=$(free_port) LIVE=$(free_port) DEAD=$(free_port)
B=http://127.0.0.1:$PORT/api/v1
PASSWORD=bench-admin-password

# The live receiver: nginx answering 204 to every POST, one log line each.
mkdir -p "$WORK/nginx"
cat >"$WORK/nginx/nginx.conf" <<CONF
worker_processes 1;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log;
daemon off;
events { worker_connections 1024; }
http {
  client_body_temp_path $WORK/nginx;
  proxy_temp_path $WORK/nginx;
  fastcgi_temp_path $WORK/nginx;
  uwsgi_temp_path $WORK/nginx;
  scgi_temp_path $WORK/nginx;
  log_format plain '\$msec';
  access_log $WORK/nginx/received.log plain;
  server { listen 127.0.0.1:$LIVE; location / { return 204; } }
}
CONF
"$NGINX" -c "$WORK/nginx/nginx.conf" &
NGINX_PID=$!
# The dead receiver: the kernel completes each connection into the backlog
# and no one ever reads or answers.
python3 -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(4096); time.sleep(86400)' "$DEAD" &
DEAD_PID=$!

cat >"$WORK/create.lua" <<'LUA'
local counter = 0
local threads = 0
function setup(thread) threads = threads + 1; thread:set("tid", threads) end
function init(args) token = args[1] end
request = function()
  counter = counter + 1
  local body = string.format('{"title":"Webhook bench %d-%d","body_markdown":"A paragraph.","status":"published"}', tid, counter)
  return wrk.format("POST", "/api/v1/admin/articles",
    {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}, body)
end
LUA

received() { if [ -f "$WORK/nginx/received.log" ]; then wc -l <"$WORK/nginx/received.log"; else echo 0; fi; }

# wrk creating articles: "rps p50 p99 created non2xx"
# The same creates at a newsroom's pace instead of a flood: 2 connections,
# each waiting 100 ms after every answer (about 20 a second), so the
# latency is one editor's, not a queue's.
{ cat "$WORK/create.lua"; echo 'function delay() return 100 end'; } >"$WORK/paced.lua"

create_load() { # [paced]
  local out
  if [ "${1:-}" = paced ]; then
    out=$(wrk -t1 -c2 "-d${DURATION}s" --latency -s "$WORK/paced.lua" "http://127.0.0.1:$PORT" -- "$TOKEN" 2>&1)
  else
    out=$(wrk -t2 "-c$CONNECTIONS" "-d${DURATION}s" --latency -s "$WORK/create.lua" "http://127.0.0.1:$PORT" -- "$TOKEN" 2>&1)
  fi
  local rps p50 p99 total bad
  rps=$(awk '/^Requests\/sec/ {printf "%.0f", $2}' <<<"$out")
  p50=$(to_ms "$(awk '$1=="50%" {print $2}' <<<"$out")")
  p99=$(to_ms "$(awk '$1=="99%" {print $2}' <<<"$out")")
  total=$(awk '/requests in/ {print $1}' <<<"$out")
  bad=$(awk '/Non-2xx/ {print $5}' <<<"$out")
  echo "$rps $p50 $p99 $(( total - ${bad:-0} )) ${bad:-0}"
}

subscribe() { # port count
  local i
  for i in $(seq 1 "$2"); do
    curl -fsS "$B/admin/webhooks" -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \
      -d "{\"url\":\"http://127.0.0.1:$1/hook-$i\",\"events\":[\"article.published\"]}" -o /dev/null
  done
}

unsubscribe_all() {
  local id
  for id in $(curl -fsS "$B/admin/webhooks?per_page=100" -H "authorization: Bearer $TOKEN" \
    | python3 -c 'import json, sys; print(" ".join(str(w["id"]) for w in json.load(sys.stdin)["data"]))'); do
    curl -fsS -X DELETE "$B/admin/webhooks/$id" -H "authorization: Bearer $TOKEN" -o /dev/null
  done
}

echo "# Webhook delivery — $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, wrk -t2 -c$CONNECTIONS -d${DURATION}s, $ENDPOINTS endpoints"
echo
echo "| backend | run | article creates/s | p50 ms | p99 ms | non-2xx | deliveries/s during the run | backlog drained after | deliveries/s draining |"
echo "|---|---|---|---|---|---|---|---|---|"
CSV=$WORK/series.csv
for backend in "${backend_list[@]}"; do
  if [ "$backend" = sqlite ]; then
    url="sqlite://$WORK/webhooks.db"
  else
    psql -q "$PGURL/postgres" -c "DROP DATABASE IF EXISTS bs_bench_webhooks WITH (FORCE)"
    psql -q "$PGURL/postgres" -c "CREATE DATABASE bs_bench_webhooks"
    url="$PGURL/bs_bench_webhooks"
  fi
  progress "$backend: server"
  DATABASE_URL=$url BIND_ADDR=127.0.0.1:$PORT RUST_LOG=warn DEMO_CONTENT=true DEMO_ADMIN_PASSWORD=$PASSWORD \
    BROADSHEET_ENV=development JWT_SECRET=bench-secret-bench-secret-bench-secret-0 \
    WEBHOOK_ALLOW_PRIVATE_TARGETS=true ACCESS_TOKEN_TTL_SECONDS=3600 \
    RATE_LIMIT_COMMENTS_PER_MINUTE=0 RATE_LIMIT_SHARES_PER_MINUTE=0 RATE_LIMIT_LOGIN_PER_MINUTE=0 \
    "$BIN" serve >"$WORK/server-$backend.log" 2>&1 &
  SERVER_PID=$!
  until curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null; do
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server-$backend.log" >&2; exit 1; }
    sleep 0.1
  done
  TOKEN=$(curl -fsS "$B/auth/login" -H 'content-type: application/json' \
    -d "{\"email\":\"admin@broadsheet.test\",\"password\":\"$PASSWORD\"}" \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')

  progress "$backend: no webhook"
  read -r rps p50 p99 _ bad < <(create_load)
  printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$backend" "none" "$rps" "$p50" "$p99" "$bad" "–" "–" "–"
  # After the flood, like the paced run with a dead endpoint: both on a
  # database of the same size.
  read -r rps p50 p99 _ bad < <(create_load paced)
  printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$backend" "none, paced" "$rps" "$p50" "$p99" "$bad" "–" "–" "–"
  echo "$backend,none,$rps,$p99" >>"$CSV"

  if [[ ",$RUNS," == *,live,* ]]; then
  progress "$backend: $ENDPOINTS live endpoints"
  subscribe "$LIVE" "$ENDPOINTS"
  before=$(received); started=$(date +%s%N)
  read -r rps p50 p99 created bad < <(create_load)
  during=$(( $(received) - before ))
  ended=$(date +%s%N)
  per_s=$(( during * 1000000000 / (ended - started) ))
  expected=$(( before + created * ENDPOINTS ))
  until [ "$(received)" -ge "$expected" ]; do
    [ $(( ($(date +%s%N) - ended) / 1000000000 )) -lt "$DRAIN_LIMIT" ] || { echo "the backlog did not drain in $DRAIN_LIMIT s ($(received) of $expected)" >&2; exit 1; }
    if [ -t 2 ] && [ $(( SECONDS % 5 )) -eq 0 ] && [ "$SECONDS" != "${shown:-}" ]; then
      shown=$SECONDS
      echo "      $(date +%T) draining: $(received) of $expected delivered" >&2
    fi
    sleep 0.2
  done
  drain_ns=$(( $(date +%s%N) - ended ))
  drained=$(awk -v ns=$drain_ns 'BEGIN {printf "%.1f s", ns / 1e9}')
  drain_rate=$(awk -v n=$(( expected - before - during )) -v ns=$drain_ns 'BEGIN {printf "%.0f", n * 1e9 / ns}')
  printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$backend" "live ($ENDPOINTS × 204)" "$rps" "$p50" "$p99" "$bad" "$per_s" "$drained" "$drain_rate"
  echo "$backend,live,$rps,$p99,$drain_rate" >>"$CSV"
  unsubscribe_all
  fi

  for run in dead1 dead; do
    [[ ",$RUNS," == *,$run,* ]] || continue
    n=$ENDPOINTS; [ "$run" = dead1 ] && n=1
    progress "$backend: $n dead endpoint(s)"
    subscribe "$DEAD" "$n"
    if [ "$run" = dead1 ]; then
      read -r rps p50 p99 _ bad < <(create_load paced)
      printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$backend" "dead (1 × no answer), paced" "$rps" "$p50" "$p99" "$bad" "0" "–" "–"
    fi
    read -r rps p50 p99 _ bad < <(create_load)
    printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$backend" "dead ($n × no answer)" "$rps" "$p50" "$p99" "$bad" "0" "–" "–"
    echo "$backend,dead $n,$rps,$p99" >>"$CSV"
    unsubscribe_all
  done
  kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""
done

# The chart: article creates/s and p99 per run, and deliveries/s, per backend.
python3 - "$CSV" docs/bench/webhooks.svg <<'PY'
import csv, sys
rows = list(csv.reader(open(sys.argv[1])))
bars = [(f"{r[0]} {r[1]}", float(r[2]), float(r[3]), float(r[4]) if len(r) > 4 else None) for r in rows]
top = max(max(b[1] for b in bars), max((b[3] or 0) for b in bars), 1)
w, h, left, bw = 760, 320, 60, 40
out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="11">',
       f'<text x="{w/2}" y="16" text-anchor="middle" font-size="13">Webhooks: article creates/s (blue), deliveries/s draining (green), create p99 ms (label)</text>']
for i, (label, rps, p99, dps) in enumerate(bars):
    x = left + i * (w - left) / len(bars)
    for j, (v, colour) in enumerate([(rps, "#3b6ea8"), (dps, "#3f9b4f")]):
        if v is None: continue
        bh = (h - 90) * v / top
        out.append(f'<rect x="{x + j * (bw / 2 + 2):.0f}" y="{h - 60 - bh:.0f}" width="{bw / 2:.0f}" height="{bh:.0f}" fill="{colour}"/>')
        out.append(f'<text x="{x + j * (bw / 2 + 2) + bw / 4:.0f}" y="{h - 64 - bh:.0f}" text-anchor="middle">{v:.0f}</text>')
    out.append(f'<text x="{x + bw / 2:.0f}" y="{h - 44}" text-anchor="middle">{label}</text>')
    out.append(f'<text x="{x + bw / 2:.0f}" y="{h - 30}" text-anchor="middle">p99 {p99:.1f} ms</text>')
out.append("</svg>")
open(sys.argv[2], "w").write("\n".join(out) + "\n")
PY
progress "chart written to docs/bench/webhooks.svg"
