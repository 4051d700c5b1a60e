#!/usr/bin/env bash
# Statements and webhooks benchmark (issue 20), release build, on PostgreSQL and SQLite:
# - the CSV statement of a contract with BENCH_TICKETS tickets (default 10,000), frozen
#   (last month) and provisional (this month), in rows per second against `psql \copy
#   (the same SELECT) TO STDOUT` (target ≥ 50 % of its rows/s); median of 5;
# - the freeze of last month for BENCH_CONTRACTS contracts (default 20,000) by the
#   maintenance job at start;
# - the operator overview of a month at BENCH_CONTRACTS contracts, p99 at 8 connections,
#   final (last month) and provisional (this month);
# - webhooks: a staff list of BENCH_EVENTS rows (default 1,000) sends as many
#   `subscription.created` to a local receiver: the time from the upload to the last
#   event received (target: all within 10 s), and events per second;
# - the same with the receiver answering 503 for BENCH_OUTAGE seconds (default 60):
#   how long the backlog takes to drain once it is back, and that nothing was lost.
#
#   bench/statements.sh   (BENCH_DATABASE_URL, BENCH_SECONDS, BENCH_PORT, BENCH_TICKETS,
#                          BENCH_CONTRACTS, BENCH_EVENTS, BENCH_OUTAGE to override)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

ADMIN_URL=${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
SECONDS_PER_RUN=${BENCH_SECONDS:-5}
PORT=${BENCH_PORT:-18087}
RECEIVER_PORT=$((PORT + 1))
TICKETS=${BENCH_TICKETS:-10000}
CONTRACTS=${BENCH_CONTRACTS:-20000}
EVENTS=${BENCH_EVENTS:-1000}
OUTAGE=${BENCH_OUTAGE:-60}
BASE="http://127.0.0.1:$PORT"
RECEIVER="http://127.0.0.1:$RECEIVER_PORT"
PASSWORD="Benchmark-Passwort-2026"
CONNECTIONS=8
# Retries soon enough that a backlog drains within the run (the default waits 5 min).
RETRY_SCHEDULE=5,10,20,40,80,160

need_tools psql python3 curl

cargo build --release --quiet
BIN=$RELEASE_BIN
RECEIVER_BIN=$(bench_bin webhook_receiver)
STAFF_LIST_BIN=$(bench_bin staff_list)
[ -x "$RECEIVER_BIN" ] && [ -x "$STAFF_LIST_BIN" ] || { echo "cannot build the helper programs" >&2; exit 1; }
WORK=$(mktemp -d)
SERVER_PID=""
RECEIVER_PID=""
DATABASES=()
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  [ -n "$RECEIVER_PID" ] && kill "$RECEIVER_PID" 2>/dev/null && wait "$RECEIVER_PID" 2>/dev/null
  for db in "${DATABASES[@]}"; do
    psql "$ADMIN_URL" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

read -r PREV CUR START < <(python3 -c '
import datetime as d
t = d.date.today()
prev = (t.replace(day=1) - d.timedelta(days=1))
m = t.month + 1
print(f"{prev:%Y-%m} {t:%Y-%m} {t.year + m // 12}-{m % 12 + 1:02d}")')
"$STAFF_LIST_BIN" "$WORK" "$EVENTS" "$START" >/dev/null

ms() { python3 -c 'import time; print(int(time.time() * 1000))'; }

# CONTRACTS companies with a contract each (a 50 % share), TICKETS tickets under the
# first contract and two under every other, all running since 2025; the 2025 price.
data_sql() { # backend
  local day stamp
  if [ "$1" = postgres ]; then day() { echo "DATE '$1'"; }; stamp="TIMESTAMP '2025-01-01 00:00:00'"
  else day() { echo "'$1'"; }; stamp="'2025-01-01 00:00:00'"; fi
  cat <<SQL
INSERT INTO companies (id, customer_number, name, street, postal_code, city, country, search_text, created_at, updated_at)
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $CONTRACTS)
SELECT 'co-' || i, 'K-' || (100000 + i), 'Firma ' || i || ' GmbH', 'Ständeplatz ' || i, '34117', 'Kassel', 'DE',
  'firma ' || i || ' gmbh', $stamp, $stamp FROM n;
INSERT INTO company_contracts (id, contract_number, company_id, product_offering, status, valid_from,
  created_at, updated_at, company_name, company_street, company_postal_code, company_city, search_text,
  employer_share_kind, employer_share_value)
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $CONTRACTS)
SELECT 'ct-' || i, 'FV-' || (100000 + i), 'co-' || i, 'D-Ticket Job (Rechnung)', 'active', $(day 2024-01-01),
  $stamp, $stamp, 'Firma ' || i || ' GmbH', 'Ständeplatz ' || i, '34117', 'Kassel', 'fv-' || i, 'percent', 5000 FROM n;
INSERT INTO customers (id, customer_number, salutation, gender, first_name, last_name, birth_date, street,
  postal_code, city, country, marketing_consent, recorded_at, search_text, created_at, updated_at)
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $((TICKETS + 2 * (CONTRACTS - 1))))
SELECT 'cu-' || i, 'KD-' || (1000000 + i), 'mr', 'male',
  CASE i % 4 WHEN 0 THEN 'Max' WHEN 1 THEN 'Erika' WHEN 2 THEN 'Jonas' ELSE 'Mia' END,
  CASE i % 5 WHEN 0 THEN 'Müller' WHEN 1 THEN 'Schmidt' WHEN 2 THEN 'Weiß' WHEN 3 THEN 'Becker' ELSE 'Koch' END || i,
  $(day 1990-01-01), 'Ständeplatz 1', '34117', 'Kassel', 'DE', false, $(day 2025-01-01), 'x', $stamp, $stamp FROM n;
