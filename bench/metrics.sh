#!/usr/bin/env bash
# What the metrics cost: GET /api/v1/me as fast as 32 connections go, against the same
# release build and database with metrics on (scraped every 5 s, as a busy Prometheus
# would) and off (METRICS_BIND_ADDR=off: the request histogram is skipped). The two
# settings take turns, three runs each, one server at a time; the medians are compared
# (target: on ≥ 97 % of off).
#
#   bench/metrics.sh        (BENCH_DATABASE_URL, BENCH_SECONDS, BENCH_PORT to override)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

ADMIN_URL=${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
SECONDS_PER_RUN=${BENCH_SECONDS:-10}
PORT=${BENCH_PORT:-18080}
METRICS_PORT=$((PORT + 1))
BASE="http://127.0.0.1:$PORT"
DB="fp_bench_metrics_$(date +%s)"
PASSWORD="Benchmark-Passwort-2026"

need_tools psql curl

cargo build --release --quiet
psql "$ADMIN_URL" -qc "CREATE DATABASE $DB" >/dev/null
SERVER_PID=""
SCRAPER_PID=""
DATA_DIR=$(mktemp -d)
stop_server() {
  # `wait` answers the killed process's status; that is no failure here.
  if [ -n "$SCRAPER_PID" ]; then kill "$SCRAPER_PID" 2>/dev/null; wait "$SCRAPER_PID" 2>/dev/null || true; fi
  SCRAPER_PID=""
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null || true; fi
  SERVER_PID=""
}
cleanup() {
  stop_server || true
  psql "$ADMIN_URL" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$DATA_DIR"
}
trap cleanup EXIT
DB_URL="${ADMIN_URL%/*}/$DB"

start_server() { # METRICS_BIND_ADDR value
  env DATABASE_URL="$DB_URL" BIND_ADDR="127.0.0.1:$PORT" DATA_DIR="$DATA_DIR" LOG_FORMAT=json \
    RUST_LOG=info METRICS_BIND_ADDR="$1" SHUTDOWN_DRAIN_SECS=0 \
    setsid "$RELEASE_BIN" serve >>"$DATA_DIR/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 100); do curl -fs "$BASE/health/ready" >/dev/null && return; sleep 0.1; done
  echo "the server did not start" >&2
  exit 1
}

start_server off
curl -fs -o /dev/null -X POST "$BASE/api/v1/auth/register" -H 'content-type: application/json' \
  -d "{\"email\":\"bench@example.de\",\"password\":\"$PASSWORD\",\"password_confirmation\":\"$PASSWORD\",\"first_name\":\"Bench\",\"last_name\":\"Mark\"}"
psql "$DB_URL" -qc "UPDATE accounts SET email_verified_at = now() AT TIME ZONE 'UTC'" >/dev/null
TOKEN=$(curl -fs -X POST "$BASE/api/v1/auth/login" -H 'content-type: application/json' \
  -d "{\"email\":\"bench@example.de\",\"password\":\"$PASSWORD\"}" | sed -E 's/.*"access_token":"([^"]+)".*/\1/')
stop_server

me_rps() { # requests/s of successful answers
  wrk -t2 -c32 -d"${SECONDS_PER_RUN}s" -H "Authorization: Bearer $TOKEN" "$BASE/api/v1/me" | awk '
    / requests in / { n = $1; secs = $4; sub(/s,?$/, "", secs) }
    /Non-2xx or 3xx responses/ { bad = $NF }
    END { printf "%.1f\n", (n - bad) / secs }'
}

OFF=()
ON=()
for round in 1 2 3; do
  start_server off
  OFF+=("$(me_rps)")
  stop_server
  start_server "127.0.0.1:$METRICS_PORT"
  (while sleep 5; do curl -fs -o /dev/null "http://127.0.0.1:$METRICS_PORT/metrics"; done) &
  SCRAPER_PID=$!
  ON+=("$(me_rps)")
  SERIES=$(curl -fs "http://127.0.0.1:$METRICS_PORT/metrics" | grep -cv '^#')
  stop_server
  echo "round $round: off ${OFF[-1]} req/s, on ${ON[-1]} req/s" >&2
done
OFF_MEDIAN=$(printf '%s\n' "${OFF[@]}" | median)
ON_MEDIAN=$(printf '%s\n' "${ON[@]}" | median)

echo
echo "GET /api/v1/me, 32 connections, ${SECONDS_PER_RUN} s a run, median of 3 ($(nproc) cores, PostgreSQL)"
printf '  metrics off: %10.1f req/s   (runs: %s)\n' "$OFF_MEDIAN" "${OFF[*]}"
printf '  metrics on:  %10.1f req/s   (runs: %s; scraped every 5 s, %s samples)\n' "$ON_MEDIAN" "${ON[*]}" "$SERIES"
awk -v on="$ON_MEDIAN" -v off="$OFF_MEDIAN" \
  'BEGIN { r = 100 * on / off; printf "  on / off:    %10.1f %%   (target >= 97 %%: %s)\n", r, (r >= 97 ? "met" : "NOT met") }'
