#!/usr/bin/env bash
# Runs the whole test suite from a fresh clone: unit tests, engine parity and black-box HTTP
# tests of the real binary (cargo), then the compatibility tests with the official Coze Python
# SDK from PyPI. Installs what it needs on first use: the speaker model (`voxprint model fetch`,
# from PyPI with pip) and a virtual environment for the SDK.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo build" >&2
cargo build --locked --workspace --bins

echo "== speaker model" >&2
target/debug/voxprint model fetch

echo "== cargo test" >&2
cargo test --locked --workspace

echo "== Coze SDK compatibility (cozepy, tests/compat)" >&2
venv=.venv-compat
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/compat/requirements.txt
VOXPRINT_BIN="$PWD/target/debug/voxprint" "$venv/bin/python" -m pytest -q -p no:cacheprovider tests/compat
