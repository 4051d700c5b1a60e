# Shared by the benchmarks (sourced). The release binary's path, wherever the build
# goes: CARGO_TARGET_DIR or the build.target-dir of a cargo config, as cargo reports it.
target_dir() {
  cargo metadata --format-version 1 --no-deps | sed -E 's/.*"target_directory":"([^"]*)".*/\1/'
}
RELEASE_BIN="$(target_dir)/release/firmenportal"

# A helper program of the benchmarks (a [[bench]] target) built with the release profile,
# sharing its build of the crate: prints the executable. Building a bench target makes
# cargo put a build of the server of its own at $RELEASE_BIN; the release build is put
# back, as only its function names match assets/symbol-order.txt (build.rs).
bench_bin() { # name
  local exe
  exe=$(cargo build --release --quiet --bench "$1" --message-format=json | python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == sys.argv[1]:
        print(m["executable"])' "$1" | tail -1)
  cargo build --release --quiet
  [ -x "$exe" ] || { echo "cannot build the benchmark helper $1" >&2; exit 1; }
  echo "$exe"
}

# wrk, installed from Debian's packages when missing, and the tools named, which must be
# there already.
need_tools() {
  if ! command -v wrk >/dev/null; then
    echo "installing wrk (Debian package)" >&2
    apt-get install -y -qq wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
  fi
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "$tool is needed" >&2; exit 1; }
  done
}

# Where the CPU went during a system-wide recording (`perf record -e cpu-clock -a -g`):
# perf_split.py's lines (CPU per request by program, the server's costliest functions,
# its time by library), the server's folded stacks written to FOLDED_OUT.
perf_split() { # recording requests server_pid folded_out
  perf script -i "$1" -F comm,pid,tid,period,ip,sym,dso 2>/dev/null |
    python3 bench/perf_split.py "$2" "$3" "$4" 5
}
# One figure of perf_split's lines: split_value program postgres FILE
split_value() { awk -v key="$1" -v name="$2" '$1 == key && $2 == name { print $3 }' "$3"; }
# The server's kernel time per request in perf_split's lines.
split_kernel() { awk '$1 == "dso" && $3 == "[kernel.kallsyms]" { print $2 }' "$1"; }

# The rate the machine could answer a request at were the server's own code free, from
# perf_split's lines of a recording under load: cores ÷ (PostgreSQL + the load generator
# (program wrk) + the server's kernel time, a request). What no server code can take away:
# its kernel time is its sockets and the wake-ups between them.
ceiling_of() { # split_file
  awk -v cores="$(nproc)" '
    $1 == "program" && $2 == "postgres" { p = $3 } $1 == "program" && $2 == "wrk" { w = $3 }
    $1 == "dso" && $3 == "[kernel.kallsyms]" { k = $2 }
    END { printf "%.0f\n", cores * 1000000 / (p + w + k) }' "$1"
}

# Whether perf can record the whole system here (installed, and allowed: root or
# kernel.perf_event_paranoid ≤ 0); the benches leave the profile out otherwise.
perf_usable() {
  command -v perf >/dev/null && perf record -q -e cpu-clock -a -o /dev/null -- true >/dev/null 2>&1
}

# wrk output → "requests/s p50_ms p99_ms", counting only successful answers.
summarise() {
  awk '
    function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0; if (v ~ /s$/) return v*1000; return v }
    /^ +50%/ { p50 = ms($2) } /^ +99%/ { p99 = ms($2) }
    / requests in / { n = $1; secs = $4; sub(/s,?$/, "", secs) }
    /Non-2xx or 3xx responses/ { bad = $NF }
    END { printf "%.1f %.2f %.2f\n", (n - bad) / secs, p50, p99 }'
}

# pgbench's best rate for a script, the floor of a read path's throughput: over 1, 2 and
# 4 clients a core, and 32. 32 backends taking turns on a few cores answer less than a
# few do (on 2 cores about half: the switches between them cost), while the server
# reaches PostgreSQL through its pool of a few connections. Prints "best_tps
# its_clients tps_at_32"; a run that fails counts 0 and says so on stderr.
#   pgbench_best SECONDS SCRIPT DB_URL [pgbench -D …]
pgbench_best() {
  local seconds=$1 script=$2 db=$3 cores clients tps at_32="" best=0 best_clients=0
  shift 3
  cores=$(nproc)
  for clients in 32 "$cores" $((2 * cores)) $((4 * cores)); do
    tps=$(pgbench -n -M prepared -c "$clients" -j "$((clients < 2 ? 1 : 2))" -T "$seconds" "$@" \
      -f "$script" "$db" 2>/dev/null | awk '/^tps/ { printf "%.1f", $3 }')
    if [ -z "$tps" ]; then
      echo "pgbench_best: pgbench at $clients clients failed ($script)" >&2
      tps=0
    fi
    [ -z "$at_32" ] && at_32=$tps
    if awk -v a="$tps" -v b="$best" 'BEGIN { exit !(a > b) }'; then
      best=$tps
      best_clients=$clients
    fi
  done
  echo "$best $best_clients $at_32"
}

# 100 × A ÷ B, rounded; "—" where B is 0 (a floor that failed to measure).
percent() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "—"; else printf "%.0f\n", 100 * a / b }'; }

# "transactions/s p50_ms p99_ms" of pgbench's per-transaction logs (-l) in a directory;
# the third column of each line is the transaction's latency in µs.
pgbench_log_stats() { # dir prefix seconds
  cat "$1/$2".* | awk '{ print $3 / 1000 }' | sort -n | awk -v s="$3" '
    { v[NR] = $1 } END { printf "%.1f %.2f %.2f\n", NR / s, v[int(NR * 0.5)], v[int(NR * 0.99)] }'
}

