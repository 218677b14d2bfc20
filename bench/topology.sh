#!/usr/bin/env bash
# The whole topology of docs/DEPLOY.md on one machine (issue 21), under the
# mixed read/write load of bench/mixed.sh. Not part of `cargo test`.
#
#   bench/topology.sh [--duration 20] [--connections 32] [--articles 300]
#                     [--shares-per-second 50] [--comments-per-second 5]
#                     [--edit-every 5] [--bin PATH] [--chart docs/bench/topology.svg]
#
# --bin: the release binary (default target/release/broadsheet; build it
# with `cargo build --release` first).
#
# What it starts, all on loopback and all stopped again on every exit
# (Ctrl-C and failures included):
#
#   - a database broadsheet_bench_topology on the local PostgreSQL (5432,
#     dropped at the end), an editor account and --articles published
#     articles created through the API;
#   - a streaming replica of that PostgreSQL (pg_basebackup -R into a
#     temporary directory, postgres as the postgres user on a free port; the
#     primary must accept replication connections from 127.0.0.1);
#   - PgBouncer (Debian's, pool_mode = transaction) in front of the primary;
#   - three `broadsheet serve` instances: DATABASE_URL through PgBouncer with
#     DATABASE_POOLER=transaction, DATABASE_REPLICA_URLS to the replica,
#     REDIS_URL=redis://127.0.0.1:6379 (the local Redis) with a key prefix
#     of this run's own, one JWT_SECRET, rate limits raised out of reach
#     (every limited request still checks its limit in Redis) and share
#     de-duplication off;
#   - nginx in front of them, round robin, as a child process (no daemon;
#     its pid, logs and temp files in the temporary directory).
#
# The load is bench/mixed.sh's "with writes" run (bench/lib.sh): wrk -t2
# -cN reads, GET /api/v1/articles/{slug} rotated over the articles and the
# home list every tenth request, while fixed-rate writers press shares
# (50/s), post comments (5/s) and an editor PATCHes an article every 5 s,
# all through nginx. Four runs of --duration seconds (after 1 s of
# warm-up):
#
#   one instance   one server straight on the primary (no PgBouncer, no
#                  replica, no nginx, no Redis): the baseline; response
#                  cache on (64 MiB), then off (RESPONSE_CACHE_BYTES=0)
#   topology       the three instances behind nginx, same two cache settings
#
# The baseline runs first, before the replica exists, so that nothing of
# the topology shares the CPU with it. For each run it prints reads/s,
# p50, p99, non-2xx answers, the writes reached, and for the topology the
# share of public reads that reached a database which the replica served
# (the three instances' broadsheet_replica_reads_total against
# broadsheet_replica_fallback_reads_total, before and after), the replica
# lag seen (broadsheet_replica_lag_seconds of the three instances and the
# primary's pg_stat_replication.replay_lag, sampled every half second (about
# once a second under load, with the queries of each sample):
# highest and median), and what shows each part did its share: requests
# per instance in nginx's log, transactions through PgBouncer, calls of the
# rate-limit script on the Redis and the checks it did not answer in time.
# Then it draws reads/s and p99 per run (--chart).
#
# On one machine every process shares the same cores: this proves the
# topology works and measures its overhead, not a capacity gain.
#
# Progress lines go to stderr when it is a terminal. Needs wrk, nginx,
# pgbouncer, gnuplot and jq (Debian packages; installed with apt-get when
# missing), PostgreSQL on 127.0.0.1:5432 (trust; PGURL) and Redis on
# 127.0.0.1:6379, and runs as root (it starts the replica and PgBouncer as
# the postgres user).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
# shellcheck source=bench/lib.sh disable=SC1091
. "$ROOT/bench/lib.sh"

DURATION=20
CONNECTIONS=32
ARTICLES=300
SHARES_PER_SECOND=50
COMMENTS_PER_SECOND=5
EDIT_EVERY=5
# The release binary of this checkout unless --bin names another build.
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/broadsheet
CHART=docs/bench/topology.svg
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) DURATION=$2; shift 2 ;;
    --connections) CONNECTIONS=$2; shift 2 ;;
    --articles) ARTICLES=$2; shift 2 ;;
    --shares-per-second) SHARES_PER_SECOND=$2; shift 2 ;;
    --comments-per-second) COMMENTS_PER_SECOND=$2; shift 2 ;;
    --edit-every) EDIT_EVERY=$2; shift 2 ;;
    --bin) BIN=$2; shift 2 ;;
    --chart) CHART=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
