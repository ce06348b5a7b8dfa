#!/usr/bin/env bash
# Runs two sbrt-verify binaries over every fixture and every ../shared/data plan folder and
# file (inspect, dvh and check, JSON) and lists the runs whose output or exit code differ.
# Usage: scripts/compare_outputs.sh OLD_BIN NEW_BIN [SHARED_DATA]
set -uo pipefail
old="$1"; new="$2"
cd "$(dirname "$0")/.."
data="${3:-../shared/data}"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
mapfile -t inputs < <( { ls -d fixtures/*/; find "$data" -name '*.dcm' -printf '%h\n' | sort -u; \
  find "$data/pydicom" -name '*.dcm'; } | sed 's:/$::' | sort -u)
runs=0; diffs=0
for input in "${inputs[@]}"; do
  for cmd in inspect dvh check; do
    runs=$((runs + 1))
    "$old" $cmd "$input" --format json >"$work/a" 2>"$work/ae"; a=$?
    "$new" $cmd "$input" --format json >"$work/b" 2>"$work/be"; b=$?
    if [ "$a" != "$b" ] || ! cmp -s "$work/a" "$work/b"; then
      diffs=$((diffs + 1))
      echo "DIFF $cmd $input (exit $a -> $b)"
    fi
  done
done
echo "$runs runs, $diffs differ"
