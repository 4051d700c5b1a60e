#!/usr/bin/env bash
# Where a GET /api/v1/me costs its CPU: the release build on a fresh PostgreSQL database
# under wrk at 32 connections, recorded system-wide with `perf record -e cpu-clock -a -g`
# for the whole run, and the same for pgbench running /me's own statements. Prints the
# CPU per request of the server, PostgreSQL and wrk (and per transaction of PostgreSQL
# and pgbench), the server's five costliest functions, its time by library, and the
# floor this leaves: the requests a second the machine could answer if the server cost
# nothing. Writes the server's folded stacks (for a flame graph) to bench/out/.
#
#   bench/profile.sh      (BENCH_DATABASE_URL, BENCH_SECONDS, BENCH_PORT; BENCH_BIN to
#                          profile another build of the binary)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

ADMIN_URL=${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
SECONDS_PER_RUN=${BENCH_SECONDS:-10}
PORT=${BENCH_PORT:-18083}
CORES=$(nproc)
BASE="http://127.0.0.1:$PORT"
DB="fp_bench_profile_$(date +%s)"
PASSWORD="Benchmark-Passwort-2026"
OUT=bench/out
mkdir -p "$OUT"

need_tools perf psql pgbench python3 curl

if [ -z "${BENCH_BIN:-}" ]; then
  cargo build --release --quiet
  BENCH_BIN=$RELEASE_BIN
fi

psql "$ADMIN_URL" -qc "CREATE DATABASE $DB" >/dev/null
SERVER_PID=""
WORK=$(mktemp -d)
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  psql "$ADMIN_URL" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
DB_URL="${ADMIN_URL%/*}/$DB"

# As bench/run.sh runs it: JSON access log at info level, a scheduling group of its own.
env DATABASE_URL="$DB_URL" BIND_ADDR="127.0.0.1:$PORT" DATA_DIR="$WORK" LOG_FORMAT=json \
  RUST_LOG=info setsid "$BENCH_BIN" serve >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do curl -fs "$BASE/health/ready" >/dev/null && break; sleep 0.1; done
curl -fs -o /dev/null -X POST "$BASE/api/v1/auth/register" -H 'content-type: application/json' \
  -d "{\"email\":\"bench@example.de\",\"password\":\"$PASSWORD\",\"password_confirmation\":\"$PASSWORD\",\"first_name\":\"Bench\",\"last_name\":\"Mark\"}"
psql "$DB_URL" -qc "UPDATE accounts SET email_verified_at = now() AT TIME ZONE 'UTC'" >/dev/null
TOKEN=$(curl -fs -X POST "$BASE/api/v1/auth/login" -H 'content-type: application/json' \
  -d "{\"email\":\"bench@example.de\",\"password\":\"$PASSWORD\"}" | sed -E 's/.*"access_token":"([^"]+)".*/\1/')
# Warm: every pooled connection open and its statements prepared.
wrk -t2 -c32 -d2s -H "Authorization: Bearer $TOKEN" "$BASE/api/v1/me" >/dev/null

# requests in a wrk report
requests_of() { awk '/ requests in / { print $1 }' "$1"; }
split() { perf_split "$1" "$2" "$SERVER_PID" "$OUT/$3.folded"; } # recording requests name
value() { split_value "$@"; }

perf record -q -e cpu-clock -F 999 -a -g -o "$WORK/me.data" -- \
  wrk -t2 -c32 -d"${SECONDS_PER_RUN}s" -H "Authorization: Bearer $TOKEN" "$BASE/api/v1/me" \
  >"$WORK/me.txt" 2>/dev/null
ME_REQUESTS=$(requests_of "$WORK/me.txt")
split "$WORK/me.data" "$ME_REQUESTS" me >"$WORK/me.split"

# pgbench on the statements /me sent (read back from pg_stat_activity and the
# statistics), at the same 32 connections.
ACCOUNT_ID=$(psql "$DB_URL" -Atc "SELECT id FROM accounts LIMIT 1")
SESSION_ID=$(psql "$DB_URL" -Atc "SELECT id FROM sessions WHERE revoked_at IS NULL ORDER BY created_at DESC LIMIT 1")
: >"$WORK/me.sql"
for pattern in 'SELECT%FROM%sessions%' 'SELECT%FROM%company_memberships%'; do
  sql=$(psql "$DB_URL" -Atc "SELECT query FROM pg_stat_activity WHERE datname = '$DB' AND query LIKE '$pattern' AND query NOT LIKE '%pg_stat_activity%' LIMIT 1")
  # One statement may match both (GET /me reads the companies with the session check).
  [ -n "$sql" ] && ! grep -qxF "${sql};" "$WORK/me.sql" && echo "${sql};" >>"$WORK/me.sql"
done
STATEMENTS=$(grep -c ';$' "$WORK/me.sql")
sed -i -e 's/\$1/:account_id/; s/\$2/:session_id/; s/\$3/:now/; s/\$4/:limit/' "$WORK/me.sql"
cp "$WORK/me.sql" "$OUT/me.sql"
perf record -q -e cpu-clock -F 999 -a -g -o "$WORK/pg.data" -- \
  pgbench -n -M prepared -c 32 -j 2 -T "$SECONDS_PER_RUN" \
  -D account_id="$ACCOUNT_ID" -D session_id="$SESSION_ID" \
  -D now="$(date -u '+%Y-%m-%d %H:%M:%S')" -D limit=1 \
  -f "$WORK/me.sql" "$DB_URL" >"$WORK/pg.txt" 2>/dev/null
PG_TX=$(awk '/number of transactions actually processed/ { print $NF }' "$WORK/pg.txt")
split "$WORK/pg.data" "$PG_TX" pgbench >"$WORK/pg.split"
# bench/run.sh's floor: pgbench's best rate (bench/lib.sh's pgbench_best).
read -r PG_BEST_TPS PG_BEST_CLIENTS _ < <(pgbench_best "$SECONDS_PER_RUN" "$WORK/me.sql" "$DB_URL" \
  -D account_id="$ACCOUNT_ID" -D session_id="$SESSION_ID" \
  -D now="$(date -u '+%Y-%m-%d %H:%M:%S')" -D limit=1)

ME_SERVER=$(value program server "$WORK/me.split")
ME_PG=$(value program postgres "$WORK/me.split")
ME_WRK=$(value program wrk "$WORK/me.split")
PG_PG=$(value program postgres "$WORK/pg.split")
PG_CLIENT=$(value program pgbench "$WORK/pg.split")
calc() { awk "BEGIN { printf \"%.1f\", $1 }"; }

row() { printf '%-58s %10s %s\n' "$@"; }
echo
echo "Firmenportal profile — GET /api/v1/me, 32 connections, ${SECONDS_PER_RUN}s, $CORES cores, PostgreSQL"
row "GET /me answered" "$(calc "$ME_REQUESTS / $SECONDS_PER_RUN")" "/s"
row "  CPU per request: the server" "${ME_SERVER:-0}" "µs"
row "  CPU per request: PostgreSQL ($STATEMENTS statements)" "${ME_PG:-0}" "µs"
row "  CPU per request: wrk" "${ME_WRK:-0}" "µs"
row "  CPU per request: idle" "$(value program idle "$WORK/me.split")" "µs"
row "pgbench, the same $STATEMENTS statements a transaction" "$(calc "$PG_TX / $SECONDS_PER_RUN")" "tps"
row "  CPU per transaction: PostgreSQL" "${PG_PG:-0}" "µs"
row "  CPU per transaction: pgbench" "${PG_CLIENT:-0}" "µs"
row "  CPU per transaction: idle" "$(value program idle "$WORK/pg.split")" "µs"
row "floor: cores ÷ (PostgreSQL + wrk per request)" "$(calc "$CORES * 1000000 / (${ME_PG:-1} + ${ME_WRK:-0})")" "/s"
row "GET /me / floor" "$(calc "100 * $ME_REQUESTS / $SECONDS_PER_RUN * (${ME_PG:-1} + ${ME_WRK:-0}) / ($CORES * 1000000)")" "%"
# What no server code can take away: its kernel time (the client's socket and
# PostgreSQL's, the wake-ups between them), which pgbench pays for one socket only.
# Divided by pgbench's rate this is the highest GET /me / pgbench (bench/run.sh) can be.
ME_KERNEL=$(split_kernel "$WORK/me.split")
CEILING=$(ceiling_of "$WORK/me.split")
row "  the server's kernel time per request" "${ME_KERNEL:-0}" "µs"
row "ceiling: cores ÷ (PostgreSQL + wrk + the server's kernel time)" "$CEILING" "/s"
row "pgbench's best (bench/run.sh's floor; $PG_BEST_CLIENTS clients)" "$PG_BEST_TPS" "tps"
row "  ceiling ÷ that: the highest GET /me / pgbench's best can be" "$(percent "$CEILING" "$PG_BEST_TPS")" "%"
echo
echo "The server's five costliest functions (self time; µs per request, share of the server's CPU)"
awk '$1 == "top" { $1 = ""; printf "  %6s µs %5s %%  %s\n", $2, $3, substr($0, index($0, $4)) }' "$WORK/me.split"
echo "The server's CPU by library (µs per request)"
awk '$1 == "dso" { printf "  %6s µs  %s\n", $2, $3 }' "$WORK/me.split"
echo "(folded stacks: $OUT/me.folded)"
