#!/usr/bin/env bash
# The list and speaker_identify benchmarks on both deployments in one run, on the same machine:
# embedded (SQLite + directory) and scale-out (PostgreSQL + S3: a throwaway Debian PostgreSQL
# cluster and a one-node Garage on loopback, as the tests use). Each benchmark starts its own
# server on a fresh storage; the scale-out ones get a new database and bucket prefix. Prints the
# Markdown tables of scripts/bench-list.sh and scripts/bench-identify.sh for each deployment.
#
# Usage: scripts/bench-backends.sh [seconds per list run, default 10] [seconds per identify run, default 15]
set -euo pipefail
cd "$(dirname "$0")/.."
list_seconds=${1:-10}
identify_seconds=${2:-15}

scripts/postgres.sh install
scripts/garage.sh install
services=$(mktemp -d -t voxprint-bench.XXXXXX)
trap 'scripts/garage.sh stop "$services/garage" || true; scripts/postgres.sh stop "$services/postgres" || true; rm -rf "$services"' EXIT
postgres_env=$(scripts/postgres.sh start "$services/postgres")
garage_env=$(scripts/garage.sh start "$services/garage")
eval "$postgres_env"
eval "$garage_env"
export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_REGION AWS_ENDPOINT_URL AWS_ALLOW_HTTP

# Runs one benchmark script on a fresh scale-out storage (the server reads VOXPRINT_* settings).
scale_out() { # name script args…
  local name=$1
  shift
  psql -q "$VOXPRINT_TEST_POSTGRES" -c "CREATE DATABASE $name"
  VOXPRINT_DATABASE_URL="${VOXPRINT_TEST_POSTGRES%/*}/$name" VOXPRINT_BLOB_STORE="s3://$VOXPRINT_TEST_S3_BUCKET/$name" "$@"
}

echo "## list, embedded (SQLite)"
scripts/bench-list.sh "$list_seconds"
echo
echo "## list, scale-out (PostgreSQL $(psql -tA "$VOXPRINT_TEST_POSTGRES" -c 'SHOW server_version' | cut -d' ' -f1) + Garage)"
scale_out bench_list scripts/bench-list.sh "$list_seconds"
echo
echo "## speaker_identify, embedded (SQLite)"
scripts/bench-identify.sh "$identify_seconds"
echo
echo "## speaker_identify, scale-out (PostgreSQL + Garage)"
scale_out bench_identify scripts/bench-identify.sh "$identify_seconds"
