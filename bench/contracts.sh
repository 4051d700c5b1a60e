#!/usr/bin/env bash
# Company-portal benchmark (issue 8): GET /api/v1/contracts as an operator, at 8
# connections, on PostgreSQL and on SQLite, with 1,000 and with 100,000 contracts (over
# a fifth as many companies): the first page and a page near the end, the filters `q`,
# `customer_number` and `active=true`, and every sort column. Prints each case's p99
# at both sizes and their ratio (free-text `q` counts its matches up to
# SEARCH_COUNT_LIMIT), the first page and the two searches against pgbench running the
# same statements at the same concurrency (with perf, each with the ceiling the machine
# leaves it: bench/lib.sh's against_floor), then POST /api/v1/customer-codes/check with
# 10,000 valid codes.
#
#   bench/contracts.sh   (BENCH_DATABASE_URL, BENCH_SECONDS, BENCH_PORT,
#                         BENCH_SMALL, BENCH_LARGE, BENCH_CODES, ROUNDS to override)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

ADMIN_URL=${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
SECONDS_PER_RUN=${BENCH_SECONDS:-5}
PORT=${BENCH_PORT:-18082}
SMALL=${BENCH_SMALL:-1000}
LARGE=${BENCH_LARGE:-100000}
CODES=${BENCH_CODES:-10000}
BASE="http://127.0.0.1:$PORT"
PASSWORD="Benchmark-Passwort-2026"
CONNECTIONS=8

need_tools psql pgbench python3 curl

cargo build --release --quiet
BIN=$RELEASE_BIN
WORK=$(mktemp -d)
SERVER_PID=""
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  # load() runs in a command substitution: it names its databases in a file.
  [ -f "$WORK/databases" ] && while read -r db; do
    psql "$ADMIN_URL" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  done <"$WORK/databases"
  rm -rf "$WORK"
}
trap cleanup EXIT

# Loads one database with `contracts` contracts and `codes` customer codes; prints its URL.
load() { # backend size codes
  local backend=$1 size=$2 codes=$3 dir="$WORK/$1-$2" url
  mkdir -p "$dir"
  python3 bench/contract_data.py "$dir" $((size / 5)) "$size" "$codes"
  if [ "$backend" = postgres ]; then
    local db="fp_bench_contracts_${size}_$(date +%s)"
    psql "$ADMIN_URL" -qc "CREATE DATABASE $db" >/dev/null
    echo "$db" >>"$WORK/databases"
    url="${ADMIN_URL%/*}/$db"
  else
    url="sqlite://$dir/bench.db"
  fi
  DATABASE_URL="$url" DATA_DIR="$dir" RUST_LOG=warn "$BIN" migrate >/dev/null
  DATABASE_URL="$url" DATA_DIR="$dir" RUST_LOG=warn "$BIN" import companies "$dir/companies.csv" >/dev/null
  DATABASE_URL="$url" DATA_DIR="$dir" RUST_LOG=warn "$BIN" import contracts "$dir/contracts.csv" >/dev/null
  printf '%s\n' "$PASSWORD" | DATABASE_URL="$url" DATA_DIR="$dir" RUST_LOG=warn "$BIN" create-operator \
    --email operator@example.de --first-name Olga --last-name Operator >/dev/null
  python3 - "$backend" "$url" "$dir/codes.csv" <<'PY'
import subprocess, sys
backend, url, codes = sys.argv[1:]
rows = [line.strip().split(",") for line in open(codes) if line.strip()]
insert = ("INSERT INTO customer_codes (id, contract_id, code, valid_until, created_at) "
          "SELECT 'code-' || c.contract_number, c.id, '{code}', DATE '2099-12-31', CURRENT_TIMESTAMP "
          "FROM company_contracts c WHERE c.contract_number = '{number}';")
sql = "BEGIN;\n" + "\n".join(insert.format(code=code, number=number) for number, code in rows) + "\nCOMMIT;\n"
if backend == "postgres":
    subprocess.run(["psql", "-q", url], input=sql.replace("DATE '2099-12-31'", "'2099-12-31'::date"), text=True, check=True, stdout=subprocess.DEVNULL)
else:
    import sqlite3
    db = sqlite3.connect(url.removeprefix("sqlite://"))
    db.executescript(sql.replace("DATE '2099-12-31'", "'2099-12-31'").replace("CURRENT_TIMESTAMP", "strftime('%Y-%m-%d %H:%M:%f', 'now')"))
    db.close()
PY
  # The load's dirty pages are written now, not by a checkpoint during the measurement
  # (the 100,000-contract load fills about 500 MB of WAL, which starts one).
  [ "$backend" = postgres ] && psql "$url" -qc "VACUUM ANALYZE" -c "CHECKPOINT" >/dev/null
  cut -d, -f2 "$dir/codes.csv" >"$dir/codes.txt"
  echo "$url"
}

