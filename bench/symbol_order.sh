#!/usr/bin/env bash
# Writes assets/symbol-order.txt: the functions a server runs, in two groups — those
# its start runs, then those typical requests run — for the linker to lay out first
# (build.rs passes the file to lld in release builds). Why: the kernel maps the 64 KiB
# around every page of code a process touches (fault-around), so the start of a
# 25 MB binary whose code is spread over it keeps ~15 MB of it resident; laid out
# together, the code a server runs fills a few megabytes.
#
# The functions are read from valgrind's callgrind (every function that ran, not a
# sample) over the release build, on a fresh PostgreSQL database and then on SQLite:
# dumped once the server is ready, and again after the requests. Each group lists
# PostgreSQL's functions before those only SQLite runs.
#
#   bench/symbol_order.sh      (BENCH_DATABASE_URL, BENCH_PORT to override; BENCH_BIN to
#                               read another build of the binary)
#
# Run it again when the dependencies or the request paths changed much: a function
# missing from the file is laid out after those in it, so a stale file costs memory,
# never correctness.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

ADMIN_URL=${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
PORT=${BENCH_PORT:-18084}
BASE="http://127.0.0.1:$PORT"
DB="fp_bench_order_$(date +%s)"
PASSWORD="Benchmark-Passwort-2026"
ORDER_FILE=assets/symbol-order.txt

need_tools valgrind callgrind_control nm psql curl python3

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

# verify_emails BACKEND DATABASE_URL: marks every account's address as verified.
verify_emails() {
  case $1 in
    postgres) psql "$2" -qc "UPDATE accounts SET email_verified_at = now() AT TIME ZONE 'UTC'" >/dev/null ;;
    sqlite) python3 -c 'import sqlite3, sys
with sqlite3.connect(sys.argv[1]) as db:
    db.execute("UPDATE accounts SET email_verified_at = CURRENT_TIMESTAMP")' "${2#sqlite://}" ;;
  esac
}

# profile BACKEND DATABASE_URL: the server under callgrind, dumped once it is ready
# (OUT.1: the start) and at its end (OUT: the requests since).
profile() {
  local backend=$1 url=$2 out="$WORK/callgrind-$1.out"
  # As bench/run.sh runs it (JSON access log at info level); valgrind runs the server
  # ~50 times slower, so the pools get time.
  env DATABASE_URL="$url" BIND_ADDR="127.0.0.1:$PORT" DATA_DIR="$WORK/$backend" \
    LOG_FORMAT=json RUST_LOG=info DATABASE_TIMEOUT_MS=60000 \
    METRICS_BIND_ADDR="127.0.0.1:$((PORT + 1))" \
    valgrind --tool=callgrind --callgrind-out-file="$out" \
    --dump-instr=no --compress-strings=no --compress-pos=no --demangle=no \
    "$BENCH_BIN" serve >"$WORK/server-$backend.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 600); do curl -fs "$BASE/health/ready" >/dev/null && break; sleep 0.5; done
  curl -fsS -o /dev/null "$BASE/health/ready"
  callgrind_control --dump=started "$SERVER_PID" >/dev/null

  # Typical requests: register, verify, log in, read one's own data and the lists, a
  # wrong password, an unknown path, bad JSON, the metrics.
  json() { curl -s -o /dev/null -H 'content-type: application/json' "$@"; }
  json -X POST "$BASE/api/v1/auth/register" \
    -d "{\"email\":\"bench@example.de\",\"password\":\"$PASSWORD\",\"password_confirmation\":\"$PASSWORD\",\"first_name\":\"Bench\",\"last_name\":\"Mark\"}"
  verify_emails "$backend" "$url"
  local token
  token=$(curl -fs -X POST "$BASE/api/v1/auth/login" -H 'content-type: application/json' \
    -d "{\"email\":\"bench@example.de\",\"password\":\"$PASSWORD\"}" | sed -E 's/.*"access_token":"([^"]+)".*/\1/')
  json -X POST "$BASE/api/v1/auth/login" -d '{"email":"bench@example.de","password":"falsch-falsch-1"}'
  for path in /api/v1/me /api/v1/me /api/v1/me/subscriptions /api/v1/me/applications \
    /api/v1/dashboard /api/v1/contracts /api/v1/nowhere /health/live; do
    curl -s -o /dev/null -H "Authorization: Bearer $token" "$BASE$path"
  done
  curl -s -o /dev/null "http://127.0.0.1:$((PORT + 1))/metrics"
  json -X PATCH -H "Authorization: Bearer $token" "$BASE/api/v1/me" -d '{"first_name":'
  json -X POST "$BASE/api/v1/auth/logout" -H "Authorization: Bearer $token" -d '{}'

  kill "$SERVER_PID"
  wait "$SERVER_PID" || true
  SERVER_PID=""
}

profile postgres "${ADMIN_URL%/*}/$DB"
mkdir -p "$WORK/sqlite"
profile sqlite "sqlite://$WORK/sqlite/firmenportal.db"

# The start on either database first, then the requests. Only the binary's own functions
# are kept (not the C library's).
nm --defined-only --print-size "$BENCH_BIN" | awk '$3 ~ /^[tT]$/ { print $4, $2 }' >"$WORK/defined"
python3 - "$ORDER_FILE" "$WORK/defined" "$WORK"/callgrind-{postgres,sqlite}.out <<'PY'
import sys

size = {}
for line in open(sys.argv[2], encoding="utf-8"):
    name, length = line.split()
    size[name] = int(length, 16)

def functions(paths):
    seen = {}
    for path in paths:
        with open(path, encoding="utf-8", errors="replace") as profile:
            for line in profile:
                name = line[3:].strip()
                if line.startswith("fn=") and name in size:
                    seen.setdefault(name, None)
    return list(seen)

start = functions(f"{out}.1" for out in sys.argv[3:])
started = set(start)
requests = [name for name in functions(sys.argv[3:]) if name not in started]
with open(sys.argv[1], "w", encoding="utf-8") as out:
    out.write("\n".join(start + requests) + "\n")
megabytes = lambda names: sum(size[name] for name in names) / 1e6
print(f"{sys.argv[1]}: {len(start)} functions of the start ({megabytes(start):.1f} MB), "
      f"{len(requests)} more of the requests ({megabytes(requests):.1f} MB), "
      f"of {megabytes(size):.1f} MB of code")
PY
