#!/usr/bin/env bash
# Load benchmark: release build on a fresh PostgreSQL database, driven by wrk.
# Prints login throughput against the argon2 bound, GET /api/v1/me throughput and
# latency alone and during a login flood, and server memory idle and at peak.
#
#   bench/run.sh            (BENCH_DATABASE_URL, BENCH_SECONDS, BENCH_PORT and
#                            PASSWORD_HASHING_THREADS to override)
set -euo pipefail
cd "$(dirname "$0")/.."

ADMIN_URL=${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
SECONDS_PER_RUN=${BENCH_SECONDS:-10}
PORT=${BENCH_PORT:-18080}
CORES=$(nproc)
# The server's default: every core but one hashes.
HASH_THREADS=${PASSWORD_HASHING_THREADS:-$(( CORES > 1 ? CORES - 1 : 1 ))}
BASE="http://127.0.0.1:$PORT"
DB="fp_bench_$(date +%s)"
PASSWORD="Benchmark-Passwort-2026"

if ! command -v wrk >/dev/null; then
  echo "installing wrk (Debian package)" >&2
  apt-get install -y -qq wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
fi
for tool in psql python3 curl; do
  command -v "$tool" >/dev/null || { echo "$tool is needed" >&2; exit 1; }
done

cargo build --release --quiet
# One argon2id hash with the service's hasher on the idle machine, for reference.
HASH_IDLE_MS=$(cargo bench --quiet --bench argon2_hash 2>/dev/null | sed -nE 's/^median_ms=([0-9.]+).*/\1/p')

psql "$ADMIN_URL" -qc "CREATE DATABASE $DB" >/dev/null
SERVER_PID=""
DATA_DIR=$(mktemp -d)
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  psql "$ADMIN_URL" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$DATA_DIR"
}
trap cleanup EXIT

DB_URL="${ADMIN_URL%/*}/$DB"
# Production-like: JSON access log at info level (also the source of server-side
# latencies), plus the debug line of every argon2 computation (the login bound). setsid
# gives the server a scheduling group of its own, as a container or service unit has;
# otherwise the kernel's session autogroups would lump it together with wrk.
DATABASE_URL="$DB_URL" BIND_ADDR="127.0.0.1:$PORT" DATA_DIR="$DATA_DIR" LOG_FORMAT=json \
  RUST_LOG="info,firmenportal::auth::password=debug" \
  PASSWORD_HASHING_THREADS="$HASH_THREADS" DATABASE_POOL_SIZE=16 \
  RATE_LIMIT_LOGIN_PER_IP=1000000 RATE_LIMIT_LOGIN_PER_ACCOUNT=1000000 \
  setsid target/release/firmenportal serve >"$DATA_DIR/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do curl -fs "$BASE/health/ready" >/dev/null && break; sleep 0.1; done

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$SERVER_PID/status"; }
hwm_kb() { awk '/^VmHWM/ {print $2}' "/proc/$SERVER_PID/status"; }
now() { date -u +%Y-%m-%dT%H:%M:%S; }
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

curl -fs -o /dev/null -X POST "$BASE/api/v1/auth/register" -H 'content-type: application/json' \
  -d "{\"email\":\"bench@example.de\",\"password\":\"$PASSWORD\",\"password_confirmation\":\"$PASSWORD\",\"first_name\":\"Bench\",\"last_name\":\"Mark\"}"
psql "$DB_URL" -qc "UPDATE accounts SET email_verified_at = now() AT TIME ZONE 'UTC'" >/dev/null
TOKEN=$(curl -fs -X POST "$BASE/api/v1/auth/login" -H 'content-type: application/json' \
  -d "{\"email\":\"bench@example.de\",\"password\":\"$PASSWORD\"}" | sed -E 's/.*"access_token":"([^"]+)".*/\1/')
# Idle: hashing threads release their working memory after 5 s without work.
sleep 6
IDLE_KB=$(rss_kb)

# wrk output → "requests/s p50_ms p99_ms"
summarise() {
  awk '
    function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0; if (v ~ /s$/) return v*1000; return v }
    /^ +50%/ { p50 = ms($2) } /^ +99%/ { p99 = ms($2) } /^Requests\/sec/ { rps = $2 }
    END { printf "%.1f %.2f %.2f\n", rps, p50, p99 }'
}
me_load() { # connections [paced]: as fast as they go, or paced by bench/paced.lua
  local script=()
  [ "${2:-}" = paced ] && script=(-s bench/paced.lua)
  wrk -t1 -c"$1" -d"${SECONDS_PER_RUN}s" --latency "${script[@]}" \
    -H "Authorization: Bearer $TOKEN" "$BASE/api/v1/me" | summarise
}
flood_start() { # a login flood for the next run; sets FLOOD and FLOOD_FROM
  wrk -t1 -c64 -d"$((SECONDS_PER_RUN + 2))s" -s bench/login.lua "$BASE/api/v1/auth/login" >"$DATA_DIR/flood.txt" &
  FLOOD=$!
  sleep 1
  FLOOD_FROM=$(now)
}

