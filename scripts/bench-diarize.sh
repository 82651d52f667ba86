#!/usr/bin/env bash
# Who spoke when: speaker_diarize on synthetic conversations, beside a naive baseline (1.6 s
# windows sent to speaker_identify) in the same run.
#
# Conversations (scripts/diarize/synth.py, fixed seed) are assembled from the TTS voices of
# bench-accuracy.sh, split the same way (scripts/accuracy/split.sh): 10 of development voices,
# 20 of evaluation voices, each clean and with pink noise at 10 dB SNR; 2-5 speakers, some
# enrolled (from their 01.wav, never spoken in a conversation), some not. Ground truth is in
# target/diarize/<split>/<id>.rttm. Scores (scripts/diarize/score.py): DER with pyannote.metrics
# (collar ±0.25 s, overlap scored) and naming (right name, or no name for a speaker who is not
# enrolled, over single-speaker reference speech).
#
# Usage: scripts/bench-diarize.sh          # evaluation conversations, the server's default
#                                          # threshold, both systems: Markdown for BENCHMARKS.md
#        scripts/bench-diarize.sh --tune   # development conversations only: sweep
#                                          # --diarize-cluster-threshold, one server per value
# Builds with cargo (honouring CARGO_TARGET_DIR) unless VOXPRINT_BENCH_BIN names a binary.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)

source scripts/accuracy/split.sh
GRID=(0.55 0.60 0.65 0.70 0.75 0.80 0.85 0.90)
acc=target/accuracy
out=target/diarize

echo "== voices (as bench-accuracy.sh)" >&2
mkdir -p "$acc/voices" "$out"
scripts/make-corpus.sh --extra "$acc/extra" >&2
for dir in testdata/corpus/*/ "$acc"/extra/*/; do
  voice=$(basename "$dir")
  [ "$voice" = degraded ] || ln -sfn "$(cd "$dir" && pwd)" "$acc/voices/$voice"
done

venv=$out/venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q -r scripts/diarize/requirements.txt
py=$venv/bin/python

echo "== conversations" >&2
"$py" scripts/diarize/synth.py "$acc/voices" "$out" --split dev 10 "${DEV[@]}" --split eval 20 "${EVAL[@]}"

if [ -z "${VOXPRINT_BENCH_BIN:-}" ]; then
  cargo build --release --locked -p voxprint >&2
  export VOXPRINT_BENCH_BIN=${CARGO_TARGET_DIR:-target}/release/voxprint
fi
"$VOXPRINT_BENCH_BIN" model fetch >&2

if [ "${1:-}" = --tune ]; then
  for threshold in "${GRID[@]}"; do
    echo "== development conversations, --diarize-cluster-threshold $threshold" >&2
    # A subshell per value: bench-server.sh's exit trap stops that server and removes its data.
    (
      serve_flags=(--diarize-cluster-threshold "$threshold")
      source scripts/bench-server.sh
      "$py" scripts/diarize/bench.py run "$base" "$token" "$acc/voices" "$out/dev" "$out/tune-$threshold.json" \
        --label "$threshold" >/dev/null
    )
  done
  results=()
  for threshold in "${GRID[@]}"; do results+=("$out/tune-$threshold.json"); done
  "$py" scripts/diarize/bench.py tune "${results[@]}"
else
  echo "== evaluation conversations, both systems" >&2
  default=$("$VOXPRINT_BENCH_BIN" serve --help | tr -s ' \n' '  ' | grep -o 'VOXPRINT_DIARIZE_CLUSTER_THRESHOLD=[^]]*\] \[default: [0-9.]*' | sed 's/.*default: //')
  threshold=${VOXPRINT_DIARIZE_CLUSTER_THRESHOLD:-$default}
  source scripts/bench-server.sh
  "$py" scripts/diarize/bench.py run "$base" "$token" "$acc/voices" "$out/eval" "$out/eval.json" --baseline \
    --label "cluster threshold $threshold (server default $default)"
fi
echo >&2
echo "bench-diarize: $(( $(date +%s) - started )) s in all" >&2
