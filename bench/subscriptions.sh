#!/usr/bin/env bash
# Subscription benchmark (issue 7): release build on a fresh PostgreSQL database.
# Imports BENCH_CUSTOMERS customers (default 200,000) with BENCH_PER_CUSTOMER
# subscriptions each (default 5: 1,000,000) through `firmenportal import`, timed against
# `psql \copy` of the very same files into bare tables and of the stored rows back into
# `subscriptions` itself (its indexes and foreign keys); then drives
# GET /api/v1/me/subscriptions (an account with 3 linked subscriptions) and
# POST /api/v1/me/subscriptions/link (32 accounts re-linking their own) with wrk at 32
# connections, and runs pgbench on the list's SQL, and on the simplest committing
# transaction, at the same concurrency. The list is also profiled (with perf) and
# compared with pgbench at the same steady load (both paced PACE_MS after each answer).
#
#   bench/subscriptions.sh   (BENCH_DATABASE_URL, BENCH_SECONDS, BENCH_PORT,
#                             BENCH_CUSTOMERS, BENCH_PER_CUSTOMER, PACE_MS to override)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

ADMIN_URL=${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
SECONDS_PER_RUN=${BENCH_SECONDS:-10}
PORT=${BENCH_PORT:-18081}
CUSTOMERS=${BENCH_CUSTOMERS:-200000}
PER_CUSTOMER=${BENCH_PER_CUSTOMER:-5}
CORES=$(nproc)
BASE="http://127.0.0.1:$PORT"
DB="fp_bench_subs_$(date +%s)"
PASSWORD="Benchmark-Passwort-2026"

need_tools psql pgbench python3 curl

cargo build --release --quiet
BIN=$RELEASE_BIN
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
export DATABASE_URL="$DB_URL" DATA_DIR="$WORK" RUST_LOG=warn

python3 bench/generate_csv.py "$WORK" "$CUSTOMERS" "$PER_CUSTOMER"
SUBSCRIPTIONS=$((CUSTOMERS * PER_CUSTOMER))
"$BIN" migrate >/dev/null
"$BIN" import companies "$WORK/companies.csv" >/dev/null
"$BIN" import contracts "$WORK/contracts.csv" >/dev/null

seconds() { python3 -c 'import time; print(f"{time.monotonic():.3f}")'; }
timed() { # command…: prints the seconds it took
  local from to
  from=$(seconds); "$@" >/dev/null; to=$(seconds)
  awk -v a="$from" -v b="$to" 'BEGIN { printf "%.2f", b - a }'
}
per_second() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", n / s }'; }

CUSTOMERS_S=$(timed "$BIN" import customers "$WORK/customers.csv")
SUBS_S=$(timed "$BIN" import subscriptions "$WORK/subscriptions.csv")
AGAIN_S=$(timed "$BIN" import subscriptions "$WORK/subscriptions.csv")
psql "$DB_URL" -qc "CREATE TABLE bare_customers (customer_number text, salutation text, gender text,
  first_name text, last_name text, birth_date text, address_street text, address_postal_code text,
  address_city text, address_country text, marketing_consent text, recorded_at text);
  CREATE TABLE bare_subscriptions (contract_number text, subscription_number text,
  chip_card_number text, product text, valid_from text, valid_to text, status text,
  customer_number text, company_contract_number text);"
