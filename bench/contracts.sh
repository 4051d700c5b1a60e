#!/usr/bin/env bash
# Company-portal benchmark (issue 8): GET /api/v1/contracts as an operator, at 8
# connections, on PostgreSQL and on SQLite, with 1,000 and with 100,000 contracts (over
# a fifth as many companies): the first page and a page near the end, the filters `q`,
# `customer_number` and `active=true`, and every sort column. Prints each case's p99
# at both sizes and their ratio (free-text `q` counts its matches up to
# SEARCH_COUNT_LIMIT), the first page and the two searches against pgbench running the
# same statements at the same concurrency, then POST /api/v1/customer-codes/check with
# 10,000 valid codes.
#
#   bench/contracts.sh   (BENCH_DATABASE_URL, BENCH_SECONDS, BENCH_PORT,
#                         BENCH_SMALL, BENCH_LARGE, BENCH_CODES to override)
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

# wrk output → "requests/s p50_ms p99_ms", counting only successful answers.
summarise() {
  awk '
    function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0; if (v ~ /s$/) return v*1000; return v }
    /^ +50%/ { p50 = ms($2) } /^ +99%/ { p99 = ms($2) }
    / requests in / { n = $1; secs = $4; sub(/s,?$/, "", secs) }
    /Non-2xx or 3xx responses/ { bad = $NF }
    END { printf "%.1f %.2f %.2f\n", (n - bad) / secs, p50, p99 }'
}

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
# without HTTP or JSON, the statements the server sends for a first page: the session
# lookup, the total (the kept counts; with `q` the matches counted up to
# SEARCH_COUNT_LIMIT + 1), and the page. Writes "name p50 p99 tps" per case to $2.
floor() { # url out
  local name sql session account filter total order
  read -r account session < <(psql "$1" -Atc "SELECT account_id || ' ' || id FROM sessions LIMIT 1")
  : >"$2"
  for name in "first page, sort=company_name" "q=mueller" "q=strasse 1"; do
    case "$name" in
      first*) filter=""; order="c.company_name ASC, c.id ASC"
              total="SELECT CAST(COALESCE(SUM(contracts), 0) AS BIGINT) FROM contract_counts" ;;
      *mueller*) filter="WHERE c.search_text LIKE '%mueller%' ESCAPE '\\'"; order="c.contract_number ASC, c.id ASC"
              total="SELECT 1 FROM company_contracts c $filter LIMIT 1001" ;;
      *) filter="WHERE c.search_text LIKE '%strasse 1%' ESCAPE '\\'"; order="c.contract_number ASC, c.id ASC"
              total="SELECT 1 FROM company_contracts c $filter LIMIT 1001" ;;
    esac
    sql="SELECT a.id, a.email, a.operator FROM accounts a JOIN sessions s ON s.account_id = a.id
           WHERE a.id = '$account' AND s.id = '$session' AND s.revoked_at IS NULL
             AND s.expires_at > now() LIMIT 1;
         $total;
         SELECT c.id, c.contract_number, c.company_id, c.company_name, co.customer_number,
                c.company_street, c.company_postal_code, c.company_city, c.product_offering,
                c.status, c.valid_from, c.valid_to
           FROM company_contracts c LEFT JOIN companies co ON co.id = c.company_id
           $filter ORDER BY $order LIMIT 25 OFFSET 0"
    echo "$sql;" >"$WORK/floor.sql"
    rm -f "$WORK"/pgbench_log.*
    (cd "$WORK" && pgbench -n -c "$CONNECTIONS" -j 2 -T "$SECONDS_PER_RUN" -f floor.sql -l "$1" >/dev/null 2>&1)
    # Per transaction: client, number, latency in µs, …
    cat "$WORK"/pgbench_log.* | awk '{ print $3 / 1000 }' | sort -n | awk -v name="$name" '
      { v[NR] = $1 } END { printf "%s|%.2f %.2f %.1f\n", name, v[int(NR * 0.5)], v[int(NR * 0.99)], NR / '"$SECONDS_PER_RUN"' }' >>"$2"
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
echo "Against the floor on PostgreSQL at $LARGE contracts: pgbench runs the same statements (session, total, page) at the same $CONNECTIONS connections"
echo "(targets: p99 ≤ 1.25 × pgbench's p99, throughput ≥ 50 % of pgbench's)"
printf '%-32s | %9s %9s %7s | %9s %9s %7s\n' case "p99 ms" "pgb p99" ratio "req/s" "pgb tps" share
while IFS='|' read -r name figures; do
  read -r _ fp99 ftps <<<"$figures"
  case "$name" in
    first*) wanted="sort=company_name, first page" ;;
    *mueller*) wanted="q=mueller (folded: Müller)" ;;
    *) wanted="q=strasse 1" ;;
  esac
  index=0
  for entry in "${CASES[@]}"; do
    index=$((index + 1))
    [ "${entry%%|*}" = "$wanted" ] && break
  done
  read -r sp99 srps < <(sed -n "${index}p" "$WORK/result-postgres-$LARGE")
  printf '%-32s | %9s %9s %7s | %9s %9s %6s%%\n' "$name" "$sp99" "$fp99" \
    "$(awk -v a="$sp99" -v b="$fp99" 'BEGIN { printf "%.2f", a / b }')" "$srps" "$ftps" \
    "$(awk -v a="$srps" -v b="$ftps" 'BEGIN { printf "%.0f", 100 * a / b }')"
done <"$WORK/floor"
echo
echo "POST /api/v1/customer-codes/check, $CODES valid codes, $CONNECTIONS connections (req/s p50 p99 ms)"
echo "  postgres: ${CHECK[postgres]}"
echo "  sqlite:   ${CHECK[sqlite]}"
