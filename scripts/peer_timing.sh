#!/usr/bin/env bash
# Installs the peers in a throwaway environment (dicompyler-core 0.5.6 with pydicom < 3 and
# scikit-image from PyPI into target/peer-venv; plastimatch from Debian) and times the whole
# dicompyler-core breast plan in sbrt-verify, plastimatch and dicompyler-core.
# Usage: scripts/peer_timing.sh [RUNS]   (SBRT_SHARED: the shared folder, default ../shared)
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED="${SBRT_SHARED:-../shared}"
RUNS="${1:-5}"
cargo build --release --quiet
VENV="$PWD/target/peer-venv"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check \
  "pydicom<3" "dicompyler-core==0.5.6" numpy matplotlib scikit-image
if ! command -v plastimatch >/dev/null; then
  apt-get update -qq && apt-get install -y -qq plastimatch >/dev/null
fi
[ -x /usr/bin/time ] || apt-get install -y -qq time >/dev/null || true
python3 scripts/peer_timing.py --bin target/release/sbrt-verify \
  --data "$SHARED/data/dicompyler-core" --python "$VENV/bin/python" --runs "$RUNS"