start() { # url dir
  env DATABASE_URL="$1" DATA_DIR="$2" BIND_ADDR="127.0.0.1:$PORT" RUST_LOG=warn \
    RATE_LIMIT_LOGIN_PER_IP=1000000 RATE_LIMIT_CODE_CHECK_PER_ACCOUNT=1000000 \
    RATE_LIMIT_CODE_CHECK_PER_IP=1000000 setsid "$BIN" serve >"$2/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 100); do curl -fs "$BASE/health/ready" >/dev/null && break; sleep 0.1; done
  TOKEN=$(curl -fs -X POST "$BASE/api/v1/auth/login" -H 'content-type: application/json' \
    -d "{\"email\":\"operator@example.de\",\"password\":\"$PASSWORD\"}" | sed -E 's/.*"access_token":"([^"]+)".*/\1/')
}

stop() {
  kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}

# The cases: a name and the query string; "END" stands for the page before the last.
CASES=(
  "first page|"
  "page near the end|page=END"
  "q=mueller (folded: Müller)|q=mueller"
  "q=strasse 1|q=strasse%201"
  "customer_number|customer_number=K-000123"
  "active=true|active=true"
)
for sort in contract_number company_name street postal_code city product_offering status valid_from; do
  CASES+=("sort=$sort, first page|sort=$sort&order=asc")
  CASES+=("sort=$sort desc, near the end|sort=$sort&order=desc&page=END")
done