# The median of the numbers on stdin, one per line.
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# A list against its floor, taking turns: ROUNDS times (default 3) wrk on the URL, then
# pgbench of the server's statements for it, both at the same connections for the same
# seconds, so that a noisy minute on this host hits both. Prints one line per round
# ("round req/s p99 tps p99 ratio share") and then "median p99 pgb_p99 ratio req/s tps
# share", the ratio the median of the rounds' p99 ratios.
# With perf, one more run of each, recorded system-wide, gives what the machine leaves
# the list were the server's own code free: "ceiling rps lowest_ratio server kernel
# postgres wrk pg_per_tx pgbench_per_tx" (CPU in µs a request or transaction). The
# ceiling is cores ÷ (PostgreSQL + wrk + the kernel's work on the server's sockets, a
# request); at a fixed number of connections a request takes connections ÷ rate
# (Little's law), so the list's p99 cannot come below pgbench's × pgbench's rate ÷ the
# ceiling (lowest_ratio) on this machine, whatever the server's code does.
#   against_floor URL TOKEN CONNECTIONS SECONDS DB_URL SCRIPT SERVER_PID [pgbench -D …]
against_floor() {
  local url=$1 token=$2 connections=$3 seconds=$4 db=$5 script=$6 server_pid=$7 round
  local wrk_line pg_line
  shift 7
  local dir; dir=$(mktemp -d)
  for round in $(seq 1 "${ROUNDS:-3}"); do
    wrk_line=$(wrk -t2 -c"$connections" -d"${seconds}s" --latency --timeout 10s \
      -H "Authorization: Bearer $token" "$url" | summarise)
    rm -f "$dir"/floor.*
    (cd "$dir" && pgbench -n -M prepared -c "$connections" -j 2 -T "$seconds" -l \
      --log-prefix=floor "$@" -f "$script" "$db" >/dev/null 2>"$dir/err") ||
      { cat "$dir/err" "$script" >&2; return 1; }
    pg_line=$(pgbench_log_stats "$dir" floor "$seconds")
    read -r rps _ p99 <<<"$wrk_line"
    read -r tps _ pp99 <<<"$pg_line"
    awk -v r="$round" -v a="$rps" -v b="$p99" -v c="$tps" -v d="$pp99" \
      'BEGIN { printf "round %d %.1f %.2f %.1f %.2f %.2f %.0f\n", r, a, b, c, d, b / d, 100 * a / c }'
  done >"$dir/rounds"
  cat "$dir/rounds"
  local median_tps
  median_tps=$(awk '{ print $5 }' "$dir/rounds" | median)
  printf 'median %s %s %s %s %s %s\n' \
    "$(awk '{ print $4 }' "$dir/rounds" | median)" "$(awk '{ print $6 }' "$dir/rounds" | median)" \
    "$(awk '{ print $7 }' "$dir/rounds" | median)" "$(awk '{ print $3 }' "$dir/rounds" | median)" \
    "$median_tps" "$(awk '{ print $8 }' "$dir/rounds" | median)"
  if perf_usable; then
    perf record -q -e cpu-clock -F 999 -a -g -o "$dir/list.data" -- \
      wrk -t2 -c"$connections" -d"${seconds}s" -H "Authorization: Bearer $token" "$url" \
      >"$dir/list.txt" 2>/dev/null
    perf_split "$dir/list.data" "$(awk '/ requests in / { print $1 }' "$dir/list.txt")" \
      "$server_pid" "$dir/list.folded" >"$dir/list.split"
    (cd "$dir" && perf record -q -e cpu-clock -F 999 -a -g -o "$dir/pg.data" -- \
      pgbench -n -M prepared -c "$connections" -j 2 -T "$seconds" "$@" -f "$script" "$db" \
      >"$dir/pg.txt" 2>"$dir/err") || { cat "$dir/err" >&2; return 1; }
    perf_split "$dir/pg.data" "$(awk '/actually processed/ { print $NF }' "$dir/pg.txt")" \
      "$server_pid" "$dir/pg.folded" >"$dir/pg.split"
    local server kernel postgres wrk
    server=$(split_value program server "$dir/list.split")
    kernel=$(split_kernel "$dir/list.split")
    postgres=$(split_value program postgres "$dir/list.split")
    wrk=$(split_value program wrk "$dir/list.split")
    local ceiling; ceiling=$(ceiling_of "$dir/list.split")
    awk -v c="$ceiling" -v s="$server" -v k="${kernel:-0}" -v p="$postgres" -v w="$wrk" \
      -v tps="$median_tps" -v pp="$(split_value program postgres "$dir/pg.split")" \
      -v pb="$(split_value program pgbench "$dir/pg.split")" \
      'BEGIN { printf "ceiling %s %.2f %s %s %s %s %s %s\n", c, tps / c, s, k, p, w, pp, pb }'
  fi
  rm -rf "$dir"
}

# against_floor's ceiling line as a row of the scripts' floor tables (the ceiling in the
# req/s column, the lowest ratio in the ratio column) and the CPU it rests on.
#   print_ceiling WIDTH LABEL rps lowest server kernel postgres wrk pg_per_tx pgbench_per_tx
print_ceiling() {
  printf '%-*s | %9s %9s | %9s %9s | %7s\n' "$1" "$2" "$3" "" "" "" "$4"
  echo "  (the most this machine allows: cores ÷ (PostgreSQL $7 + wrk $8 + the server's kernel $6 µs a request)" \
    "= $3 req/s, so a p99 ≥ pgbench's × its rate ÷ that = $4 × at best; the server in all $5 µs a request," \
    "pgbench's transaction: PostgreSQL $9, pgbench ${10} µs)"
}
