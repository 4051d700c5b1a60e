# Shared by the benchmarks (sourced). The release binary's path, wherever the build
# goes: CARGO_TARGET_DIR or the build.target-dir of a cargo config, as cargo reports it.
target_dir() {
  cargo metadata --format-version 1 --no-deps | sed -E 's/.*"target_directory":"([^"]*)".*/\1/'
}
RELEASE_BIN="$(target_dir)/release/firmenportal"