INSERT INTO subscriptions (id, contract_number, product, valid_from, status, customer_id, company_contract_id,
  personnel_number, created_at, updated_at)
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $((TICKETS + 2 * (CONTRACTS - 1))))
SELECT 'su-' || i, 'B-' || (1000000 + i), 'Deutschlandticket Job', $(day 2025-01-01), 'active', 'cu-' || i,
  CASE WHEN i <= $TICKETS THEN 'ct-1' ELSE 'ct-' || (2 + (i - $TICKETS - 1) / 2) END, 'B-' || i, $stamp, $stamp FROM n;
INSERT INTO prices (id, product_offering, valid_from, list_price_cents, job_discount_bp, created_at)
VALUES ('price-2025', 'D-Ticket Job (Rechnung)', $(day 2025-01-01), 6300, 500, $stamp);
SQL
}

# The statement's SELECT as the server runs it, for psql's \copy: frozen items, or the
# live tickets of a month.
frozen_select() {
  echo "SELECT i.contract_number, i.personnel_number, i.first_name, i.last_name, i.valid_from, i.valid_to, i.status
    FROM statement_items i JOIN statements s ON s.id = i.statement_id
   WHERE s.contract_id = 'ct-1' AND s.month = DATE '$PREV-01'
   ORDER BY i.last_name, i.first_name, i.subscription_id"
}
live_select() {
  echo "SELECT s.id, s.contract_number, s.personnel_number, c.first_name, c.last_name, s.valid_from, s.valid_to, s.status
    FROM subscriptions s JOIN customers c ON c.id = s.customer_id
   WHERE s.company_contract_id = 'ct-1' AND s.status <> 'requested' AND s.valid_from <= (DATE '$CUR-01' + INTERVAL '1 month' - INTERVAL '1 day')
     AND (s.valid_to IS NULL OR s.valid_to >= DATE '$CUR-01')
   ORDER BY c.last_name, c.first_name, s.id"
}

