#!/usr/bin/env bash
# Runs the whole test suite from a fresh clone, on both deployments:
#   embedded  — SQLite and an audio directory (the default);
#   scale-out — PostgreSQL and S3-compatible storage: a throwaway PostgreSQL cluster on loopback
#               (Debian's postgresql) and a one-node Garage (built from crates.io), both started
#               here and removed at the end.
# Unit tests, engine parity and the black-box HTTP tests of the real binary run with cargo, then a
# two-minute chaos test of the scale-out deployment (scripts/chaos.sh); the
# compatibility tests use the official Coze SDKs, Python's from PyPI (both deployments) and Node's
# from npm (embedded); the web console runs in headless Chromium. Installs what it needs on first
# use: the speaker model (`voxprint model fetch`), PostgreSQL, Chromium and a CJK font (apt, as
# root), Garage (cargo install), a virtual environment for the Python SDK, playwright-core and
# @coze/api (npm), cargo-deb (cargo install) for the Debian package, which is installed, run and
# purged (as root).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo build" >&2
cargo build --locked -p voxprint --bins

echo "== speaker model" >&2
target/debug/voxprint model fetch

echo "== Debian package: build, install, run as the service would, purge (scripts/test-package.sh)" >&2
scripts/test-package.sh

echo "== PostgreSQL and Garage (S3) for the scale-out deployment" >&2
scripts/postgres.sh install
scripts/garage.sh install
services=$(mktemp -d -t voxprint-services.XXXXXX)
stop_services() {
  scripts/garage.sh stop "$services/garage" || true
  scripts/postgres.sh stop "$services/postgres" || true
  rm -rf "$services"
}
trap stop_services EXIT
# Assignments first: a failing start then stops the script (`eval "$(…)"` would not).
postgres_env=$(scripts/postgres.sh start "$services/postgres")
garage_env=$(scripts/garage.sh start "$services/garage")
eval "$postgres_env"
eval "$garage_env"
export VOXPRINT_TEST_POSTGRES AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_REGION AWS_ENDPOINT_URL AWS_ALLOW_HTTP VOXPRINT_TEST_S3_BUCKET

# Tests that need the model, PostgreSQL, S3 or root are `#[ignore = "needs …"]` so that a bare
# `cargo test` passes on a fresh clone; here everything they need is ready, so they run too.
# The libraries first, then the server crate once per deployment. Both server runs select the same
# package, so the second reuses the first's build: `--workspace` there would unify the libraries'
# dev-dependency features into the server's dependencies and build every test binary twice.
echo "== cargo test, libraries (api, audio, engine, model)" >&2
cargo test --locked -p voxprint-api -p voxprint-audio -p voxprint-engine -p voxprint-model -- --include-ignored

echo "== cargo test, embedded deployment (SQLite + directory)" >&2
VOXPRINT_TEST_DEPLOYMENT=embedded cargo test --locked -p voxprint -- --include-ignored

echo "== cargo test, scale-out deployment (PostgreSQL + S3)" >&2
# The engine and audio crates do not touch storage.
VOXPRINT_TEST_DEPLOYMENT=scale-out cargo test --locked -p voxprint -- --include-ignored

echo "== chaos: two instances on PostgreSQL and S3 under load, one killed, PostgreSQL restarted (scripts/chaos.sh)" >&2
scripts/chaos.sh 120

echo "== web console in headless Chromium (tests/console)" >&2
# A CJK font too, so that the Simplified Chinese screenshots show glyphs instead of boxes
# (fonts-wqy-microhei: one 5 MB font; Noto CJK would be 90 MB).
console_packages=()
command -v chromium >/dev/null || console_packages+=(chromium)
[ -n "$(fc-list :lang=zh 2>/dev/null)" ] || console_packages+=(fonts-wqy-microhei)
if [ ${#console_packages[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && apt-get install -y -qq "${console_packages[@]}"
  else
    echo "the console test needs Debian's packages: sudo apt-get install ${console_packages[*]}" >&2
    exit 1
  fi
fi
(cd tests/console && npm ci --no-audit --no-fund --silent)
VOXPRINT_BIN="$PWD/target/debug/voxprint" node --test tests/console/

echo "== Coze SDK compatibility (@coze/api, tests/compat-node), embedded deployment" >&2
(cd tests/compat-node && npm ci --no-audit --no-fund --silent)
VOXPRINT_BIN="$PWD/target/debug/voxprint" node --test tests/compat-node/

venv=.venv-compat
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/compat/requirements.txt
for deployment in embedded scale-out; do
  echo "== Coze SDK compatibility (cozepy, tests/compat), $deployment deployment" >&2
  VOXPRINT_TEST_DEPLOYMENT=$deployment VOXPRINT_BIN="$PWD/target/debug/voxprint" \
    "$venv/bin/python" -m pytest -q -p no:cacheprovider tests/compat
done
