#!/usr/bin/env bash
# Benchmark of the list endpoint (GET /v1/audio/voiceprint_groups) for a team with 1000 groups,
# at page_size 10 and 200, next to the trivial /healthz route of the same server in the same
# run. Load generator: wrk on loopback. Prints a Markdown table for BENCHMARKS.md.
#
# Usage: scripts/bench-list.sh [seconds per run, default 10] [connections, default 16]
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-10}
connections=${2:-16}

source scripts/bench-server.sh

echo "creating 1000 groups…" >&2
for i in $(seq 1000); do
  printf '{"name":"group %04d","desc":"benchmark group %d"}\n' "$i" "$i"
done | while read -r body; do
  curl -sf -o /dev/null -X POST "$base/v1/audio/voiceprint_groups" \
    -H "$auth" -H 'Content-Type: application/json' -d "$body"
done

# On PostgreSQL, the statistics autovacuum gathers within a minute on a live database. Without
# them the planner guesses 4 matching groups, scans all 1000 and sorts them for every page.
if [ -n "${VOXPRINT_DATABASE_URL:-}" ]; then
  psql -q "$VOXPRINT_DATABASE_URL" -c ANALYZE
fi

run() { # label path
  local result
  result=$(wrk -t1 -c"$connections" -d"${duration}s" --latency -H "$auth" "$base$2")
  local rps p50 p99
  rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$result")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$result")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$result")
  if grep -q "Non-2xx" <<<"$result"; then echo "error: non-2xx responses for $2" >&2; exit 1; fi
  echo "$1|$rps|$p50|$p99"
}

trivial=$(run "GET /healthz (trivial route)" /healthz)
small=$(run "list, page_size=10" "/v1/audio/voiceprint_groups?page_size=10")
large=$(run "list, page_size=200" "/v1/audio/voiceprint_groups?page_size=200")
trivial_rps=$(cut -d'|' -f2 <<<"$trivial")

echo "wrk -t1 -c$connections -d${duration}s on loopback; $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)); team with 1000 groups"
echo
echo "| route | requests/s | p50 | p99 | requests/s vs trivial route |"
echo "|---|---|---|---|---|"
for row in "$trivial" "$small" "$large"; do
  IFS='|' read -r label rps p50 p99 <<<"$row"
  ratio=$(awk -v a="$rps" -v b="$trivial_rps" 'BEGIN { printf "%.2f", a / b }')
  echo "| $label | $rps | $p50 | $p99 | $ratio |"
done
