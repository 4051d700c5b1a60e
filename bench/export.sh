#!/usr/bin/env bash
# The data export (issue 22), release build, on PostgreSQL: an account with 5 linked
# subscriptions, 200 consent changes and 2,000 audit entries exports GET /api/v1/me/export
# as fast as BENCH_CONNECTIONS connections go (default 2, the cores); p50 and p99 against
# the target p99 <= 100 ms, with the document's size. The export limit is lifted for the
# run (RATE_LIMIT_EXPORT_PER_ACCOUNT), so every answer is a full export.
#
#   bench/export.sh   (BENCH_DATABASE_URL, BENCH_SECONDS, BENCH_PORT, BENCH_CONNECTIONS)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

ADMIN_URL=${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
SECONDS_PER_RUN=${BENCH_SECONDS:-10}
PORT=${BENCH_PORT:-18083}
CONNECTIONS=${BENCH_CONNECTIONS:-2}
BASE="http://127.0.0.1:$PORT"
DB="fp_bench_export_$(date +%s)"
PASSWORD="Benchmark-Passwort-2026"
EMAIL="export@example.de"

need_tools psql curl

cargo build --release --quiet
BIN=$RELEASE_BIN
psql "$ADMIN_URL" -qc "CREATE DATABASE $DB" >/dev/null
DB_URL="${ADMIN_URL%/*}/$DB"
DATA_DIR=$(mktemp -d)
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null || true; fi
  psql "$ADMIN_URL" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$DATA_DIR"
}
trap cleanup EXIT

env DATABASE_URL="$DB_URL" BIND_ADDR="127.0.0.1:$PORT" DATA_DIR="$DATA_DIR" LOG_FORMAT=json \
  RUST_LOG=warn METRICS_BIND_ADDR=off SHUTDOWN_DRAIN_SECS=0 RATE_LIMIT_EXPORT_PER_ACCOUNT=100000000 \
  setsid "$BIN" serve >>"$DATA_DIR/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do curl -fs "$BASE/health/ready" >/dev/null && break; sleep 0.1; done

curl -fs -o /dev/null -X POST "$BASE/api/v1/auth/register" -H 'content-type: application/json' \
  -d "{\"email\":\"$EMAIL\",\"password\":\"$PASSWORD\",\"password_confirmation\":\"$PASSWORD\",\"first_name\":\"Erika\",\"last_name\":\"Export\"}"
psql "$DB_URL" -qc "UPDATE accounts SET email_verified_at = now() AT TIME ZONE 'UTC'" >/dev/null
TOKEN=$(curl -fs -X POST "$BASE/api/v1/auth/login" -H 'content-type: application/json' \
  -d "{\"email\":\"$EMAIL\",\"password\":\"$PASSWORD\"}" | sed -E 's/.*"access_token":"([^"]+)".*/\1/')

# 5 customer records each with a linked subscription, 40 consent changes each (200), and
# 2,000 audit entries by the account.
psql "$DB_URL" -q >/dev/null <<SQL
INSERT INTO customers (id, customer_number, salutation, gender, first_name, last_name, birth_date,
  street, postal_code, city, country, marketing_consent, recorded_at, search_text, created_at, updated_at)
SELECT 'bench-customer-' || i, 'KD-BENCH-' || i, 'ms', 'female', 'Erika', 'Export', DATE '1985-04-12',
  'Königsplatz ' || i, '34117', 'Kassel', 'DE', false, DATE '2023-05-01', 'erika export',
  now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC'
FROM generate_series(1, 5) AS i;
INSERT INTO subscriptions (id, contract_number, product, valid_from, status, customer_id, account_id,
  linked_at, created_at, updated_at)
SELECT 'bench-subscription-' || i, '99' || lpad(i::text, 6, '0'), 'Deutschlandticket Job', DATE '2024-01-01',
  'active', 'bench-customer-' || i, a.id, now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC'
FROM generate_series(1, 5) AS i, accounts a WHERE a.email = '$EMAIL';
INSERT INTO consent_changes (id, customer_id, marketing_consent, source, changed_at)
SELECT 'bench-consent-' || i, 'bench-customer-' || (1 + i % 5), i % 2 = 0, 'self_service',
  (now() AT TIME ZONE 'UTC') - make_interval(mins => i)
FROM generate_series(1, 200) AS i;
INSERT INTO audit_log (id, occurred_at, actor_id, action, subject_id, client_ip, request_id)
SELECT 'bench-audit-' || i, (now() AT TIME ZONE 'UTC') - make_interval(mins => i), a.id,
  'auth.token_refreshed', a.id, '203.0.113.7', 'bench-' || i
FROM generate_series(1, 2000) AS i, accounts a WHERE a.email = '$EMAIL';
ANALYZE;
SQL

BYTES=$(curl -fs "$BASE/api/v1/me/export" -H "Authorization: Bearer $TOKEN" | wc -c)
OUT=$(wrk -t"$CONNECTIONS" -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" --latency \
  -H "Authorization: Bearer $TOKEN" "$BASE/api/v1/me/export")
BAD=$(echo "$OUT" | awk '/Non-2xx or 3xx responses/ { print $NF }')
[ -z "$BAD" ] || { echo "$OUT" >&2; echo "some exports failed" >&2; exit 1; }
to_ms() { awk '{ v = $1; if (v ~ /us$/) { sub(/us$/, "", v); v /= 1000 } else if (v ~ /ms$/) { sub(/ms$/, "", v) } else if (v ~ /s$/) { sub(/s$/, "", v); v *= 1000 } printf "%.1f", v }'; }
P50=$(echo "$OUT" | awk '$1 == "50%" { print $2 }' | to_ms)
P99=$(echo "$OUT" | awk '$1 == "99%" { print $2 }' | to_ms)
RPS=$(echo "$OUT" | awk '/Requests\/sec/ { print $2 }')

echo
echo "GET /api/v1/me/export: 5 subscriptions, 200 consent changes, 2,000 audit entries ($(nproc) cores, PostgreSQL)"
printf '  document:   %10s bytes\n' "$BYTES"
printf '  %s connections: %s exports/s, p50 %s ms, p99 %s ms\n' "$CONNECTIONS" "$RPS" "$P50" "$P99"
awk -v p99="$P99" 'BEGIN { printf "  p99 target <= 100 ms: %s\n", (p99 <= 100 ? "met" : "NOT met") }'