COPY_CUSTOMERS_S=$(timed psql "$DB_URL" -qc "\\copy bare_customers FROM '$WORK/customers.csv' WITH (FORMAT csv, HEADER true)")
COPY_SUBS_S=$(timed psql "$DB_URL" -qc "\\copy bare_subscriptions FROM '$WORK/subscriptions.csv' WITH (FORMAT csv, HEADER true)")
# What the table's own indexes cost: the imported rows copied into a table with the
# subscriptions' columns and indexes (no foreign keys, no checks).
psql "$DB_URL" -qc "\\copy subscriptions TO '$WORK/stored.csv' WITH (FORMAT csv)" >/dev/null
psql "$DB_URL" -qc "CREATE TABLE indexed_subscriptions (LIKE subscriptions INCLUDING INDEXES)" >/dev/null
COPY_INDEXED_S=$(timed psql "$DB_URL" -qc "\\copy indexed_subscriptions FROM '$WORK/stored.csv' WITH (FORMAT csv)")
# The physical limit of any import into the real table: the stored rows copied back into
# `subscriptions` itself, with its indexes and foreign keys (the same rows come back).
psql "$DB_URL" -qc "SET client_min_messages = warning" -c "TRUNCATE subscriptions CASCADE" >/dev/null
COPY_REAL_S=$(timed psql "$DB_URL" -qc "\\copy subscriptions FROM '$WORK/stored.csv' WITH (FORMAT csv)")
psql "$DB_URL" -qc "DROP TABLE bare_customers, bare_subscriptions, indexed_subscriptions" -c "VACUUM ANALYZE" >/dev/null
IMPORT_RPS=$(per_second "$SUBSCRIPTIONS" "$SUBS_S")
COPY_RPS=$(per_second "$SUBSCRIPTIONS" "$COPY_SUBS_S")
IMPORT_CUSTOMERS_RPS=$(per_second "$CUSTOMERS" "$CUSTOMERS_S")
COPY_CUSTOMERS_RPS=$(per_second "$CUSTOMERS" "$COPY_CUSTOMERS_S")
AGAIN_RPS=$(per_second "$SUBSCRIPTIONS" "$AGAIN_S")
COPY_INDEXED_RPS=$(per_second "$SUBSCRIPTIONS" "$COPY_INDEXED_S")
COPY_REAL_RPS=$(per_second "$SUBSCRIPTIONS" "$COPY_REAL_S")
STORED=$(psql "$DB_URL" -Atc "SELECT count(*) FROM subscriptions")

env BIND_ADDR="127.0.0.1:$PORT" LOG_FORMAT=json RUST_LOG="${BENCH_SERVER_LOG:-info}" \
  RATE_LIMIT_LINK_PER_ACCOUNT=1000000 RATE_LIMIT_LINK_PER_NUMBER=1000000 \
  RATE_LIMIT_LOGIN_PER_IP=1000000 \
  setsid "$BIN" serve >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do curl -fs "$BASE/health/ready" >/dev/null && break; sleep 0.1; done

# 33 verified accounts with one password hash (set through the API once).
curl -fs -o /dev/null -X POST "$BASE/api/v1/auth/register" -H 'content-type: application/json' \
  -d "{\"email\":\"holder0@example.de\",\"password\":\"$PASSWORD\",\"password_confirmation\":\"$PASSWORD\",\"first_name\":\"Bench\",\"last_name\":\"Mark\"}"
psql "$DB_URL" -qc "UPDATE accounts SET email_verified_at = now() AT TIME ZONE 'UTC';
  INSERT INTO accounts (id, email, password_hash, first_name, last_name, operator,
    email_verified_at, tokens_valid_after, created_at, updated_at)
  SELECT gen_random_uuid()::text, 'holder' || i || '@example.de', password_hash, 'Bench',
    'Mark', false, email_verified_at, tokens_valid_after, created_at, updated_at
  FROM accounts, generate_series(1, 32) AS i WHERE email = 'holder0@example.de'" >/dev/null
login() {
  curl -fs -X POST "$BASE/api/v1/auth/login" -H 'content-type: application/json' \
    -d "{\"email\":\"$1\",\"password\":\"$PASSWORD\"}" | sed -E 's/.*"access_token":"([^"]+)".*/\1/'
}
link_body() { # holder line number (1-based), subscription offset
  awk -F'\t' -v n="$1" -v k="$2" 'NR == n {
    printf "{\"number\":\"%d\",\"birth_date\":\"%s\",\"last_name\":\"%s\",\"postal_code\":\"%s\"}", $5 + k, $2, $3, $4 }' \
    "$WORK/holders.tsv"
}
link() { # token body → status
  curl -s -o /dev/null -w '%{http_code}' -X POST "$BASE/api/v1/me/subscriptions/link" \
    -H "authorization: Bearer $1" -H 'content-type: application/json' -d "$2"
}
# The list's account: the first holder with 3 of their subscriptions linked.
TOKEN=$(login holder0@example.de)
for k in 0 1 2; do [ "$(link "$TOKEN" "$(link_body 1 "$k")")" = 201 ] || { echo "link failed" >&2; exit 1; }; done
# The link benchmark's accounts: one each, re-linking its own subscription (200).
: >"$WORK/link-requests.tsv"
for i in $(seq 1 32); do
  token=$(login "holder$i@example.de")
  body=$(link_body $((i + 1)) 0)
  [ "$(link "$token" "$body")" = 201 ] || { echo "link failed" >&2; exit 1; }
  printf '%s\t%s\n' "$token" "$body" >>"$WORK/link-requests.tsv"