declare -A RESULT
for backend in postgres sqlite; do
  dir="$WORK/$backend"; mkdir -p "$dir"
  if [ "$backend" = postgres ]; then
    db="fp_bench_statements_$(date +%s)"
    psql "$ADMIN_URL" -qc "CREATE DATABASE $db" >/dev/null
    DATABASES+=("$db")
    url="${ADMIN_URL%/*}/$db"
  else
    url="sqlite://$dir/bench.db"
  fi
  sql() { # query → first value
    if [ "$backend" = postgres ]; then psql "$url" -Atc "$1"
    else python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])' "$dir/bench.db" "$1"; fi
  }
  run() { DATABASE_URL="$url" DATA_DIR="$dir" RUST_LOG=warn "$BIN" "$@"; }
  run migrate >/dev/null
  printf '%s\n' "$PASSWORD" | run create-operator --email operator@example.de \
    --first-name Olga --last-name Operator >/dev/null
  if [ "$backend" = postgres ]; then
    data_sql postgres | psql -q "$url" >/dev/null
    psql "$url" -qc "VACUUM ANALYZE" >/dev/null
  else
    data_sql sqlite | python3 -c 'import sqlite3, sys; db = sqlite3.connect(sys.argv[1]); db.executescript(sys.stdin.read()); db.execute("ANALYZE"); db.close()' "$dir/bench.db"
  fi

  touch "$WORK/outage"; rm -f "$WORK/outage"
  "$RECEIVER_BIN" "$RECEIVER_PORT" "$WORK/outage" >"$dir/receiver.log" 2>&1 &
  RECEIVER_PID=$!
  # The maintenance job freezes last month for every contract as the server starts.
  started=$(ms)
  env DATABASE_URL="$url" DATA_DIR="$dir" BIND_ADDR="127.0.0.1:$PORT" RUST_LOG=warn \
    WEBHOOK_ALLOW_HTTP=true WEBHOOK_ALLOW_PRIVATE_TARGETS=true WEBHOOK_RETRY_SCHEDULE=$RETRY_SCHEDULE \
    RATE_LIMIT_LOGIN_PER_IP=1000000 setsid "$BIN" serve >"$dir/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 100); do curl -fs "$BASE/health/ready" >/dev/null && curl -fs "$RECEIVER/stats" >/dev/null && break; sleep 0.1; done
  for _ in $(seq 1 6000); do
    [ "$(sql "SELECT count(*) FROM statements")" -ge "$CONTRACTS" ] && break; sleep 0.1
  done
  RESULT[$backend,freeze]=$(awk -v a="$started" -v b="$(ms)" 'BEGIN { printf "%.1f", (b - a) / 1000 }')
  [ "$backend" = postgres ] && psql "$url" -qc "VACUUM ANALYZE" >/dev/null
  TOKEN=$(curl -fs -X POST "$BASE/api/v1/auth/login" -H 'content-type: application/json' \
    -d "{\"email\":\"operator@example.de\",\"password\":\"$PASSWORD\"}" | sed -E 's/.*"access_token":"([^"]+)".*/\1/')

  # The CSV statements: median of 5 downloads each.
  for month in "$PREV" "$CUR"; do
    curl -fs -o "$dir/statement.csv" "$BASE/api/v1/contracts/ct-1/statements/$month.csv" -H "Authorization: Bearer $TOKEN"
    lines=$(wc -l <"$dir/statement.csv")
    [ "$lines" = "$((TICKETS + 2))" ] || { echo "the $month CSV has $lines lines, not $((TICKETS + 2))" >&2; exit 1; }
    RESULT[$backend,csv_$month]=$(for _ in 1 2 3 4 5; do
      curl -fs -o /dev/null -w '%{time_total}\n' "$BASE/api/v1/contracts/ct-1/statements/$month.csv" -H "Authorization: Bearer $TOKEN"
    done | median)
  done
  if [ "$backend" = postgres ]; then
    # psql's start and connection are not the query's: one session runs the copy once,
    # another six times, and the difference over five is one copy.
    copies() { # query count → seconds
      local from to
      for _ in $(seq 1 "$2"); do echo "\\copy ($1) TO STDOUT WITH (FORMAT csv, DELIMITER ';')"; done >"$WORK/copy.sql"
      from=$(ms); psql "$url" -q -f "$WORK/copy.sql" >/dev/null; to=$(ms)
      echo $((to - from))
    }
    for which in frozen live; do
      query=$("${which}_select" | tr '\n' ' ')
      RESULT[copy_$which]=$(for _ in 1 2 3; do
        one=$(copies "$query" 1); six=$(copies "$query" 6)
        awk -v a="$one" -v b="$six" 'BEGIN { printf "%.4f\n", (b - a) / 5 / 1000 }'
      done | median)
    done
  fi

  # The operator overview at 8 connections.
  for month in "$PREV" "$CUR"; do
    for query in "per_page=25" "sort=total&order=desc"; do
      path="$BASE/api/v1/admin/statements/$month?$query"
      total=$(curl -fs "$path" -H "Authorization: Bearer $TOKEN" | sed -E 's/.*"total":([0-9]+).*/\1/')
      [ "$total" = "$CONTRACTS" ] || { echo "the overview of $month lists $total contracts" >&2; exit 1; }
      wrk -t2 -c"$CONNECTIONS" -d1s -H "Authorization: Bearer $TOKEN" "$path" >/dev/null
      RESULT[$backend,overview_${month}_$query]=$(wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" --latency \
        --timeout 10s -H "Authorization: Bearer $TOKEN" "$path" | summarise)
    done
  done

  # Webhooks: an endpoint on the first two companies; a staff list to each contract.
  for company in co-1 co-2; do
    curl -fs -o /dev/null -X POST "$BASE/api/v1/companies/$company/webhooks" -H "Authorization: Bearer $TOKEN" \
      -H 'content-type: application/json' -d "{\"url\": \"$RECEIVER/hook\", \"events\": [\"subscription.created\"]}"
  done
  upload() { # contract
    curl -fs -o "$dir/upload.json" -X POST "$BASE/api/v1/contracts/$1/bulk-uploads" \
      -H "Authorization: Bearer $TOKEN" -F "file=@$WORK/staff.csv"
    grep -q "\"created\":$EVENTS" "$dir/upload.json" || { echo "the list did not create $EVENTS tickets" >&2; head -c 400 "$dir/upload.json" >&2; exit 1; }
  }
  delivered() { curl -fs "$RECEIVER/stats" | sed -E 's/.*"delivered":([0-9]+).*/\1/'; }
  last_ms() { curl -fs "$RECEIVER/stats" | sed -E 's/.*"last_ms":([0-9]+).*/\1/'; }
  curl -fs "$RECEIVER/reset" >/dev/null
  caused=$(ms)
  upload ct-1
  uploaded=$(ms)
  for _ in $(seq 1 1200); do [ "$(delivered)" -ge "$EVENTS" ] && break; sleep 0.05; done
  got=$(delivered)
  RESULT[$backend,hooks]="$got $(awk -v a="$caused" -v b="$uploaded" 'BEGIN { printf "%.2f", (b - a) / 1000 }') $(awk -v a="$caused" -v b="$(last_ms)" 'BEGIN { printf "%.2f", (b - a) / 1000 }')"

  # The outage: the receiver answers 503 while the events are caused and for OUTAGE s.
  curl -fs "$RECEIVER/reset" >/dev/null
  touch "$WORK/outage"
  upload ct-2
  sleep "$OUTAGE"
  back=$(ms)
  rm -f "$WORK/outage"
  for _ in $(seq 1 4000); do [ "$(delivered)" -ge "$EVENTS" ] && break; sleep 0.1; done
  sleep 1
  got=$(delivered)
  open=$(sql "SELECT count(*) FROM webhook_deliveries WHERE status <> 'delivered'")
  requests=$(curl -fs "$RECEIVER/stats" | sed -E 's/.*"requests":([0-9]+).*/\1/')
  RESULT[$backend,outage]="$got $open $requests $(awk -v a="$back" -v b="$(last_ms)" 'BEGIN { printf "%.1f", (b - a) / 1000 }')"

  kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
  kill "$RECEIVER_PID" 2>/dev/null && wait "$RECEIVER_PID" 2>/dev/null || true
  RECEIVER_PID=""
done

rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", n / s }'; }
echo
echo "CSV statement of a contract with $TICKETS tickets, $(nproc) cores (median of 5; target ≥ 50 % of psql \\copy's rows/s)"
printf '%-26s | %8s %9s | %8s %9s %6s | %9s %9s\n' "" "sqlite s" "rows/s" "pg s" "rows/s" "share" "\\copy s" "rows/s"
for pair in "$PREV frozen final ($PREV)" "$CUR live provisional ($CUR)"; do
  read -r month which label <<<"$pair"
  s=${RESULT[sqlite,csv_$month]}; p=${RESULT[postgres,csv_$month]}; c=${RESULT[copy_$which]}
  printf '%-26s | %8s %9s | %8s %9s %5s%% | %9s %9s\n' "$label" "$s" "$(rate "$TICKETS" "$s")" "$p" \
    "$(rate "$TICKETS" "$p")" "$(awk -v a="$c" -v b="$p" 'BEGIN { printf "%.0f", 100 * a / b }')" "$c" "$(rate "$TICKETS" "$c")"
done
echo
echo "Freezing $PREV for $CONTRACTS contracts by the maintenance job at start: ${RESULT[sqlite,freeze]} s SQLite, ${RESULT[postgres,freeze]} s PostgreSQL"
echo
echo "GET /api/v1/admin/statements/{month}, $CONTRACTS contracts, $CONNECTIONS connections (ms)"
printf '%-36s | %8s %8s %9s | %8s %8s %9s\n' "case" "sq p50" "sq p99" "sq req/s" "pg p50" "pg p99" "pg req/s"
for month in "$PREV" "$CUR"; do
  for query in "per_page=25" "sort=total&order=desc"; do
    read -r srps sp50 sp99 <<<"${RESULT[sqlite,overview_${month}_$query]}"
    read -r prps pp50 pp99 <<<"${RESULT[postgres,overview_${month}_$query]}"
    printf '%-36s | %8s %8s %9s | %8s %8s %9s\n' "$month ?$query" "$sp50" "$sp99" "$srps" "$pp50" "$pp99" "$prps"
  done
done
echo
echo "Webhooks: a staff list of $EVENTS rows sends $EVENTS subscription.created to a local receiver (target: all within 10 s)"
printf '%-10s | %9s %10s %12s %10s\n' backend delivered "upload s" "last at s" "events/s"
for backend in sqlite postgres; do
  read -r got up last <<<"${RESULT[$backend,hooks]}"
  printf '%-10s | %9s %10s %12s %10s\n' "$backend" "$got" "$up" "$last" "$(rate "$got" "$last")"
done
echo
echo "Backlog: the receiver answers 503 for $OUTAGE s while $EVENTS events are caused (retries after $RETRY_SCHEDULE s)"
printf '%-10s | %9s %10s %10s %18s\n' backend delivered "not done" requests "drained after s"
for backend in sqlite postgres; do
  read -r got open requests drained <<<"${RESULT[$backend,outage]}"
  printf '%-10s | %9s %10s %10s %18s\n' "$backend" "$got" "$open" "$requests" "$drained"
done
