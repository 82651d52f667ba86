#!/usr/bin/env bash
# Creates (once) the dev-only Python environment with the reference implementation:
# Resemblyzer 0.1.4 and what it imports. Plain PyPI only; torch from PyPI is large but works on CPU.
# Prints the venv's python path. Usage: scripts/parity/venv.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
venv="$root/.venv-parity"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import resemblyzer, torch, librosa, webrtcvad" 2>/dev/null; then
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install -q --upgrade pip >&2
  "$venv/bin/pip" install -q "setuptools<70" wheel >&2
  "$venv/bin/pip" install -q resemblyzer==0.1.4 torch librosa webrtcvad "setuptools<70" >&2
fi
echo "$venv/bin/python"
