#!/usr/bin/env bash
# speaker_identify on a group of 10,000 voiceprints, next to a group of 10 in the same run and
# the same server: latency (p50, p99) at 1 and 4 clients asking for the best 10, the time to load the large group into
# the cache, and the memory one cached voiceprint takes. Prints a Markdown table for
# BENCHMARKS.md.
#
# Enrolling 10,000 recordings through the API would take hours (ten conditions each), so ten
# voices are enrolled for real and their stored rows copied under new IDs and names straight
# into the SQLite file while the server runs (WAL allows it); the group's version is then moved
# as an enrollment moves it, so the server reloads the group as it would after real writes.
# Copies score exactly as much as real voiceprints: scoring reads only the rows.
#
# Usage: scripts/bench-scale.sh [seconds per run, default 10] [voiceprints, default 10000]
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-10}
size=${2:-10000}

serve_flags=(--max-voiceprints-per-group "$size")
source scripts/bench-server.sh

new_group() {
  curl -sf -X POST "$base/v1/audio/voiceprint_groups" -H "$auth" -H 'Content-Type: application/json' \
    -d "{\"name\":\"$1\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["id"])'
}
small=$(new_group small)
large=$(new_group large)
voices=(flite-awb flite-rms flite-slt flite-kal16 festival-ked festival-cs-dita festival-fi-mv festival-it-lp festival-ru-nsh espeak-en-us)
echo "enrolling ${#voices[@]} voices in both groups…" >&2
for group in "$small" "$large"; do
  for voice in "${voices[@]}"; do
    curl -sf -o /dev/null -X POST "$base/v1/audio/voiceprint_groups/$group/features" -H "$auth" \
      -F "name=$voice" -F "file=@testdata/corpus/$voice/01.wav"
  done
done

echo "copying the large group's voiceprints up to $size…" >&2
python3 - "$work/data/voxprint.db" "$large" "$size" <<'PY'
import sqlite3, sys
db, group, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
con = sqlite3.connect(db, timeout=30)
columns = [row[1] for row in con.execute("PRAGMA table_info(voiceprints)") if row[1] not in ("id", "name")]
originals = [row[0] for row in con.execute("SELECT id FROM voiceprints WHERE group_id = ? ORDER BY id", (group,))]
next_id = con.execute("SELECT MAX(id) FROM voiceprints").fetchone()[0] + 1
cols = ", ".join(columns)
with con:
    for n in range(size - len(originals)):
        con.execute(
            f"INSERT INTO voiceprints (id, name, {cols}) SELECT ?, name || ' copy ' || ?, {cols} FROM voiceprints WHERE id = ?",
            (next_id + n, n, originals[n % len(originals)]),
        )
    con.execute("UPDATE voiceprint_groups SET voiceprints_version = voiceprints_version + 1 WHERE id = ?", (group,))
count = con.execute("SELECT COUNT(*) FROM voiceprints WHERE group_id = ?", (group,)).fetchone()[0]
assert count == size, count
PY

# top_k=10, as a client asks for the best few: without it the answer lists every voiceprint.
probe_top_k=10
source scripts/identify-probe.sh

rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$server/status"; }
metric() { curl -sf "$base/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
identify() { # group → the best match's name, checked
  curl -sf -X POST "$base/v1/audio/voiceprint_groups/$1/speaker_identify" -H "$auth" -F "file=@$work/probe.wav" -F top_k=1 \
    | python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["feature_score_list"][0]; assert r["feature_name"].startswith("flite-slt"), r'
}

identify "$small"
rss_before=$(rss_kib)
bytes_before=$(metric voxprint_embedding_cache_bytes)
load_started=$(date +%s%N)
identify "$large"
load_ms=$(( ($(date +%s%N) - load_started) / 1000000 ))
rss_after=$(rss_kib)
bytes_after=$(metric voxprint_embedding_cache_bytes)
per_voiceprint_cache=$(awk -v a="$bytes_after" -v b="$bytes_before" -v n="$size" 'BEGIN { printf "%.0f", (a - b) / (n - 10) }')
per_voiceprint_rss=$(awk -v a="$rss_after" -v b="$rss_before" -v n="$size" 'BEGIN { printf "%.0f", (a - b) * 1024 / (n - 10) }')

run() { # group clients → "rps|p50|p99"
  local result
  result=$(wrk -t1 -c"$2" -d"${duration}s" --timeout 30s --latency -s "$work/identify.lua" \
    "$base/v1/audio/voiceprint_groups/$1/speaker_identify")
  if grep -q "Non-2xx" <<<"$result"; then echo "error: non-2xx responses" >&2; echo "$result" >&2; exit 1; fi
  echo "$(awk '/^Requests\/sec/ {print $2}' <<<"$result")|$(awk '$1 == "50%" {print $2}' <<<"$result")|$(awk '$1 == "99%" {print $2}' <<<"$result")"
}

echo "wrk -t1 -d${duration}s on loopback; 5.0 s 16 kHz WAV probes; $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs))"
echo
echo "| group | clients | requests/s | p50 | p99 |"
echo "|---|---:|---:|---:|---:|"
for clients in 1 4; do
  for group in "$small" "$large"; do
    label=$([ "$group" = "$small" ] && echo "10 voiceprints (peer)" || echo "$size voiceprints")
    IFS='|' read -r rps p50 p99 <<<"$(run "$group" "$clients")"
    echo "| $label | $clients | $rps | $p50 | $p99 |"
  done
done
echo
echo "Loading the $size-voiceprint group into the cache (first identification after the change): $load_ms ms."
echo "Memory per cached voiceprint: $per_voiceprint_cache bytes counted by the cache (embedding_cache_bytes), $per_voiceprint_rss bytes of resident memory."
