#!/usr/bin/env bash
# Orders benchmark (issue 10), on SQLite and on PostgreSQL, release build:
# - a staff list of BENCH_ROWS employees (default 10,000) uploaded once as CSV and once
#   as Excel (POST /api/v1/contracts/{id}/bulk-uploads, each under its own contract),
#   in rows per second against `firmenportal import` of the very same people (customers,
#   then subscriptions; target: the upload at ≥ 50 % of the subscription import's rate);
# - three hostile lists, each small as a file (an Excel sheet with cells at A1 and
#   XFD1048576, one with cells at A1 and Z1048576, a 5 MB CSV of one-character lines):
#   the time of each answer (target < 1 s) and how far the server's peak RSS grew while
#   it was read (VmHWM reset before each; target < 64 MB);
# - GET /api/v1/contracts/{id}/applications over BENCH_APPLICATIONS applications
#   (default 100,000) under one contract, at 8 connections (target p99 ≤ 25 ms), `q`
#   counted up to SEARCH_COUNT_LIMIT; the search on PostgreSQL against pgbench of the
#   server's own statements, taking turns ROUNDS times (target p99 ≤ 1.25 × pgbench's),
#   and with perf the ceiling the machine leaves it (bench/lib.sh's against_floor).
#
#   bench/orders.sh   (BENCH_DATABASE_URL, BENCH_SECONDS, BENCH_PORT, BENCH_ROWS,
#                      BENCH_APPLICATIONS, ROUNDS to override)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

ADMIN_URL=${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
SECONDS_PER_RUN=${BENCH_SECONDS:-5}
PORT=${BENCH_PORT:-18083}
ROWS=${BENCH_ROWS:-10000}
APPLICATIONS=${BENCH_APPLICATIONS:-100000}
BASE="http://127.0.0.1:$PORT"
PASSWORD="Benchmark-Passwort-2026"
CONNECTIONS=8

need_tools psql python3 curl

cargo build --release --quiet
BIN=$RELEASE_BIN
WORK=$(mktemp -d)
SERVER_PID=""
DATABASES=()
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  for db in "${DATABASES[@]}"; do
    psql "$ADMIN_URL" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

# Two months ahead is a start month every deadline allows.
START=$(python3 -c 'import datetime as d; t = d.date.today(); m = t.month + 1; print(f"{t.year + m // 12}-{m % 12 + 1:02d}")')
STAFF_LIST_BIN=$(bench_bin staff_list)
"$STAFF_LIST_BIN" "$WORK" "$ROWS" "$START"
printf 'customer_number,name,address_street,address_postal_code,address_city,address_country\nK-BENCH,Bench GmbH,Ständeplatz 1,34117,Kassel,DE\n' >"$WORK/companies.csv"
{
  echo "contract_number,company_customer_number,product_offering,status,valid_from"
  for number in FV-CSV FV-XLSX FV-IMPORT FV-APPS; do
    echo "$number,K-BENCH,D-Ticket Job (Rechnung),active,2023-01-01"
  done
} >"$WORK/contracts.csv"

seconds() { python3 -c 'import time; print(f"{time.monotonic():.3f}")'; }
timed() { # command…: prints the seconds it took
  local from to
  from=$(seconds); "$@" >/dev/null; to=$(seconds)
  awk -v a="$from" -v b="$to" 'BEGIN { printf "%.2f", b - a }'
}
per_second() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", n / s }'; }

# APPLICATIONS applications under FV-APPS from 1,000 accounts (each with one pending, the
# others decided), four last names, created a second apart.
applications_sql() { # backend
  local at date
  if [ "$1" = postgres ]; then
    at="TIMESTAMP '2026-01-01 00:00:00' + i * INTERVAL '1 second'"; date="DATE '$START-01'"
  else
    at="datetime('2026-01-01 00:00:00', '+' || i || ' seconds')"; date="'$START-01'"
  fi
  cat <<SQL
INSERT INTO accounts (id, email, password_hash, first_name, last_name, operator,
  email_verified_at, tokens_valid_after, created_at, updated_at)
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 999)
SELECT 'applicant-' || i, 'applicant' || i || '@example.de', 'x', 'Max', 'Muster', false,
  $at, $at, $at, $at FROM n;
INSERT INTO applications (id, account_id, contract_id, status, start_month, salutation, gender,
  first_name, last_name, birth_date, street, postal_code, city, country, phone, personnel_number,
  marketing_consent, search_text, created_at)
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < $((APPLICATIONS - 1)))
SELECT 'app-' || i, 'applicant-' || (i % 1000), (SELECT id FROM company_contracts WHERE contract_number = 'FV-APPS'),
  CASE WHEN i < 1000 THEN 'pending' WHEN i % 3 = 0 THEN 'approved' WHEN i % 3 = 1 THEN 'rejected' ELSE 'withdrawn' END,
  $date, 'mr', 'male', 'Max',
  CASE i % 4 WHEN 0 THEN 'Müller' || i WHEN 1 THEN 'Schmidt' || i WHEN 2 THEN 'Weiß' || i ELSE 'Becker' || i END,
  $date, 'Ständeplatz 1', '34117', 'Kassel', 'DE', NULL, 'P-' || i, false,
  'max ' || CASE i % 4 WHEN 0 THEN 'mueller' WHEN 1 THEN 'schmidt' WHEN 2 THEN 'weiss' ELSE 'becker' END || i || ' p-' || i,
  $at FROM n;
