#!/usr/bin/env bash
# Live streams (speaker_stream) under load: N clients at once each stream the same test
# conversation (awb, slt, then ked who is not enrolled, with pauses) at real-time pace. Reports,
# per N, the latency from a new speaker's first word to the first speaker event naming them
# (p50, p90, max over every turn of every client), the share of turns named right, and the gap
# between speaker events; then, on one stream, the same latency for changes of speaker with no
# pause between the voices. The release server uses all cores for the embedding workers.
#
# Usage: scripts/bench-stream.sh [N ...]      (default: 1 8 32)
set -euo pipefail
cd "$(dirname "$0")/.."
counts=("${@:-1 8 32}")
# shellcheck disable=SC2206
counts=(${counts[*]})

# All clients use the admin token: lift the per-token limit for the benchmark.
serve_flags=(--max-streams-per-token 1000)
source scripts/bench-server.sh

venv=.venv-compat
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/compat/requirements.txt

group=$(curl -sf -X POST "$base/v1/audio/voiceprint_groups" -H "$auth" -H 'Content-Type: application/json' \
  -d '{"name":"live"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["id"])')
for voice in flite-awb flite-slt; do
  curl -sf -o /dev/null -X POST "$base/v1/audio/voiceprint_groups/$group/features" -H "$auth" \
    -F "name=$voice" -F "file=@testdata/corpus/$voice/01.wav"
done
echo "$(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)); release build; one 25 s conversation per client, 3 turns"
echo
echo "| concurrent streams | first naming p50 | p90 | max | turns named right | speaker-event gap p50 | p99 |"
echo "|---|---|---|---|---|---|---|"
for n in "${counts[@]}"; do
  "$venv/bin/python" scripts/stream/load.py "$base" "$token" "$group" "$n"
done
echo
echo "| one stream, a change of speaker without a pause | first naming of the new voice |"
echo "|---|---|"
(cd scripts/stream && "../../$venv/bin/python" no_pause.py "$base" "$token" "$group")