done

now() { date -u +%Y-%m-%dT%H:%M:%S; }
wrk -t2 -c32 -d5s -H "Authorization: Bearer $TOKEN" "$BASE/api/v1/me/subscriptions" >/dev/null
LIST_FROM=$(now)
read -r LIST_RPS LIST_P50 LIST_P99 < <(wrk -t2 -c32 -d"${SECONDS_PER_RUN}s" --latency \
  -H "Authorization: Bearer $TOKEN" "$BASE/api/v1/me/subscriptions" | summarise)
LIST_TO=$(now)
LINK_FROM=$(now)
read -r LINK_RPS LINK_P50 LINK_P99 < <(LINK_REQUESTS="$WORK/link-requests.tsv" \
  wrk -t2 -c32 -d"${SECONDS_PER_RUN}s" --latency -s bench/link.lua "$BASE" | summarise)
LINK_TO=$(now)
# Server-side: from the request entering the middleware to its response (access log).
read -r LIST_SERVER_P50 LIST_SERVER_P99 _ _ < <(python3 bench/log_stats.py "$WORK/server.log" "$LIST_FROM" "$LIST_TO" /api/v1/me/subscriptions)
read -r LINK_SERVER_P50 LINK_SERVER_P99 _ _ < <(python3 bench/log_stats.py "$WORK/server.log" "$LINK_FROM" "$LINK_TO" /api/v1/me/subscriptions/link)

# pgbench: one transaction = the list's three statements (bearer check, count, page)
# with the list account's values, 32 clients as wrk had connections.
ACCOUNT_ID=$(psql "$DB_URL" -Atc "SELECT id FROM accounts WHERE email = 'holder0@example.de'")
SESSION_ID=$(psql "$DB_URL" -Atc "SELECT id FROM sessions WHERE account_id = '$ACCOUNT_ID' AND revoked_at IS NULL LIMIT 1")
TODAY=$(TZ=Europe/Berlin date '+%Y-%m-%d')
# The statements the server sends, as diesel writes them, with their parameters bound
# (-M prepared): the session check, the count and the page. (Read back from
# pg_stat_activity they came cut at track_activity_query_size, 1,024 bytes.)
CURRENT="s.account_id = :account_id AND s.status != :ended AND (s.valid_to IS NULL OR s.valid_to >= :today)"
cat >"$WORK/list.sql" <<SQL
SELECT a.id, a.email, a.operator FROM accounts a JOIN sessions s ON s.account_id = a.id
 WHERE a.id = :account_id AND s.id = :session_id AND s.revoked_at IS NULL AND s.expires_at > now() LIMIT 1;
SELECT COUNT(*) FROM subscriptions s
  LEFT JOIN (company_contracts c LEFT JOIN companies co ON c.company_id = co.id) ON s.company_contract_id = c.id
 WHERE $CURRENT;
SELECT s.id, s.contract_number, s.subscription_number, s.chip_card_number, s.product, s.valid_from,
       s.valid_to, s.status, s.customer_id, s.company_contract_id, s.updated_at, s.account_id,
       s.linked_at, s.created_at, s.personnel_number, s.bulk_upload_id,
       c.contract_number, co.name, c.product_offering
  FROM subscriptions s
  LEFT JOIN (company_contracts c LEFT JOIN companies co ON c.company_id = co.id) ON s.company_contract_id = c.id
 WHERE $CURRENT ORDER BY s.valid_from DESC, s.id DESC LIMIT :per_page OFFSET :zero;