SQL
}

APP_CASES=(
  "first page (newest)|"
  "page near the end|page=END"
  "status=pending|status=pending"
  "q=mueller (folded: Müller)|q=mueller"
  "sort=last_name|sort=last_name"
  "sort=start_month desc|sort=start_month&order=desc"
)

declare -A RESULT
for backend in sqlite postgres; do
  dir="$WORK/$backend"; mkdir -p "$dir"
  if [ "$backend" = postgres ]; then
    db="fp_bench_orders_$(date +%s)"
    psql "$ADMIN_URL" -qc "CREATE DATABASE $db" >/dev/null
    DATABASES+=("$db")
    url="${ADMIN_URL%/*}/$db"
  else
    url="sqlite://$dir/bench.db"
  fi
  run() { DATABASE_URL="$url" DATA_DIR="$dir" RUST_LOG=warn "$BIN" "$@"; }
  run migrate >/dev/null
  run import companies "$WORK/companies.csv" >/dev/null
  run import contracts "$WORK/contracts.csv" >/dev/null
  printf '%s\n' "$PASSWORD" | run create-operator --email operator@example.de \
    --first-name Olga --last-name Operator >/dev/null
  RESULT[$backend,import_customers]=$(timed run import customers "$WORK/customers.csv")
  RESULT[$backend,import_subscriptions]=$(timed run import subscriptions "$WORK/subscriptions.csv")
  count_sql="SELECT count(*) FROM subscriptions WHERE contract_number LIKE 'IMP-T-%'"
  if [ "$backend" = postgres ]; then
    imported=$(psql "$url" -Atc "$count_sql")
  else
    imported=$(python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])' "$dir/bench.db" "$count_sql")
  fi
  [ "$imported" = "$ROWS" ] || { echo "the import stored $imported of $ROWS subscriptions" >&2; exit 1; }
  if [ "$backend" = postgres ]; then
    applications_sql postgres | psql -q "$url" >/dev/null
    psql "$url" -qc "VACUUM ANALYZE" -c "CHECKPOINT" >/dev/null
  else
    applications_sql sqlite | python3 -c 'import sqlite3, sys; db = sqlite3.connect(sys.argv[1]); db.executescript(sys.stdin.read()); db.close()' "$dir/bench.db"
  fi

  env DATABASE_URL="$url" DATA_DIR="$dir" BIND_ADDR="127.0.0.1:$PORT" RUST_LOG=warn \
    RATE_LIMIT_LOGIN_PER_IP=1000000 setsid "$BIN" serve >"$dir/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 100); do curl -fs "$BASE/health/ready" >/dev/null && break; sleep 0.1; done
  TOKEN=$(curl -fs -X POST "$BASE/api/v1/auth/login" -H 'content-type: application/json' \
    -d "{\"email\":\"operator@example.de\",\"password\":\"$PASSWORD\"}" | sed -E 's/.*"access_token":"([^"]+)".*/\1/')
  contract_id() {
    curl -fs "$BASE/api/v1/contracts?q=$1" -H "Authorization: Bearer $TOKEN" \
      | sed -E 's/.*"items":\[\{"id":"([^"]+)".*/\1/'
  }
  for kind in csv xlsx; do
    id=$(contract_id "fv-$kind")
    out="$dir/upload-$kind.json"
    took=$(curl -fs -o "$out" -w '%{time_total}' -X POST "$BASE/api/v1/contracts/$id/bulk-uploads" \
      -H "Authorization: Bearer $TOKEN" -F "file=@$WORK/staff.$kind")
    grep -q "\"created\":$ROWS" "$out" || { echo "upload of staff.$kind did not create $ROWS:" >&2; head -c 600 "$out" >&2; exit 1; }
    RESULT[$backend,upload_$kind]=$took
  done

  # The hostile lists: the answer's time and status, and the peak RSS growth while
  # the server read it (writing 5 to clear_refs resets VmHWM to the current RSS).
  hostile_id=$(contract_id fv-csv)
  for name in far.xlsx deep.xlsx flood.csv; do
    before=$(awk '/^VmRSS/ {print $2}' "/proc/$SERVER_PID/status")
    echo 5 >"/proc/$SERVER_PID/clear_refs"
    read -r status took < <(curl -s -o "$dir/hostile.json" -w '%{http_code} %{time_total}\n' \
      -X POST "$BASE/api/v1/contracts/$hostile_id/bulk-uploads" \
      -H "Authorization: Bearer $TOKEN" -F "file=@$WORK/$name")
    peak=$(awk '/^VmHWM/ {print $2}' "/proc/$SERVER_PID/status")
    code=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1])).get("code", "-"))' "$dir/hostile.json" 2>/dev/null || echo -)
    RESULT[$backend,hostile_$name]="$status ${code:--} $took $(awk -v a="$peak" -v b="$before" 'BEGIN { printf "%.1f", (a - b) / 1024 }')"
  done

  # The uploads queued a mail to every employee they ordered a ticket for; the outbox
  # worker would be sending them beside the list's measurement below. They are dropped.
  if [ "$backend" = postgres ]; then
    psql "$url" -qc "DELETE FROM email_outbox" >/dev/null
  else
    python3 -c 'import sqlite3, sys; db = sqlite3.connect(sys.argv[1]); db.execute("DELETE FROM email_outbox"); db.commit()' "$dir/bench.db"
  fi
  apps=$(contract_id fv-apps)
  total=$(curl -fs "$BASE/api/v1/contracts/$apps/applications?per_page=1" -H "Authorization: Bearer $TOKEN" \
    | sed -E 's/.*"total":([0-9]+).*/\1/')
  [ "$total" = "$APPLICATIONS" ] || { echo "expected $APPLICATIONS applications, the list has $total" >&2; exit 1; }
  last=$(( (total + 24) / 25 - 1 ))
  for entry in "${APP_CASES[@]}"; do
    query=${entry#*|}; query=${query//END/$last}
    path="$BASE/api/v1/contracts/$apps/applications?$query"
    wrk -t2 -c"$CONNECTIONS" -d1s -H "Authorization: Bearer $TOKEN" "$path" >/dev/null
    RESULT[$backend,${entry%%|*}]=$(wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" --latency \
      --timeout 10s -H "Authorization: Bearer $TOKEN" "$path" | summarise)
  done
  if [ "$backend" = postgres ]; then
    # The floor of the search's first page: pgbench runs the statements the server sends
    # for it, as diesel writes them, prepared as the server prepares them: the session
    # check, the contract (an operator sees every company), the matches counted up to
    # SEARCH_COUNT_LIMIT + 1 and the page; the list and pgbench take turns (ROUNDS).
    read -r account session < <(psql "$url" -Atc "SELECT account_id || ' ' || id FROM sessions LIMIT 1")
    columns=$(printf '"applications"."%s", ' id status start_month first_name last_name \
      personnel_number created_at decided_at decided_by rejection_reason)
    where='WHERE (("applications"."contract_id" = :contract) AND ("applications"."search_text" LIKE :pattern ESCAPE :escape))'
    cat >"$WORK/floor.sql" <<SQL
SELECT "accounts"."id", "accounts"."email", "accounts"."first_name", "accounts"."last_name", "accounts"."operator", "accounts"."email_verified_at", "accounts"."tokens_valid_after", "accounts"."created_at" FROM ("accounts" INNER JOIN "sessions" ON ("sessions"."account_id" = "accounts"."id")) WHERE (((("accounts"."id" = :account) AND ("sessions"."id" = :session)) AND ("sessions"."revoked_at" IS NULL)) AND ("sessions"."expires_at" > LOCALTIMESTAMP)) LIMIT :one;
SELECT "company_contracts"."id", "company_contracts"."contract_number", "company_contracts"."company_id", "company_contracts"."product_offering", "company_contracts"."status", "company_contracts"."valid_from", "company_contracts"."valid_to", "company_contracts"."updated_at", "company_contracts"."created_at", "company_contracts"."employer_share_kind", "company_contracts"."employer_share_value" FROM "company_contracts" WHERE ("company_contracts"."id" = :contract) LIMIT :one;
SELECT COUNT(*) FROM (SELECT 1 FROM "applications" $where LIMIT :cap) AS counted;
SELECT ${columns}"applications"."subscription_id" FROM "applications" $where ORDER BY "applications"."created_at" DESC, "applications"."id" DESC LIMIT :per_page OFFSET :zero;
SQL
    FLOOR=$(against_floor "$BASE/api/v1/contracts/$apps/applications?q=mueller" "$TOKEN" \
      "$CONNECTIONS" "$SECONDS_PER_RUN" "$url" "$WORK/floor.sql" "$SERVER_PID" -D account="$account" \
      -D session="$session" -D contract="$apps" -D pattern=%mueller% -D escape='\' -D one=1 \
      -D cap=1001 -D per_page=25 -D zero=0)
  fi
  kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
done

echo
echo "Staff list of $ROWS rows, $(nproc) cores (seconds, rows/s, share of the subscription import's rows/s; target ≥ 50 %)"
printf '%-38s | %8s %8s %6s | %8s %8s %6s\n' "" "sqlite s" "rows/s" "share" "pg s" "rows/s" "share"
for what in import_customers import_subscriptions upload_csv upload_xlsx; do
  line=$(printf '%-38s' "$what")
  for backend in sqlite postgres; do
    s=${RESULT[$backend,$what]}
    rps=$(per_second "$ROWS" "$s")
    base=$(per_second "$ROWS" "${RESULT[$backend,import_subscriptions]}")
    line+=$(printf ' | %8s %8s %5s%%' "$s" "$rps" "$(percent "$rps" "$base")")
  done
  echo "$line"
done
echo "(landed before the hardening, on a machine like this one: upload_csv 0.51 s / 0.76 s, upload_xlsx 0.61 s / 0.78 s on SQLite / PostgreSQL; target: at least as fast)"
echo
echo "Hostile staff lists (status, code, seconds, peak RSS growth in MB; target < 1 s and < 64 MB)"
printf '%-10s %9s | %-28s %6s %7s | %-28s %6s %7s\n' file bytes "sqlite" s MB "postgres" s MB
for name in far.xlsx deep.xlsx flood.csv; do
  read -r ss sc st sm <<<"${RESULT[sqlite,hostile_$name]}"
  read -r ps pc pt pm <<<"${RESULT[postgres,hostile_$name]}"
  printf '%-10s %9s | %-28s %6s %7s | %-28s %6s %7s\n' "$name" "$(stat -c %s "$WORK/$name")" \
    "$ss $sc" "$st" "$sm" "$ps $pc" "$pt" "$pm"
done
echo
echo "GET /api/v1/contracts/{id}/applications, $APPLICATIONS applications under the contract, $CONNECTIONS connections (target p99 ≤ 25 ms; q counted up to SEARCH_COUNT_LIMIT)"
printf '%-28s | %8s %8s %9s | %8s %8s %9s\n' "case" "sq p50" "sq p99" "sq req/s" "pg p50" "pg p99" "pg req/s"
for entry in "${APP_CASES[@]}"; do
  name=${entry%%|*}
  read -r srps sp50 sp99 <<<"${RESULT[sqlite,$name]}"
  read -r prps pp50 pp99 <<<"${RESULT[postgres,$name]}"
  printf '%-28s | %8s %8s %9s | %8s %8s %9s\n' "$name" "$sp50" "$sp99" "$srps" "$pp50" "$pp99" "$prps"
done
echo
echo "q=mueller on PostgreSQL against pgbench of the server's statements (prepared), taking turns, $CONNECTIONS connections"
echo "(targets: p99 ≤ 1.25 × pgbench's p99, throughput ≥ 50 % of pgbench's)"
printf '%-8s | %9s %9s | %9s %9s | %7s %6s\n' "" "req/s" "p99 ms" "pgb tps" "pgb p99" ratio share
while read -r what a b c d e f g h; do
  case "$what" in
    round) printf '%-8s | %9s %9s | %9s %9s | %7s %5s%%\n' "round $a" "$b" "$c" "$d" "$e" "$f" "$g" ;;
    median) printf '%-8s | %9s %9s | %9s %9s | %7s %5s%%\n' median "$d" "$a" "$e" "$b" "$c" "$f" ;;
    ceiling) print_ceiling 8 ceiling "$a" "$b" "$c" "$d" "$e" "$f" "$g" "$h" ;;
  esac
done <<<"$FLOOR"
