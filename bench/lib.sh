# Shared by the benchmarks (sourced). The release binary's path, wherever the build
# goes: CARGO_TARGET_DIR or the build.target-dir of a cargo config, as cargo reports it.
target_dir() {
  cargo metadata --format-version 1 --no-deps | sed -E 's/.*"target_directory":"([^"]*)".*/\1/'
}
RELEASE_BIN="$(target_dir)/release/firmenportal"

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
