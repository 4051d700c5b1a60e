#!/usr/bin/env bash
# Load benchmark: release build on a fresh PostgreSQL database, driven by wrk.
# Prints login throughput against the physical bound (cores ÷ the time of one hash while
# every core hashes), GET /api/v1/me throughput against pgbench of the very SQL the
# bearer check runs, /me latency alone and during a login flood, and server memory.
#
#   bench/run.sh            (BENCH_DATABASE_URL, BENCH_SECONDS, BENCH_PORT and
#                            PASSWORD_HASHING_THREADS to override)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

ADMIN_URL=${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
SECONDS_PER_RUN=${BENCH_SECONDS:-10}
PORT=${BENCH_PORT:-18080}
CORES=$(nproc)
# Empty: the server's own default (every core hashes).
HASH_THREADS=${PASSWORD_HASHING_THREADS:-}
BASE="http://127.0.0.1:$PORT"
DB="fp_bench_$(date +%s)"
PASSWORD="Benchmark-Passwort-2026"

need_tools psql pgbench python3 curl

cargo build --release --quiet
ARGON2_BIN=$(bench_bin argon2_hash)
# One argon2id hash with the service's hasher on the otherwise idle machine (the server
# is up but idle), alone or with every core hashing at once: the latter is one of the
# two speeds the physical bound of logins may take (see below).
idle_hash_ms() { # [threads]: one hash alone, or as many at once
  ARGON2_BENCH_THREADS="${1:-1}" "$ARGON2_BIN" 2>/dev/null \
    | sed -nE 's/^median_ms=([0-9.]+).*/\1/p'
}

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
# latencies). setsid
# gives the server a scheduling group of its own, as a container or service unit has;
# otherwise the kernel's session autogroups would lump it together with wrk.
THREADS_SETTING=()
[ -n "$HASH_THREADS" ] && THREADS_SETTING=("PASSWORD_HASHING_THREADS=$HASH_THREADS")
env DATABASE_URL="$DB_URL" BIND_ADDR="127.0.0.1:$PORT" DATA_DIR="$DATA_DIR" LOG_FORMAT=json \
  RUST_LOG=info "${THREADS_SETTING[@]}" \
  RATE_LIMIT_LOGIN_PER_IP=1000000 RATE_LIMIT_LOGIN_PER_ACCOUNT=1000000 \
  setsid "$RELEASE_BIN" serve >"$DATA_DIR/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do curl -fs "$BASE/health/ready" >/dev/null && break; sleep 0.1; done
HASH_THREADS=$(python3 - "$DATA_DIR/server.log" <<'PY'
import json, sys
for line in open(sys.argv[1], encoding="utf-8"):
    try:
        entry = json.loads(line)
    except ValueError:
        continue
    if "threads" in entry and "hashing" in entry.get("message", ""):
        print(entry["threads"])
        break
PY
)

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$SERVER_PID/status"; }
# CPU time (clock ticks) the hashing threads have used so far.
hashing_ticks() {
  for task in /proc/"$SERVER_PID"/task/*; do
    case $(cat "$task/comm") in argon2-*) awk '{print $14 + $15}' "$task/stat" ;; esac
  done | awk '{ total += $1 } END { print total + 0 }'
}
hwm_kb() { awk '/^VmHWM/ {print $2}' "/proc/$SERVER_PID/status"; }
# CPU time (clock ticks) of the whole server, and of every PostgreSQL process (the
# backends, and the WAL writer and checkpointer that a login's writes keep busy).
server_ticks() { awk '{print $14 + $15}' "/proc/$SERVER_PID/stat"; }
postgres_ticks() {
  for pid in $(pgrep -x postgres); do cat "/proc/$pid/stat" 2>/dev/null; done \
    | awk '{ total += $14 + $15 } END { print total + 0 }'
}
# Sets the variable named $1 to the CPU seconds this shell's finished children have used
# (bash's `times`, which must run in this shell, not in a command substitution).
children_cpu_s() {
  times >"$DATA_DIR/times.txt"
  printf -v "$1" '%s' "$(awk 'NR == 2 { for (i = 1; i <= 2; i++) { split($i, t, /[ms]/); total += t[1] * 60 + t[2] } }
    END { printf "%.3f", total }' "$DATA_DIR/times.txt")"
}
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
python3 bench/memory.py "$SERVER_PID" >"$DATA_DIR/idle-memory.txt"

# `summarise` (bench/lib.sh) counts only successful answers: a 503 service_busy or a 429
# is no login.
me_load() { # connections [paced]: as fast as they go (two load threads, as pgbench
  # gets), or paced by bench/paced.lua (one)
  local script=() threads=2
  [ "${2:-}" = paced ] && script=(-s bench/paced.lua) && threads=1
  wrk -t"$threads" -c"$1" -d"${SECONDS_PER_RUN}s" --latency "${script[@]}" \
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

# Login throughput against the physical bound: every core computing one hash after
# the other at the speed of a hash while every core hashes. A default that leaves cores idle,
# or work around the hash that costs more than the hash, shows up as a shortfall.
# The machine's speed drifts by several per cent within minutes (the time of two hashes
# at once by up to a quarter): the idle hashes are timed right before and right after
# the login run, and their means taken.
IDLE_BEFORE=$(idle_hash_ms)
ALL_CORES_BEFORE=$(idle_hash_ms "$CORES")
TICKS_BEFORE=$(hashing_ticks)
SERVER_TICKS_BEFORE=$(server_ticks)
PG_TICKS_BEFORE=$(postgres_ticks)
children_cpu_s WRK_CPU_BEFORE
wrk -t2 -c32 -d"${SECONDS_PER_RUN}s" --latency -s bench/login.lua "$BASE/api/v1/auth/login" >"$DATA_DIR/login.txt"
children_cpu_s WRK_CPU_AFTER
TICKS_AFTER=$(hashing_ticks)
SERVER_TICKS_AFTER=$(server_ticks)
PG_TICKS_AFTER=$(postgres_ticks)
read -r LOGIN_RPS _ _ < <(summarise <"$DATA_DIR/login.txt")
sleep 2 # let queued logins drain
IDLE_AFTER=$(idle_hash_ms)
ALL_CORES_AFTER=$(idle_hash_ms "$CORES")
[ -n "$IDLE_BEFORE" ] && [ -n "$IDLE_AFTER" ] || { echo "could not time one hash ($ARGON2_BIN)" >&2; exit 1; }
mean() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (a + b) / 2 }'; }
HASH_IDLE_MS=$(mean "$IDLE_BEFORE" "$IDLE_AFTER")
IDLE_ALL_CORES=$(mean "$ALL_CORES_BEFORE" "$ALL_CORES_AFTER")
HASHES=$(awk -v r="$LOGIN_RPS" -v s="$SECONDS_PER_RUN" 'BEGIN { printf "%d", r * s }')
HASH_MS=$(awk -v t=$((TICKS_AFTER - TICKS_BEFORE)) -v hz="$(getconf CLK_TCK)" -v n="$HASHES" \
  'BEGIN { printf "%.2f", t * 1000 / hz / n }')
# Where the rest of the run's CPU went, a login: the server's work besides the hash
# (HTTP, the JWT, its side of the SQL), PostgreSQL's (the attempt counted, the session,
# audit entry and counters written and committed) and wrk's. A login cannot do without
# its writes, so the highest throughput the machine allows is the cores ÷ (one hash
# while every core hashes + PostgreSQL + wrk a login): the ceiling, were the server's
# own work free. Login / bound cannot come above ceiling / bound.
per_login_ms() { # ticks
  awk -v t="$1" -v hz="$(getconf CLK_TCK)" -v n="$HASHES" 'BEGIN { printf "%.2f", t * 1000 / hz / n }'
}
SERVER_OTHER_MS=$(per_login_ms $((SERVER_TICKS_AFTER - SERVER_TICKS_BEFORE - (TICKS_AFTER - TICKS_BEFORE))))
PG_MS=$(per_login_ms $((PG_TICKS_AFTER - PG_TICKS_BEFORE)))
WRK_MS=$(awk -v a="$WRK_CPU_BEFORE" -v b="$WRK_CPU_AFTER" -v n="$HASHES" 'BEGIN { printf "%.2f", (b - a) * 1000 / n }')
# The bound: every core hashing, each at the speed of a hash while every core hashes
# (the cores share the memory bus and caches, so that is the speed they can have). Two
# measures of that speed: hashes started together on the idle machine (wall time), and
# the CPU the server's hashing threads spent a hash during the login run. The faster
# one is the bound. On some hosts the run's hashes are the faster: there the other
# cores do lighter work (HTTP, SQL) part of the time, and a hash beside that runs
# quicker than beside another hash. A bound from the idle figure alone could then be
# beaten, and would be no bound; one from the run's own CPU a hash cannot be, since
# logins × that CPU cannot exceed the cores.
read -r BOUND_HASH_MS BOUND_FROM < <(awk -v idle="$IDLE_ALL_CORES" -v run="$HASH_MS" \
  'BEGIN { if (run > 0 && run < idle) print run, "login run"; else print idle, "idle" }')
BOUND=$(awk -v c="$CORES" -v p="$BOUND_HASH_MS" 'BEGIN { printf "%.1f", c * 1000 / p }')
RATIO=$(percent "$LOGIN_RPS" "$BOUND")
LOGIN_CEILING=$(awk -v c="$CORES" -v h="$BOUND_HASH_MS" -v p="$PG_MS" -v w="$WRK_MS" \
  'BEGIN { printf "%.1f", c * 1000 / (h + p + w) }')
CEILING_RATIO=$(percent "$LOGIN_CEILING" "$BOUND")

# GET /me at a steady load (4 paced connections, several hundred requests a second),
# alone and during a login flood: the latency users see while logins are hammered.
read -r STEADY_RPS STEADY_P50 STEADY_P99 < <(me_load 4 paced)
flood_start
read -r FLOOD_RPS FLOOD_P50 FLOOD_P99 < <(me_load 4 paced)
FLOOD_TO=$(now)
wait "$FLOOD"
read -r FLOOD_LOGIN_RPS _ _ < <(summarise <"$DATA_DIR/flood.txt")
# Server-side: from the request entering the middleware to its response (access log).
read -r SERVER_P50 SERVER_P99 _ _ < <(python3 bench/log_stats.py "$DATA_DIR/server.log" "$FLOOD_FROM" "$FLOOD_TO" me)
sleep 2

# GET /me as fast as 32 connections go, against pgbench running the very statement the
# bearer check sent (read back from pg_stat_activity) at its best number of clients:
# what the database alone can answer on this machine is the bound of the read path.
read -r MAX_RPS MAX_P50 MAX_P99 < <(me_load 32)
ME_SQL=$(psql "$DB_URL" -Atc "SELECT query FROM pg_stat_activity WHERE datname = '$DB' AND query LIKE 'SELECT%FROM%sessions%' AND query NOT LIKE '%pg_stat_activity%' LIMIT 1")
ACCOUNT_ID=$(psql "$DB_URL" -Atc "SELECT id FROM accounts LIMIT 1")
SESSION_ID=$(psql "$DB_URL" -Atc "SELECT id FROM sessions WHERE revoked_at IS NULL ORDER BY created_at LIMIT 1")
echo "${ME_SQL};" | sed -e 's/\$1/:account_id/; s/\$2/:session_id/; s/\$3/:now/; s/\$4/:limit/' >"$DATA_DIR/me.sql"
# pgbench's best over its number of clients (bench/lib.sh's pgbench_best), and at 32.
read -r PG_BEST_TPS PG_BEST_CLIENTS PG_TPS < <(pgbench_best "$SECONDS_PER_RUN" "$DATA_DIR/me.sql" "$DB_URL" \
  -D account_id="$ACCOUNT_ID" -D session_id="$SESSION_ID" \
  -D now="$(date -u '+%Y-%m-%d %H:%M:%S')" -D limit=1)
ME_SHARE=$(percent "$MAX_RPS" "$PG_BEST_TPS")
ME_SHARE_32=$(percent "$MAX_RPS" "$PG_TPS")
flood_start
read -r MAX_FLOOD_RPS MAX_FLOOD_P50 MAX_FLOOD_P99 < <(me_load 4)
FLOOD_TO=$(now)
wait "$FLOOD"
read -r _ MAX_SERVER_P99 _ _ < <(python3 bench/log_stats.py "$DATA_DIR/server.log" "$FLOOD_FROM" "$FLOOD_TO" me)
PEAK_KB=$(hwm_kb)

row() { printf '%-50s %11s %-3s %9s\n' "$@"; }
echo
echo "Firmenportal benchmark — $CORES cores, ${HASH_THREADS:-?} hashing threads, ${SECONDS_PER_RUN}s per run, PostgreSQL"
row "measure" "value" "" "target"
row "--------------------------------------------------" "-----------" "" "---------"
row "one argon2id hash, idle machine (median)" "$HASH_IDLE_MS" ms ""
row "  before / after the login run" "$IDLE_BEFORE / $IDLE_AFTER" ms ""
row "one argon2id hash, $CORES at once, idle machine" "$IDLE_ALL_CORES" ms ""
row "  before / after the login run" "$ALL_CORES_BEFORE / $ALL_CORES_AFTER" ms ""
row "one argon2id hash during the login run (CPU, mean)" "$HASH_MS" ms ""
row "physical bound (cores ÷ one hash, every core hashing)" "$BOUND" /s ""
row "  its hash: the faster, idle ($CORES at once) or login run" "$BOUND_FROM" "" ""
row "login throughput (32 connections)" "$LOGIN_RPS" /s ""
row "login throughput / physical bound" "$RATIO" % "≥ 90 %"
row "  CPU a login: hashing / the server's other work" "$HASH_MS / $SERVER_OTHER_MS" ms ""
row "  CPU a login: PostgreSQL / wrk" "$PG_MS / $WRK_MS" ms ""
row "  ceiling: cores ÷ (one hash, every core hashing + PostgreSQL + wrk)" "$LOGIN_CEILING" /s ""
row "  ceiling / physical bound: the highest the ratio can be" "$CEILING_RATIO" % ""
row "one login alone, p50" "$SEQ_P50" ms ""
row "GET /me steady load alone" "$STEADY_RPS" /s ""
row "  p50 / p99" "$STEADY_P50 / $STEADY_P99" ms ""
row "GET /me steady load during a login flood" "$FLOOD_RPS" /s ""
row "  p50" "$FLOOD_P50" ms ""
row "  p99" "$FLOOD_P99" ms "≤ 25 ms"
row "  server-side p50 / p99 (access log)" "$SERVER_P50 / $SERVER_P99" ms ""
row "  logins meanwhile (64 connections)" "$FLOOD_LOGIN_RPS" /s ""
row "GET /me max throughput (32 connections)" "$MAX_RPS" /s ""
row "  p50 / p99" "$MAX_P50 / $MAX_P99" ms ""
row "pgbench, the bearer check's SQL, its best ($PG_BEST_CLIENTS clients)" "$PG_BEST_TPS" tps ""
row "  at 32 clients" "$PG_TPS" tps ""
row "GET /me / pgbench's best" "$ME_SHARE" % "≥ 60 %"
row "  / pgbench at 32 clients" "$ME_SHARE_32" % ""
row "GET /me max throughput during a flood (4 conn.)" "$MAX_FLOOD_RPS" /s ""
row "  p50 / p99" "$MAX_FLOOD_P50 / $MAX_FLOOD_P99" ms ""
row "  server-side p99 (access log)" "$MAX_SERVER_P99" ms ""
row "server RSS idle" "$(mb "$IDLE_KB")" MB "≤ 25 MB"
idle_part() { mb "$(awk -v key="$1" '$1 == key { print $2 }' "$DATA_DIR/idle-memory.txt")"; }
row "  the binary's own pages" "$(idle_part binary)" MB ""
# The binary's pages at rest depend on build.rs having laid the code a server runs out
# first; names the order file lists that the build does not have (a dependency added or
# updated changes its crate's symbol hashes) are skipped silently, so say how many match.
ORDER_FOUND=$(python3 - "$RELEASE_BIN" assets/symbol-order.txt <<'PY'
import subprocess, sys
defined = set(subprocess.run(["nm", "--defined-only", "--format=just-symbols", sys.argv[1]],
                             capture_output=True, text=True, check=True).stdout.split())
wanted = open(sys.argv[2], encoding="utf-8").read().split()
print(f"{100 * sum(name in defined for name in wanted) / max(len(wanted), 1):.0f}")
PY
)
row "    order file's functions in this build (bench/symbol_order.sh)" "$ORDER_FOUND" % ""
row "    of them written (relocations, statics)" "$(idle_part binary_written)" MB ""
row "  shared libraries" "$(idle_part libraries)" MB ""
row "  main heap" "$(idle_part heap)" MB ""
row "  other anonymous (thread arenas, stacks, large blocks)" "$(idle_part anonymous)" MB ""
row "  threads" "$(awk '$1 == "threads" { print $2 }' "$DATA_DIR/idle-memory.txt")" "" ""
row "server RSS peak (VmHWM)" "$(mb "$PEAK_KB")" MB "≤ 64 MB"
echo "($HASHES logins in the login run; kernel session autogroups: $(cat /proc/sys/kernel/sched_autogroup_enabled 2>/dev/null || echo n/a))"
