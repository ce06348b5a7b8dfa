#!/usr/bin/env bash
# Burst measure of `sbrt-verify listen` on the loopback address: N distinct plan sets
# (copies of fixtures/trial_pass with new UIDs, linked), sent by N concurrent dcmtk
# storescu associations. Prints the objects/s of the burst, the seconds until every set
# is checked, and the listener's peak memory (GNU time). Needs dcmtk and /usr/bin/time.
# Usage: scripts/listen_burst.sh BIN [N]
set -euo pipefail
BIN="$1"
N="${2:-20}"
cd "$(dirname "$0")/.."
tmp="$(mktemp -d)"
pid=""
# The listener is the child of GNU time (which would not pass a SIGTERM on).
stop_listener() { [ -n "$pid" ] && kill -TERM $(pgrep -P "$pid") 2>/dev/null || true; }
trap 'stop_listener; rm -rf "$tmp"' EXIT
for i in $(seq 1 "$N"); do
  d="$tmp/sets/$i"
  mkdir -p "$d"
  cp fixtures/trial_pass/R?.dcm "$d/"
  p="2.25.9$i$RANDOM$RANDOM"; s="2.25.8$i$RANDOM$RANDOM"; r="2.25.7$i$RANDOM$RANDOM"
  dcmodify -nb -m "(0008,0018)=$p" -m "(300C,0060)[0].(0008,1155)=$s" "$d/RP.dcm"
  dcmodify -nb -m "(0008,0018)=$s" "$d/RS.dcm"
  dcmodify -nb -m "(0008,0018)=$r" -m "(300C,0002)[0].(0008,1155)=$p" "$d/RD.dcm"
done
/usr/bin/time -v -o "$tmp/time.txt" "$BIN" listen --port 0 --bind 127.0.0.1 \
  --ae-title SBRTQA --allow-ae TPS1 --out "$tmp/node" --max-associations 64 \
  >"$tmp/stdout" 2>"$tmp/stderr" &
pid=$!
while ! grep -q listening "$tmp/stdout" 2>/dev/null; do sleep 0.05; done
port="$(sed 's/.*://' "$tmp/stdout")"
start=$(date +%s.%N)
for i in $(seq 1 "$N"); do
  storescu -aet TPS1 -aec SBRTQA 127.0.0.1 "$port" "$tmp/sets/$i"/R?.dcm &
done
wait $(jobs -p | grep -v "^$pid$")
sent=$(date +%s.%N)
until [ "$(cat "$tmp/node/checks.jsonl" 2>/dev/null | wc -l)" -ge "$N" ]; do sleep 0.05; done
checked=$(date +%s.%N)
stop_listener
wait "$pid" || true
pid=""
objects=$(ls "$tmp/node/incoming" | wc -l)
pass=$(grep -c '"verdict":"PASS"' "$tmp/node/checks.jsonl")
python3 - "$start" "$sent" "$checked" "$objects" "$pass" "$N" <<'PY'
import sys
start, sent, checked = map(float, sys.argv[1:4])
objects, passed, n = map(int, sys.argv[4:7])
print(f"{n} associations, {objects} objects stored in {sent - start:.2f} s: "
      f"{objects / (sent - start):.1f} objects/s")
print(f"all {n} sets checked {checked - start:.2f} s after the start ({passed} PASS)")
PY
grep -E "Maximum resident set size" "$tmp/time.txt"
