#!/usr/bin/env bash
# Runs the whole test suite from a fresh clone: unit tests and black-box HTTP tests of the real
# binary (cargo), then the compatibility tests with the official Coze Python SDK from PyPI.
# Installs what it needs (a virtual environment for the SDK) on first use.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo build" >&2
cargo build --locked --workspace --bins

echo "== cargo test" >&2
cargo test --locked --workspace

echo "== Coze SDK compatibility (cozepy, tests/compat)" >&2
venv=.venv-compat
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/compat/requirements.txt
VOXPRINT_BIN="$PWD/target/debug/voxprint" "$venv/bin/python" -m pytest -q -p no:cacheprovider tests/compat