SQL
PG_TPS=$(cd "$WORK" && { pgbench -n -M prepared -c 32 -j 2 -T "$SECONDS_PER_RUN" \
  -l --log-prefix=pgbench-latency \
  -D account_id="$ACCOUNT_ID" -D session_id="$SESSION_ID" \
  -D ended=ended -D today="$TODAY" -D per_page=25 -D zero=0 \
  -f "$WORK/list.sql" "$DB_URL" 2>"$WORK/pgbench.err" || true; } | awk '/^tps/ {printf "%.1f", $3}')
[ -n "$PG_TPS" ] || { cat "$WORK/pgbench.err" "$WORK/list.sql" >&2; exit 1; }
# pgbench's own latencies (the third column of its per-transaction log, in µs): what
# the database alone gives at the same concurrency on the same cores.
read -r PG_P50 PG_P99 < <(cat "$WORK"/pgbench-latency* | awk '{ print $3 / 1000 }' | sort -n \
  | awk '{ v[NR] = $1 } END { printf "%.2f %.2f\n", v[int(NR * 0.5)], v[int(NR * 0.99)] }')
LIST_SHARE=$(percent "$LIST_RPS" "$PG_TPS")
# The same at a steady load rather than as fast as the machine goes: every one of the 32
# connections pauses PACE_MS (10) after each answer (bench/paced.lua), and pgbench's 32
# clients do the same (\sleep at the end of the transaction, taken off its latencies
# again), so both see the same closed loop at about half the machine's rate.
PACE=${PACE_MS:-10}
read -r PACED_RPS PACED_P50 PACED_P99 < <(PACE_MS=$PACE wrk -t2 -c32 -d"${SECONDS_PER_RUN}s" \
  --latency -s bench/paced.lua -H "Authorization: Bearer $TOKEN" "$BASE/api/v1/me/subscriptions" | summarise)
{ cat "$WORK/list.sql"; echo "\\sleep $PACE ms"; } >"$WORK/paced.sql"
PG_PACED_TPS=$(cd "$WORK" && pgbench -n -M prepared -c 32 -j 2 -T "$SECONDS_PER_RUN" \
  -l --log-prefix=pgbench-paced -D account_id="$ACCOUNT_ID" -D session_id="$SESSION_ID" \
  -D ended=ended -D today="$TODAY" -D per_page=25 -D zero=0 \
  -f "$WORK/paced.sql" "$DB_URL" 2>"$WORK/pgbench.err" | awk '/^tps/ {printf "%.1f", $3}')
[ -n "$PG_PACED_TPS" ] || { cat "$WORK/pgbench.err" "$WORK/paced.sql" >&2; exit 1; }
read -r PG_PACED_P50 PG_PACED_P99 < <(cat "$WORK"/pgbench-paced* | awk -v pace="$PACE" '{ print $3 / 1000 - pace }' \
  | sort -n | awk '{ v[NR] = $1 } END { printf "%.2f %.2f\n", v[int(NR * 0.5)], v[int(NR * 0.99)] }')