# One login alone: sequential logins on one connection (one hash plus HTTP and SQL).
read -r _ SEQ_P50 _ < <(wrk -t1 -c1 -d"${SECONDS_PER_RUN}s" --latency -s bench/login.lua "$BASE/api/v1/auth/login" | summarise)

# Login throughput, and the bound from the hashes computed in the same run: as many
# logins a second as the hashing threads can compute at the speed they hashed (the mean
# time of one hash, since throughput follows the mean).
LOGINS_FROM=$(now)
read -r LOGIN_RPS _ _ < <(wrk -t2 -c32 -d"${SECONDS_PER_RUN}s" --latency -s bench/login.lua "$BASE/api/v1/auth/login" | summarise)
LOGINS_TO=$(now)
read -r _ _ HASH_MS HASHES < <(python3 bench/log_stats.py "$DATA_DIR/server.log" "$LOGINS_FROM" "$LOGINS_TO" argon2)
BOUND=$(awk -v t="$HASH_THREADS" -v p="$HASH_MS" 'BEGIN { printf "%.1f", t * 1000 / p }')
RATIO=$(awk -v a="$LOGIN_RPS" -v b="$BOUND" 'BEGIN { printf "%.0f", 100 * a / b }')
sleep 2 # let queued logins drain: "alone" means alone

# GET /me at a steady load (4 paced connections, several hundred requests a second),
# alone and during a login flood: the latency users see while logins are hammered.
read -r STEADY_RPS STEADY_P50 STEADY_P99 < <(me_load 4 paced)
flood_start
read -r FLOOD_RPS FLOOD_P50 FLOOD_P99 < <(me_load 4 paced)
FLOOD_TO=$(now)
wait "$FLOOD"
FLOOD_LOGIN_RPS=$(awk '/^Requests\/sec/ {print $2}' "$DATA_DIR/flood.txt")
# Server-side: from the request entering the middleware to its response (access log).
read -r SERVER_P50 SERVER_P99 _ _ < <(python3 bench/log_stats.py "$DATA_DIR/server.log" "$FLOOD_FROM" "$FLOOD_TO" me)
sleep 2

# GET /me as fast as the connections go: the throughput, and the latency of a machine
# saturated by the load generator, PostgreSQL and the server together.
read -r MAX_RPS MAX_P50 MAX_P99 < <(me_load 16)
flood_start
read -r MAX_FLOOD_RPS MAX_FLOOD_P50 MAX_FLOOD_P99 < <(me_load 4)
FLOOD_TO=$(now)
wait "$FLOOD"
read -r _ MAX_SERVER_P99 _ _ < <(python3 bench/log_stats.py "$DATA_DIR/server.log" "$FLOOD_FROM" "$FLOOD_TO" me)
PEAK_KB=$(hwm_kb)

row() { printf '%-50s %11s %-3s %9s\n' "$@"; }
echo
echo "Firmenportal benchmark — $CORES cores, $HASH_THREADS hashing threads, ${SECONDS_PER_RUN}s per run, PostgreSQL"
row "measure" "value" "" "target"
row "--------------------------------------------------" "-----------" "" "---------"
row "one argon2id hash, idle machine (median)" "${HASH_IDLE_MS:-n/a}" ms ""
row "one argon2id hash during the login run (mean)" "$HASH_MS" ms ""
row "argon2 bound (threads ÷ time of one hash)" "$BOUND" /s ""
row "login throughput (32 connections)" "$LOGIN_RPS" /s ""
row "login throughput / bound" "$RATIO" % "≥ 90 %"
row "one login alone, p50" "$SEQ_P50" ms ""
row "GET /me steady load alone" "$STEADY_RPS" /s ""
row "  p50 / p99" "$STEADY_P50 / $STEADY_P99" ms ""
row "GET /me steady load during a login flood" "$FLOOD_RPS" /s ""
row "  p50" "$FLOOD_P50" ms ""
row "  p99" "$FLOOD_P99" ms "≤ 25 ms"
row "  server-side p50 / p99 (access log)" "$SERVER_P50 / $SERVER_P99" ms ""
row "  logins meanwhile (64 connections)" "$FLOOD_LOGIN_RPS" /s ""
row "GET /me max throughput alone (16 connections)" "$MAX_RPS" /s ""
row "  p50 / p99" "$MAX_P50 / $MAX_P99" ms ""
row "GET /me max throughput during a flood (4 conn.)" "$MAX_FLOOD_RPS" /s ""
row "  p50 / p99" "$MAX_FLOOD_P50 / $MAX_FLOOD_P99" ms ""
row "  server-side p99 (access log)" "$MAX_SERVER_P99" ms ""
row "server RSS idle" "$(mb "$IDLE_KB")" MB "≤ 40 MB"
row "server RSS peak (VmHWM)" "$(mb "$PEAK_KB")" MB "≤ 120 MB"
echo "($HASHES hashes timed in the login run; kernel session autogroups: $(cat /proc/sys/kernel/sched_autogroup_enabled 2>/dev/null || echo n/a))"