[ -x "$BIN" ] || { echo "no binary at $BIN (cargo build --release, or --bin PATH)" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "run as root: the replica and PgBouncer run as the postgres user" >&2; exit 2; }
need_tools wrk:wrk nginx:nginx pgbouncer:pgbouncer gnuplot:gnuplot-nox jq:jq
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
PGBOUNCER=$(command -v pgbouncer || echo /usr/sbin/pgbouncer)

PGURL=${PGURL:-postgres://postgres@127.0.0.1:5432}
export PGOPTIONS='-c client_min_messages=warning'
DB=broadsheet_bench_topology
PRIMARY=$PGURL/$DB
MAJOR=$(psql "$PGURL/postgres" -Atc "SELECT current_setting('server_version_num')::int / 10000")
# The replica needs a replication connection; Debian's pg_hba.conf has no
# line for it (.ci/run adds one).
psql "$PGURL/postgres?replication=true" -Atc IDENTIFY_SYSTEM >/dev/null 2>&1 || {
  echo "PostgreSQL refuses replication connections from 127.0.0.1: add" >&2
  echo "'host replication all 127.0.0.1/32 trust' to $(psql "$PGURL/postgres" -Atc 'SHOW hba_file') and reload (.ci/run does)" >&2
  exit 2
}
PGBIN=/usr/lib/postgresql/$MAJOR/bin
JWT=bench-secret-bench-secret-bench-secret-0
EDITOR_EMAIL=topology-editor@bench.test
EDITOR_PASSWORD=topology-benchmark-editor-password
# The postgres user's processes (replica, PgBouncer, pg_basebackup): its
# own HOME, or libpq looks for client certificates in root's.
AS_POSTGRES=(setpriv --reuid postgres --regid postgres --clear-groups -- env HOME=/var/lib/postgresql)
# Each run its own: the replica's name in pg_stat_replication (other
# replicas of this PostgreSQL may be running) and the Redis keys.
TAG=bstopo$$
REDIS_PREFIX="bench-topology-$$:"
# High enough never to refuse a request of the bench, low enough to be a
# real limit: every share press, comment and sign-in checks it.
LIMIT=1000000
# shellcheck disable=SC2034 # read by progress() in bench/lib.sh
STEPS=9

WORK=$(mktemp -d /tmp/bs-bench-topology.XXXXXX)
chmod 755 "$WORK"
SERVER_PIDS=()
WRITER_PIDS=()
REPLICA_PID="" BOUNCER_PID="" NGINX_PID="" SAMPLER_PID=""
DB_CREATED=""
# Stops a child: SIGTERM (or the signal given), then waits for it.
stop_pid() { # pid [signal]
  [ -n "$1" ] || return 0
  kill "-${2:-TERM}" "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
cleanup() {
  local pid
  # The sampler stops within a second once its file is gone.
  rm -f "$WORK/sampling"
  if [ -n "$SAMPLER_PID" ]; then wait "$SAMPLER_PID" 2>/dev/null || true; fi
  for pid in "${WRITER_PIDS[@]}"; do
    pkill -P "$pid" 2>/dev/null || true # the editor loop's sleep or curl
    stop_pid "$pid"
  done
  for pid in "${SERVER_PIDS[@]}"; do stop_pid "$pid"; done
  stop_pid "$NGINX_PID"
  stop_pid "$BOUNCER_PID"
  # Fast shutdown (SIGINT): disconnects its clients and stops at once.
  stop_pid "$REPLICA_PID" INT
  if [ -n "$DB_CREATED" ]; then
    psql "$PGURL/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  fi
  redis-cli --scan --pattern "$REDIS_PREFIX*" 2>/dev/null | xargs -r redis-cli del >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { # port what
  local _
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return
    sleep 0.1
  done
  echo "$2 did not start" >&2; exit 1
}
BASE_PORT=$(free_port) LB_PORT=$(free_port) BOUNCER_PORT=$(free_port) REPLICA_PORT=$(free_port)
INSTANCE_PORTS=("$(free_port)" "$(free_port)" "$(free_port)")

# A server on its port with the bench's settings and the extra ones given;
# waits for /readyz. Its pid joins SERVER_PIDS.
start_instance() { # port log [VAR=value…]
  local port=$1 log=$2; shift 2
  # Without PGOPTIONS (for psql here): libpq would send it to PgBouncer as a
  # startup parameter, which PgBouncer refuses.
  env -u PGOPTIONS DATABASE_URL="$PRIMARY" BIND_ADDR="127.0.0.1:$port" RUST_LOG=warn DEMO_CONTENT=false \
    JWT_SECRET=$JWT RATE_LIMIT_COMMENTS_PER_MINUTE=$LIMIT RATE_LIMIT_SHARES_PER_MINUTE=$LIMIT \
    RATE_LIMIT_LOGIN_PER_MINUTE=$LIMIT SHARE_DEDUP_SECONDS=0 SHUTDOWN_GRACE_SECONDS=5 \
    "$@" "$BIN" serve >>"$WORK/$log" 2>&1 &
  SERVER_PIDS+=("$!")
  local pid=$!
  until curl -sf "http://127.0.0.1:$port/readyz" >/dev/null; do
    kill -0 "$pid" 2>/dev/null || { cat "$WORK/$log" >&2; exit 1; }
    sleep 0.05
  done
}
stop_instances() {
  local pid
  for pid in "${SERVER_PIDS[@]}"; do stop_pid "$pid"; done
  SERVER_PIDS=()
}

# The sum of one metric line (name with labels, as printed) over the ports.
metric_sum() { # line port…
  local line=$1 port total=0 v; shift
  for port in "$@"; do
    v=$(curl -sf "http://127.0.0.1:$port/metrics" | awk -v m="$line" 'index($0, m " ") == 1 {print $NF}')
    total=$(awk -v a="$total" -v b="${v:-0}" 'BEGIN { printf "%.0f", a + b }')
  done
  echo "$total"
}

# The sum of every line of a metric family, whatever its labels.
metric_sum_prefix() { # name port…
  local name=$1 port; shift
  for port in "$@"; do curl -sf "http://127.0.0.1:$port/metrics"; done |
    awk -v m="$name" 'index($0, m) == 1 && (substr($0, length(m) + 1, 1) == "{" || substr($0, length(m) + 1, 1) == " ") {n += $NF} END {printf "%.0f\n", n}'
}

# Every half second while $WORK/sampling exists: the highest
# broadsheet_replica_lag_seconds of the instances, the primary's replay_lag
# for the replica (ms; empty when it has nothing to report) and how many
# instances have the replica in rotation.
sampler() { # port…
  local port lag in_rotation m replay
  while [ -f "$WORK/sampling" ]; do
    lag=-1 in_rotation=0
    for port in "$@"; do
      m=$(curl -sf --max-time 1 "http://127.0.0.1:$port/metrics" || true)
      lag=$(awk -v l="$lag" '$1 == "broadsheet_replica_lag_seconds{replica=\"1\"}" && $2 > l {l = $2} END {print l}' <<<"$m")
      if grep -q '^broadsheet_replica_in_rotation{replica="1".*} 1$' <<<"$m"; then in_rotation=$((in_rotation + 1)); fi
    done
    replay=$(psql "$PGURL/postgres" -Atc "SELECT round(extract(epoch FROM replay_lag) * 1000, 1) FROM pg_stat_replication WHERE application_name = '$TAG'" 2>/dev/null || true)
    echo "$lag ${replay:-none} $in_rotation"
    sleep 0.5
  done
}

# "highest median samples" of one column of the sampler's output, skipping
# what is not a number (-1: not checked yet; none: no replay_lag reported).
lag_summary() { # column file scale
  awk -v c="$1" -v s="$3" '$c ~ /^[0-9.]+$/ && $c >= 0 {print $c * s}' "$2" | sort -g |
    awk '{v[NR] = $1} END { if (NR == 0) { print "- - 0"; exit }
      m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
      printf "%.0f %.0f %d\n", v[NR], m, NR }'
}

# PgBouncer's transactions for the bench database so far (from its admin
# console, which refuses PGOPTIONS as well).
bouncer_xacts() {
  { PGOPTIONS='' psql -h 127.0.0.1 -p "$BOUNCER_PORT" -U postgres -d pgbouncer -Atc "SHOW STATS" 2>/dev/null || true; } |
    awk -F'|' -v db="$DB" '$1 == db {n = $2} END {print n + 0}'
}

# One run of the mixed load at $PORT; prints its table row and adds it to
# the chart's data. Sets ROW_RPS and ROW_P99.
run_load() { # label cache
  local label=$1 cache=$2
  local load_avg; load_avg=$(awk '{print $1}' /proc/loadavg)
  load_with_writes "http://127.0.0.1:$PORT/api/v1/articles" "$TOKEN" "$SLUG_COUNT"
  read -r ROW_RPS p50 ROW_P99 bad <<<"$READ_RESULT"
  read -r s_ok s_bad s_sec <<<"$SHARE_RESULT"
  read -r c_ok c_bad c_sec <<<"$COMMENT_RESULT"
  read -r e_ok e_bad _ <<<"$EDIT_RESULT"
  ROW="| $label | $cache | $ROW_RPS | $p50 | $ROW_P99 | $bad | $(rate "$s_ok" "$s_sec") ($s_bad) | $(rate "$c_ok" "$c_sec") ($c_bad) | $e_ok ($e_bad) | $load_avg |"
}

TABLE=$WORK/table.md
: >"$WORK/chart.dat"

progress "database $DB, editor account, one instance on the primary"
psql "$PGURL/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
psql "$PGURL/postgres" -qc "CREATE DATABASE $DB"
DB_CREATED=1
printf '%s\n' "$EDITOR_PASSWORD" | DATABASE_URL=$PRIMARY JWT_SECRET=$JWT DEMO_CONTENT=false RUST_LOG=warn \
  "$BIN" editor create --email "$EDITOR_EMAIL" --name "Topology Bench Editor" --role editor --password-stdin >/dev/null
start_instance "$BASE_PORT" base.log
PORT=$BASE_PORT
B=http://127.0.0.1:$PORT/api/v1
sign_in() {
  curl -sf "$B/auth/login" -H 'content-type: application/json' \
    -d "{\"email\":\"$EDITOR_EMAIL\",\"password\":\"$EDITOR_PASSWORD\"}" | jq -r .access_token
}
TOKEN=$(sign_in)
if [ -z "$TOKEN" ] || [ "$TOKEN" = null ]; then echo "sign-in failed" >&2; exit 1; fi

progress "$ARTICLES published articles through the API"
for i in $(seq 1 "$ARTICLES"); do
  curl -sf "$B/admin/articles" -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \
    -d "{\"title\":\"Topology bench $i\",\"body_markdown\":\"Body of article $i of the topology benchmark. A paragraph about the tram plan.\",\"status\":\"published\"}"
  echo
done | jq -r '"\(.id) \(.slug)"' >"$WORK/articles.txt"
awk '{print $2}' "$WORK/articles.txt" >"$WORK/slugs.txt"
SLUG_COUNT=$(wc -l <"$WORK/slugs.txt")
[ "$SLUG_COUNT" = "$ARTICLES" ] || { echo "created $SLUG_COUNT of $ARTICLES articles" >&2; exit 1; }
# The articles to edit: 20 spread over the read set.
awk -v n="$SLUG_COUNT" '(NR - 1) % int((n + 19) / 20) == 0 {print $1}' "$WORK/articles.txt" >"$WORK/ids.txt"
export MIXED_SLUGS=$WORK/slugs.txt
mixed_scripts

progress "one instance, cache on: mixed load (${DURATION} s)"
run_load "one instance, direct" on
echo "$ROW – | – | – | – |" >>"$TABLE"
BASE_ON="$ROW_RPS $ROW_P99"
stop_instances

progress "one instance, cache off: mixed load (${DURATION} s)"
start_instance "$BASE_PORT" base.log RESPONSE_CACHE_BYTES=0
TOKEN=$(sign_in)
run_load "one instance, direct" off
echo "$ROW – | – | – | – |" >>"$TABLE"
BASE_OFF="$ROW_RPS $ROW_P99"
stop_instances

progress "streaming replica on port $REPLICA_PORT (pg_basebackup)"
chown postgres "$WORK"
"${AS_POSTGRES[@]}" "$PGBIN/pg_basebackup" \
  -h 127.0.0.1 -p "${PGURL##*:}" -U postgres -D "$WORK/replica" -R -X stream -c fast --no-sync
touch "$WORK/replica/postgresql.conf" "$WORK/replica/pg_ident.conf"
printf 'local all all trust\nhost all all 127.0.0.1/32 trust\n' >"$WORK/replica/pg_hba.conf"
chown postgres "$WORK/replica/"*.conf
# cluster_name is the name the replica's WAL receiver gives the primary
# (pg_stat_replication.application_name).
"${AS_POSTGRES[@]}" "$PGBIN/postgres" -D "$WORK/replica" \
  -p "$REPLICA_PORT" -c listen_addresses=127.0.0.1 -c "unix_socket_directories=$WORK" \
  -c hot_standby=on -c hot_standby_feedback=on -c "cluster_name=$TAG" >"$WORK/replica.log" 2>&1 &
REPLICA_PID=$!
REPLICA_URL=postgres://postgres@127.0.0.1:$REPLICA_PORT/$DB
for _ in $(seq 1 300); do
  psql "$REPLICA_URL" -Atc "SELECT 1" >/dev/null 2>&1 && break
  kill -0 "$REPLICA_PID" 2>/dev/null || { cat "$WORK/replica.log" >&2; exit 1; }
  sleep 0.1
done
[ "$(psql "$REPLICA_URL" -Atc "SELECT pg_is_in_recovery()")" = t ] || { echo "the replica is not in recovery" >&2; exit 1; }

progress "PgBouncer (transaction mode) on port $BOUNCER_PORT, nginx on port $LB_PORT"
mkdir -p "$WORK/bouncer"
cat >"$WORK/bouncer/pgbouncer.ini" <<INI
[databases]
$DB = host=127.0.0.1 port=${PGURL##*:} dbname=$DB
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $BOUNCER_PORT
unix_socket_dir =
auth_type = trust
auth_file = $WORK/bouncer/userlist.txt
admin_users = postgres
pool_mode = transaction
default_pool_size = 12
max_client_conn = 200
server_reset_query =
ignore_startup_parameters = extra_float_digits
logfile = $WORK/bouncer/pgbouncer.log
pidfile = $WORK/bouncer/pgbouncer.pid
INI
echo '"postgres" ""' >"$WORK/bouncer/userlist.txt"
chown -R postgres "$WORK/bouncer"
# PgBouncer refuses to run as root. setpriv and env exec what they run, so
# $! is PgBouncer itself (and above, the replica's postmaster).
"${AS_POSTGRES[@]}" "$PGBOUNCER" -q "$WORK/bouncer/pgbouncer.ini" &
BOUNCER_PID=$!
wait_port "$BOUNCER_PORT" PgBouncer

# nginx: round robin over the three, keep-alive connections to them, the
# client's address in X-Forwarded-For (the instances trust 127.0.0.1), and
# a log line per request naming the instance that answered.
mkdir -p "$WORK/nginx"
chown nobody "$WORK/nginx"
{
  echo "worker_processes auto;"
  echo "daemon off;"
  echo "pid $WORK/nginx/nginx.pid;"
  echo "error_log $WORK/nginx/error.log warn;"
  echo "events { worker_connections 4096; }"
  echo "http {"
  for t in client_body proxy fastcgi uwsgi scgi; do echo "  ${t}_temp_path $WORK/nginx/$t;"; done
  echo "  log_format upstream '\$upstream_addr \$status';"
  echo "  access_log $WORK/nginx/access.log upstream buffer=256k flush=1s;"
  echo "  upstream broadsheet {"
  for port in "${INSTANCE_PORTS[@]}"; do echo "    server 127.0.0.1:$port;"; done
  echo "    keepalive 64;"
  echo "  }"
  echo "  server {"
  echo "    listen 127.0.0.1:$LB_PORT;"
  echo "    location / {"
  echo "      proxy_pass http://broadsheet;"
  echo "      proxy_http_version 1.1;"
  echo "      proxy_set_header Connection \"\";"
  echo "      proxy_set_header Host \$host;"
  echo "      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;"
  echo "      proxy_buffers 16 16k;"
  echo "    }"
  echo "  }"
  echo "}"
} >"$WORK/nginx/nginx.conf"
"$NGINX" -c "$WORK/nginx/nginx.conf" -e "$WORK/nginx/error.log" &
NGINX_PID=$!
wait_port "$LB_PORT" nginx

# The three instances of the topology, with the response cache given.
start_topology() { # cache_bytes
  local port n=0
  for port in "${INSTANCE_PORTS[@]}"; do
    n=$((n + 1))
    start_instance "$port" "instance-$n.log" RESPONSE_CACHE_BYTES="$1" \
      DATABASE_URL="postgres://postgres@127.0.0.1:$BOUNCER_PORT/$DB" DATABASE_POOLER=transaction \
      DATABASE_REPLICA_URLS="$REPLICA_URL" REDIS_URL=redis://127.0.0.1:6379 \
      REDIS_KEY_PREFIX="$REDIS_PREFIX" TRUSTED_PROXIES=127.0.0.1
  done
  # Each instance takes the replica into rotation after its first health
  # check; wait for all three.
  local _
  for _ in $(seq 1 100); do
    [ "$(metric_sum 'broadsheet_replica_in_rotation{replica="1",state="healthy"}' "${INSTANCE_PORTS[@]}")" = 3 ] && return
    sleep 0.1
  done
  echo "the replica did not come into rotation:" >&2
  curl -sf "http://127.0.0.1:${INSTANCE_PORTS[0]}/metrics" | grep replica >&2 || true
  exit 1
}

# Calls of the rate-limit script on the Redis (EVALSHA, and EVAL when the
# script is not loaded yet), by every client of that Redis.
redis_script_calls() {
  redis-cli INFO commandstats | awk -F'[:=,]' '$1 == "cmdstat_evalsha" || $1 == "cmdstat_eval" {n += $3} END {print n + 0}'
}

# The topology run: the mixed load through nginx, with the replica's share,
# the lag and each part's work around it.
run_topology() { # cache label
  local reads0 fallback0 xacts0 requests0 redis0
  redis0=$(redis_script_calls)
  reads0=$(metric_sum 'broadsheet_replica_reads_total{replica="1"}' "${INSTANCE_PORTS[@]}")
  fallback0=$(metric_sum broadsheet_replica_fallback_reads_total "${INSTANCE_PORTS[@]}")
  xacts0=$(bouncer_xacts)
  requests0=$(wc -l <"$WORK/nginx/access.log")
  touch "$WORK/sampling"
  sampler "${INSTANCE_PORTS[@]}" >"$WORK/lag-$1.txt" &
  SAMPLER_PID=$!
  run_load "three instances, nginx, PgBouncer, replica" "$1"
  rm -f "$WORK/sampling"
  wait "$SAMPLER_PID" || true
  SAMPLER_PID=""
  local reads fallback share lag replay rotation
  reads=$(( $(metric_sum 'broadsheet_replica_reads_total{replica="1"}' "${INSTANCE_PORTS[@]}") - reads0 ))
  fallback=$(( $(metric_sum broadsheet_replica_fallback_reads_total "${INSTANCE_PORTS[@]}") - fallback0 ))
  share=$(awk -v r="$reads" -v p="$fallback" 'BEGIN { if (r + p) printf "%.0f%%", 100 * r / (r + p); else print "-" }')
  read -r lag_max lag_med lag_n < <(lag_summary 1 "$WORK/lag-$1.txt" 1000)
  read -r replay_max replay_med replay_n < <(lag_summary 2 "$WORK/lag-$1.txt" 1)
  rotation=$(awk '$3 == 3 {n++} END {printf "%d/%d", n, NR}' "$WORK/lag-$1.txt")
  echo "$ROW $share ($reads of $((reads + fallback))) | $lag_max / $lag_med ($lag_n) | $replay_max / $replay_med ($replay_n) | $rotation |" >>"$TABLE"
  # What each part did during this run (nginx writes its log within 1 s).
  sleep 1.5
  local per_instance="" n=0 port
  for port in "${INSTANCE_PORTS[@]}"; do
    n=$((n + 1))
    per_instance+="${per_instance:+, }instance $n $(tail -n +"$((requests0 + 1))" "$WORK/nginx/access.log" | grep -c "^127.0.0.1:$port ")"
  done
  {
    echo "cache $1: requests through nginx per instance (its log): $per_instance;" \
      "other statuses: $(tail -n +"$((requests0 + 1))" "$WORK/nginx/access.log" |
        awk '$2 !~ /^2/ {n[$2]++} END {for (c in n) printf "%s%s × %d", (k++ ? ", " : ""), c, n[c]; if (!k) printf "none"}')"
    echo "cache $1: transactions through PgBouncer: $(( $(bouncer_xacts) - xacts0 ));" \
      "rate-limit script calls on the Redis (any client): $(( $(redis_script_calls) - redis0 ))" \
      "for $((s_ok + s_bad + c_ok + c_bad)) share presses and comments;" \
      "limit checks Redis did not answer within REDIS_TIMEOUT_MS: $(metric_sum_prefix broadsheet_rate_limit_store_failures_total "${INSTANCE_PORTS[@]}")"
  } >>"$WORK/parts.txt"
}

PORT=$LB_PORT
B=http://127.0.0.1:$PORT/api/v1

progress "three instances, cache on: mixed load through nginx (${DURATION} s)"
start_topology 67108864
TOKEN=$(sign_in)
run_topology on
TOPO_ON="$ROW_RPS $ROW_P99"
stop_instances

progress "three instances, cache off: mixed load through nginx (${DURATION} s)"
start_topology 0
TOKEN=$(sign_in)
run_topology off
TOPO_OFF="$ROW_RPS $ROW_P99"
stop_instances

echo "# Broadsheet, the whole topology on one machine — $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores"
echo
echo "Reads: wrk -t2 -c$CONNECTIONS -d${DURATION}s, article by slug over $SLUG_COUNT published articles, every tenth request the home list."
echo "Writes: $SHARES_PER_SECOND share presses/s, $COMMENTS_PER_SECOND comments/s, an edit every $EDIT_EVERY s (target rates; reached rates below)."
echo "Replica: share of the public reads that reached a database; lag: highest / median (samples), ms."
echo
echo "| configuration | cache | reads/s | p50 ms | p99 ms | read non-2xx | shares/s (non-2xx) | comments/s (non-2xx) | edits (non-2xx) | load avg | replica share of DB reads | lag, instances' metric | replay_lag, pg_stat_replication | replica in rotation on all 3 (samples) |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
cat "$TABLE"
echo
sed 's/^/- /' "$WORK/parts.txt"

progress "chart: $CHART"
# Rows: the configuration; columns: reads/s and p99 with the cache on, then
# off. A panel each: the two cache settings differ twentyfold.
{
  echo "\"one instance\" $BASE_ON $BASE_OFF"
  echo "\"topology\" $TOPO_ON $TOPO_OFF"
} >"$WORK/chart.dat"
mkdir -p "$(dirname "$CHART")"
cat >"$WORK/chart.gp" <<'GP'
set terminal svg size 960,640 dynamic font "sans,12" background "#ffffff"
set output out
set multiplot layout 2,2 title heading
set linetype 1 lc rgb "#4c72b0"
set linetype 2 lc rgb "#dd8452"
set style fill solid 0.85 border -1
set boxwidth 0.6
set grid ytics
unset key
set xtics nomirror
set xrange [-0.6:1.6]
set yrange [0:*]
set offsets 0, 0, graph 0.15, 0
set title "reads/s, response cache on"
plot data using 0:2:($0 + 1):xtic(1) with boxes lc variable, '' using 0:2:(sprintf("%.0f", $2)) with labels offset 0,0.8
set title "p99 of the reads, ms, response cache on"
plot data using 0:3:($0 + 1):xtic(1) with boxes lc variable, '' using 0:3:(sprintf("%.1f", $3)) with labels offset 0,0.8
set title "reads/s, response cache off"
plot data using 0:4:($0 + 1):xtic(1) with boxes lc variable, '' using 0:4:(sprintf("%.0f", $4)) with labels offset 0,0.8
set title "p99 of the reads, ms, response cache off"
plot data using 0:5:($0 + 1):xtic(1) with boxes lc variable, '' using 0:5:(sprintf("%.1f", $5)) with labels offset 0,0.8
unset multiplot
GP
gnuplot -e "out='$CHART'; data='$WORK/chart.dat'" \
  -e "heading=\"Mixed load, one $(nproc)-core machine: one instance on the primary vs 3 instances + nginx + PgBouncer + replica + Redis\"" \
  "$WORK/chart.gp"