# Where the list's CPU goes (with perf): the list and pgbench once more, each recorded
# system-wide. At a fixed 32 connections a request takes 32 ÷ the rate (Little's law),
# so were the server's own code free, the list's p99 could come down to pgbench's p99 ×
# pgbench's rate ÷ the ceiling: the rate the machine has left once PostgreSQL, wrk and
# the kernel's work on the server's sockets are paid for every request.
PROFILED=""
if perf_usable; then
  mkdir -p bench/out
  perf record -q -e cpu-clock -F 999 -a -g -o "$WORK/list.data" -- \
    wrk -t2 -c32 -d"${SECONDS_PER_RUN}s" -H "Authorization: Bearer $TOKEN" \
    "$BASE/api/v1/me/subscriptions" >"$WORK/list-profiled.txt" 2>/dev/null
  perf_split "$WORK/list.data" "$(awk '/ requests in / { print $1 }' "$WORK/list-profiled.txt")" \
    "$SERVER_PID" bench/out/subscriptions-list.folded >"$WORK/list.split"
  (cd "$WORK" && perf record -q -e cpu-clock -F 999 -a -g -o "$WORK/pg.data" -- \
    pgbench -n -M prepared -c 32 -j 2 -T "$SECONDS_PER_RUN" \
    -D account_id="$ACCOUNT_ID" -D session_id="$SESSION_ID" \
    -D ended=ended -D today="$TODAY" -D per_page=25 -D zero=0 \
    -f "$WORK/list.sql" "$DB_URL" >"$WORK/pg-profiled.txt" 2>"$WORK/pgbench.err" || true)
  PROFILED_TX=$(awk '/actually processed/ { print $NF }' "$WORK/pg-profiled.txt")
  [ -n "$PROFILED_TX" ] || { cat "$WORK/pgbench.err" >&2; exit 1; }
  perf_split "$WORK/pg.data" "$PROFILED_TX" \
    "$SERVER_PID" "$WORK/pg.folded" >"$WORK/pg.split"
  PROFILED=yes
fi
# The floor under any committing request: the simplest write transaction (one row
# updated, one log row inserted, commit), 32 clients each on its own row. Linking
# commits too, with more statements.
psql "$DB_URL" -qc "CREATE TABLE bench_rows (id int PRIMARY KEY, n int);
  INSERT INTO bench_rows SELECT g, 0 FROM generate_series(0, 31) AS g;
  CREATE TABLE bench_log (id bigserial PRIMARY KEY, at timestamp, what text)" >/dev/null
cat >"$WORK/write.sql" <<'SQL'
BEGIN;
UPDATE bench_rows SET n = n + 1 WHERE id = :client_id;
INSERT INTO bench_log (at, what) VALUES (now(), 'subscription.linked');
COMMIT;
SQL
WRITE_TPS=$(cd "$WORK" && pgbench -n -M prepared -c 32 -j 2 -T "$SECONDS_PER_RUN" \
  -l --log-prefix=pgbench-write -f "$WORK/write.sql" "$DB_URL" 2>"$WORK/pgbench.err" | awk '/^tps/ {printf "%.1f", $3}')
[ -n "$WRITE_TPS" ] || { cat "$WORK/pgbench.err" >&2; exit 1; }
read -r WRITE_P50 WRITE_P99 < <(cat "$WORK"/pgbench-write* | awk '{ print $3 / 1000 }' | sort -n \
  | awk '{ v[NR] = $1 } END { printf "%.2f %.2f\n", v[int(NR * 0.5)], v[int(NR * 0.99)] }')
LISTED=$(curl -fs "$BASE/api/v1/me/subscriptions" -H "authorization: Bearer $TOKEN" | sed -E 's/.*"total":([0-9]+).*/\1/')

