#!/usr/bin/env bash
# Benchmark of speaker_identify over HTTP on loopback: a group of 10 voiceprints, 5 s probe
# clips, 1, 4 and 16 concurrent clients (wrk, one connection per client). Prints a Markdown
# table for BENCHMARKS.md, and the time an enrollment took while the group was made.
#
# Usage: scripts/bench-identify.sh [seconds per run, default 15]
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-15}

source scripts/bench-server.sh

group=$(curl -sf -X POST "$base/v1/audio/voiceprint_groups" -H "$auth" -H 'Content-Type: application/json' \
  -d '{"name":"bench"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["id"])')
voices=(flite-awb flite-rms flite-slt flite-kal16 festival-ked festival-cs-dita festival-fi-mv festival-it-lp festival-ru-nsh espeak-en-us)
enroll_started=$(date +%s%N)
for voice in "${voices[@]}"; do
  curl -sf -o /dev/null -X POST "$base/v1/audio/voiceprint_groups/$group/features" -H "$auth" \
    -F "name=$voice" -F "file=@testdata/corpus/$voice/01.wav"
done
enroll_ms=$(( ($(date +%s%N) - enroll_started) / 1000000 / ${#voices[@]} ))

source scripts/identify-probe.sh

# Sanity check: the probe is identified as its speaker.
curl -sf -X POST "$base/v1/audio/voiceprint_groups/$group/speaker_identify" -H "$auth" -F "file=@$work/probe.wav" -F top_k=1 \
  | python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["feature_score_list"][0]; assert r["feature_name"]=="flite-slt", r; print("probe identified as", r["feature_name"], r["score"], file=sys.stderr)'

echo "wrk -t1 -d${duration}s on loopback; 10-voiceprint group; 5.0 s 16 kHz WAV probes; $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs))"
echo
echo "| concurrent clients | requests/s | audio seconds/s | p50 | p99 |"
echo "|---|---|---|---|---|"
for clients in 1 4 16; do
  result=$(wrk -t1 -c"$clients" -d"${duration}s" --timeout 30s --latency -s "$work/identify.lua" \
    "$base/v1/audio/voiceprint_groups/$group/speaker_identify")
  if grep -q "Non-2xx" <<<"$result"; then echo "error: non-2xx responses at $clients clients" >&2; echo "$result" >&2; exit 1; fi
  rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$result")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$result")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$result")
  echo "| $clients | $rps | $(awk -v r="$rps" 'BEGIN { printf "%.0f", r * 5 }') | $p50 | $p99 |"
done
echo
echo "Enrollment, one at a time (2.1–5.1 s recordings): $enroll_ms ms each."
