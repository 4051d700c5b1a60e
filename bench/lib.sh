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
