#!/usr/bin/env bash
# Regenerates crates/model/tests/data/parity-reference.json: Resemblyzer 0.1.4's own embeddings
# of testdata/parity/*.wav, one thread. Dev-only (downloads torch from PyPI on first use).
# Usage: scripts/parity/make-reference.sh [--dump DIR]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
python="$("$here/venv.sh")"
OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 exec "$python" "$here/make_reference.py" "$@"
