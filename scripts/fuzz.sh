#!/usr/bin/env bash
# Fuzz sbrt-verify with cargo-fuzz (libFuzzer) on the stable toolchain.
#
#   scripts/fuzz.sh [TARGET...]            run each target (default: all five)
#
# Environment:
#   FUZZ_RUNS=N       stop each target after N executions (default 1000000)
#   FUZZ_TIME=S       ... or after S seconds (default: no time limit; with FUZZ_RUNS unset
#                     and FUZZ_TIME set, time alone decides)
#   SBRT_SHARED=DIR   the shared data folder with data/ (default ../shared)
#
# Seeds: the committed fixtures and, when present, ../shared/data, copied at run time into
# fuzz/corpus/TARGET (ignored by git; never commit the shared files). Crashes land in
# fuzz/artifacts/TARGET; each one fixed becomes a test in tests/it/regressions.rs.
#
# cargo-fuzz needs nightly-only rustc flags; RUSTC_BOOTSTRAP=1 lets the stable compiler
# accept them. No sanitizer (the code is safe Rust; the sanitizer would cost most of the
# speed), debug assertions on (integer overflow panics).
set -euo pipefail
cd "$(dirname "$0")/.."
export RUSTC_BOOTSTRAP=1
export RAYON_NUM_THREADS=1

command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
SHARED="${SBRT_SHARED:-../shared}/data"
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(ingest_dose ingest_struct ingest_plan constraint protocol)

seed() {
  local target="$1" dir="fuzz/corpus/$1"
  mkdir -p "$dir"
  case "$target" in
    ingest_dose)
      cp fixtures/small_sphere_steep/RD.dcm "$dir/fixture_small_sphere_steep_RD.dcm"
      [ -d "$SHARED" ] && for f in "$SHARED"/pydicom/rtdose*.dcm "$SHARED"/pydicom/badVR.dcm; do
        cp "$f" "$dir/pydicom_$(basename "$f")"; done ;;
    ingest_struct)
      cp fixtures/small_sphere_steep/RS.dcm "$dir/fixture_small_sphere_steep_RS.dcm"
      [ -d "$SHARED" ] && cp "$SHARED"/pydicom/rtstruct.dcm "$dir/pydicom_rtstruct.dcm" ;;
    ingest_plan)
      for c in fixtures/*/; do cp "$c/RP.dcm" "$dir/fixture_$(basename "$c")_RP.dcm"; done
      [ -d "$SHARED" ] && for f in "$SHARED"/pydicom/rtplan*.dcm "$SHARED"/pydicom/*NoMeta.dcm; do
        cp "$f" "$dir/pydicom_$(basename "$f")"; done ;;
    constraint)
      grep -hoE '^(query|comparator|limit) = "[^"]*"' src/protocol/builtin/*.toml \
        | paste -d ' ' - - - | sed -E 's/[a-z]+ = "([^"]*)"/\1/g' | sort -u \
        | awk -v d="$dir" '{ f = d "/builtin_" NR; print > f; close(f) }' ;;
    protocol)
      cp src/protocol/builtin/*.toml "$dir/" ;;
  esac
}

# Build once, then run the binaries directly (`cargo fuzz run` rebuilds with other flags to
# replay a crash).
cargo fuzz build --sanitizer none --debug-assertions
BIN_DIR="fuzz/target/$(rustc -vV | sed -n 's/^host: //p')/release"
status=0
for t in "${TARGETS[@]}"; do
  seed "$t"
  case "$t" in
    ingest_*) max_len=65536 ;;
    protocol) max_len=40000 ;;
    *) max_len=256 ;;
  esac
  limits=()
  if [ -n "${FUZZ_TIME:-}" ]; then limits+=("-max_total_time=$FUZZ_TIME"); fi
  if [ -n "${FUZZ_RUNS:-}" ] || [ -z "${FUZZ_TIME:-}" ]; then limits+=("-runs=${FUZZ_RUNS:-1000000}"); fi
  mkdir -p "fuzz/artifacts/$t"
  echo "== fuzz $t (${limits[*]})"
  "$BIN_DIR/$t" "fuzz/corpus/$t" -artifact_prefix="fuzz/artifacts/$t/" \
    -max_len="$max_len" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 "${limits[@]}" \
    || { echo "== fuzz $t: CRASH (see fuzz/artifacts/$t)"; status=1; }
done
exit $status