# Runs every case against the started server; writes "p99 rps" per case to $1.
measure() { # out size
  local total last query
  total=$(curl -fs "$BASE/api/v1/contracts?per_page=1" -H "Authorization: Bearer $TOKEN" \
    | sed -E 's/.*"total":([0-9]+).*/\1/')
  last=$(( (total + 24) / 25 - 1 )); [ "$last" -lt 1 ] && last=1
  : >"$1"
  for entry in "${CASES[@]}"; do
    query=${entry#*|}; query=${query//END/$last}
    wrk -t2 -c"$CONNECTIONS" -d1s -H "Authorization: Bearer $TOKEN" "$BASE/api/v1/contracts?$query" >/dev/null
    read -r rps _ p99 < <(wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" --latency --timeout 10s \
      -H "Authorization: Bearer $TOKEN" "$BASE/api/v1/contracts?$query" | summarise)
    echo "$p99 $rps" >>"$1"
  done
}

# The physical floor: pgbench runs straight on the database, at the same 8 connections,
# without HTTP or JSON, the statements the server sends for a first page, as diesel
# writes them: the session check, the total (the kept counts; with `q` the matches
# counted up to SEARCH_COUNT_LIMIT + 1) and the page. Prepared as the server prepares
# them, but for the search's total, which the server has planned for each request (a
# common word walks, a rare one takes the trigram index): pgbench gets it with the
# pattern written in, planned once for it. The list and pgbench take turns (ROUNDS, bench/lib.sh's
# against_floor). Writes "name|round and median lines" per case to $2.
floor() { # url out
  local name query session account where total order columns pattern=""
  read -r account session < <(psql "$1" -Atc "SELECT account_id || ' ' || id FROM sessions LIMIT 1")
  columns=$(printf '"company_contracts"."%s", ' id contract_number company_id company_name)
  columns+='"companies"."customer_number", '
  columns+=$(printf '"company_contracts"."%s", ' company_street company_postal_code company_city \
    product_offering status valid_from)
  columns+='"company_contracts"."valid_to"'
  : >"$2"
  for name in "first page, sort=company_name" "q=mueller" "q=strasse 1"; do
    case "$name" in
      first*) query="sort=company_name&order=asc"; where=""
              order='"company_contracts"."company_name" ASC, "company_contracts"."id" ASC'
              total='SELECT CAST(COALESCE(SUM(contracts), 0) AS BIGINT) AS count FROM contract_counts' ;;
      *) pattern=${name#q=}; query="q=${pattern// /%20}"
         where='WHERE ("company_contracts"."search_text" LIKE :pattern ESCAPE :escape)'
         order='"company_contracts"."contract_number" ASC, "company_contracts"."id" ASC'
         total="SELECT COUNT(*) FROM (SELECT 1 FROM (\"company_contracts\" LEFT OUTER JOIN \"companies\" ON (\"company_contracts\".\"company_id\" = \"companies\".\"id\")) WHERE (\"company_contracts\".\"search_text\" LIKE '%$pattern%' ESCAPE '\\') LIMIT 1001) AS counted" ;;
    esac
    cat >"$WORK/floor.sql" <<SQL
SELECT "accounts"."id", "accounts"."email", "accounts"."first_name", "accounts"."last_name", "accounts"."operator", "accounts"."email_verified_at", "accounts"."tokens_valid_after", "accounts"."created_at" FROM ("accounts" INNER JOIN "sessions" ON ("sessions"."account_id" = "accounts"."id")) WHERE (((("accounts"."id" = :account) AND ("sessions"."id" = :session)) AND ("sessions"."revoked_at" IS NULL)) AND ("sessions"."expires_at" > LOCALTIMESTAMP)) LIMIT :one;
$total;
SELECT $columns FROM ("company_contracts" LEFT OUTER JOIN "companies" ON ("company_contracts"."company_id" = "companies"."id")) $where ORDER BY $order LIMIT :per_page OFFSET :zero;
SQL
    against_floor "$BASE/api/v1/contracts?$query" "$TOKEN" "$CONNECTIONS" "$SECONDS_PER_RUN" \
      "$1" "$WORK/floor.sql" "$SERVER_PID" -D account="$account" -D session="$session" -D one=1 \
      -D pattern="%${pattern:-}%" -D escape='\' -D per_page=25 -D zero=0 | sed "s/^/$name|/" >>"$2"
  done
}

declare -A CHECK
for backend in postgres sqlite; do
  for size in "$SMALL" "$LARGE"; do
    codes=0; [ "$size" = "$LARGE" ] && codes=$CODES
    echo "loading $backend with $size contracts" >&2
    url=$(load "$backend" "$size" "$codes")
    start "$url" "$WORK/$backend-$size"
    measure "$WORK/result-$backend-$size" "$size"
    if [ "$backend" = postgres ] && [ "$size" = "$LARGE" ]; then
      floor "$url" "$WORK/floor"
    fi
    if [ "$codes" -gt 0 ]; then
      CHECK[$backend]=$(CODES="$WORK/$backend-$size/codes.txt" TOKEN="$TOKEN" wrk -t2 -c"$CONNECTIONS" --timeout 10s \
        -d"${SECONDS_PER_RUN}s" --latency -s bench/code_check.lua "$BASE" | summarise)
    fi
    stop
  done
done

echo
echo "GET /api/v1/contracts as an operator, $CONNECTIONS connections, $(nproc) cores; p99 in ms (target ≤ 25; first pages and filters at $LARGE ≤ 2 × at $SMALL)"
printf '%-40s | %8s %8s %6s %8s | %8s %8s %6s %8s\n' case "pg $SMALL" "pg $LARGE" ratio "pg req/s" \
  "sq $SMALL" "sq $LARGE" ratio "sq req/s"
i=0
for entry in "${CASES[@]}"; do
  i=$((i + 1))
  read -r ps _ < <(sed -n "${i}p" "$WORK/result-postgres-$SMALL")
  read -r pl pr < <(sed -n "${i}p" "$WORK/result-postgres-$LARGE")
  read -r ss _ < <(sed -n "${i}p" "$WORK/result-sqlite-$SMALL")
  read -r sl sr < <(sed -n "${i}p" "$WORK/result-sqlite-$LARGE")
  printf '%-40s | %8s %8s %6s %8s | %8s %8s %6s %8s\n' "${entry%%|*}" "$ps" "$pl" \
    "$(awk -v a="$pl" -v b="$ps" 'BEGIN { printf "%.1f", a / b }')" "$pr" "$ss" "$sl" \
    "$(awk -v a="$sl" -v b="$ss" 'BEGIN { printf "%.1f", a / b }')" "$sr"
done
echo
echo "Against the floor on PostgreSQL at $LARGE contracts: pgbench of the server's statements (session, total, page) at the same $CONNECTIONS connections, taking turns"
echo "(targets: p99 ≤ 1.25 × pgbench's p99, throughput ≥ 50 % of pgbench's)"
printf '%-32s | %9s %9s | %9s %9s | %7s %6s\n' case "req/s" "p99 ms" "pgb tps" "pgb p99" ratio share
while IFS='|' read -r name line; do
  read -r what a b c d e f g h <<<"$line"
  case "$what" in
    round) printf '%-32s | %9s %9s | %9s %9s | %7s %5s%%\n' "$name, round $a" "$b" "$c" "$d" "$e" "$f" "$g" ;;
    median) printf '%-32s | %9s %9s | %9s %9s | %7s %5s%%\n' "$name, median" "$d" "$a" "$e" "$b" "$c" "$f" ;;
    ceiling) print_ceiling 32 "$name, ceiling" "$a" "$b" "$c" "$d" "$e" "$f" "$g" "$h" ;;
  esac
done <"$WORK/floor"
echo
echo "POST /api/v1/customer-codes/check, $CODES valid codes, $CONNECTIONS connections (req/s p50 p99 ms)"
echo "  postgres: ${CHECK[postgres]}"
echo "  sqlite:   ${CHECK[sqlite]}"