row() { printf '%-52s %12s %-5s %9s\n' "$@"; }
echo
echo "Firmenportal subscription benchmark — $CORES cores, PostgreSQL, ${SECONDS_PER_RUN}s per load run"
row "measure" "value" "" "target"
row "----------------------------------------------------" "------------" "" "---------"
row "import customers ($CUSTOMERS rows)" "$CUSTOMERS_S" s ""
row "  rows/s  (psql \\copy of the same file: $COPY_CUSTOMERS_RPS/s)" "$IMPORT_CUSTOMERS_RPS" /s ""
row "import subscriptions ($SUBSCRIPTIONS rows, $STORED stored)" "$SUBS_S" s ""
row "  rows/s" "$IMPORT_RPS" /s ""
row "psql \\copy of the same file into a bare table" "$COPY_SUBS_S" s ""
row "  rows/s" "$COPY_RPS" /s ""
row "import / \\copy (subscriptions)" "$(percent "$IMPORT_RPS" "$COPY_RPS")" % ""
row "psql \\copy into a table with the same 7 indexes" "$COPY_INDEXED_S" s ""
row "  rows/s" "$COPY_INDEXED_RPS" /s ""
row "import / \\copy with indexes" "$(percent "$IMPORT_RPS" "$COPY_INDEXED_RPS")" % ""
row "psql \\copy into subscriptions (its indexes, FKs)" "$COPY_REAL_S" s ""
row "  rows/s" "$COPY_REAL_RPS" /s ""
row "import / \\copy into subscriptions itself" "$(percent "$IMPORT_RPS" "$COPY_REAL_RPS")" % "≥ 70 %"
row "import of the same file again (nothing changes)" "$AGAIN_S" s ""
row "  rows/s" "$AGAIN_RPS" /s ""
row "GET /me/subscriptions ($LISTED linked, 32 conn.)" "$LIST_RPS" /s ""
row "  p50 / p99" "$LIST_P50 / $LIST_P99" ms "p99 ≤ 15"
row "  server-side p50 / p99 (access log)" "$LIST_SERVER_P50 / $LIST_SERVER_P99" ms ""
row "pgbench, the list's 3 statements (32 clients)" "$PG_TPS" tps ""
row "  p50 / p99 (pgbench's log)" "$PG_P50 / $PG_P99" ms ""
row "GET /me/subscriptions / pgbench" "$LIST_SHARE" % "≥ 50 %"
row "  p99 / pgbench's p99" "$(awk -v a="$LIST_P99" -v b="$PG_P99" 'BEGIN { printf "%.2f", a / b }')" × "≤ 1.25"
if [ -n "$PROFILED" ]; then
  LIST_SERVER_CPU=$(split_value program server "$WORK/list.split")
  LIST_PG_CPU=$(split_value program postgres "$WORK/list.split")
  LIST_WRK_CPU=$(split_value program wrk "$WORK/list.split")
  LIST_KERNEL_CPU=$(split_kernel "$WORK/list.split")
  CEILING=$(ceiling_of "$WORK/list.split")
  row "  CPU per request: server (of it kernel) / PostgreSQL / wrk" \
    "$LIST_SERVER_CPU ($LIST_KERNEL_CPU) / $LIST_PG_CPU / $LIST_WRK_CPU" µs ""
  row "  pgbench's CPU per transaction: PostgreSQL / pgbench" \
    "$(split_value program postgres "$WORK/pg.split") / $(split_value program pgbench "$WORK/pg.split")" µs ""
  row "  ceiling: cores ÷ (PostgreSQL + wrk + server kernel)" "$CEILING" /s ""
  row "  lowest p99 / pgbench's p99 at 32 conn. (≈ tps ÷ ceiling)" \
    "$(awk -v a="$PG_TPS" -v b="$CEILING" 'BEGIN { printf "%.2f", a / b }')" × ""
  echo "  the server's costliest functions (µs per request, share of its CPU; stacks in bench/out/subscriptions-list.folded):"
  awk '$1 == "top" { $1 = ""; printf "    %6s µs %5s %%  %s\n", $2, $3, substr($0, index($0, $4)) }' "$WORK/list.split"
fi
row "GET /me/subscriptions paced ($PACE ms after each answer)" "$PACED_RPS" /s ""
row "  p50 / p99" "$PACED_P50 / $PACED_P99" ms ""
row "pgbench paced the same way" "$PG_PACED_TPS" tps ""
row "  p50 / p99 (pgbench's log, less the pause)" "$PG_PACED_P50 / $PG_PACED_P99" ms ""
row "  p99 / pgbench's p99 at the same steady load" "$(awk -v a="$PACED_P99" -v b="$PG_PACED_P99" 'BEGIN { printf "%.2f", a / b }')" × "≤ 1.25"
row "POST /me/subscriptions/link (32 accounts, 32 conn.)" "$LINK_RPS" /s ""
row "  p50 / p99" "$LINK_P50 / $LINK_P99" ms "p99 ≤ 15"
row "  server-side p50 / p99 (access log)" "$LINK_SERVER_P50 / $LINK_SERVER_P99" ms ""
row "pgbench, simplest committing transaction (32 cl.)" "$WRITE_TPS" tps ""
row "  p50 / p99 (pgbench's log)" "$WRITE_P50 / $WRITE_P99" ms ""
