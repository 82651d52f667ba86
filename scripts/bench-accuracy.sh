#!/usr/bin/env bash
# Open-set identification accuracy under realistic recording conditions, Voxprint beside raw
# cosine scoring (Voxprint before calibration; Resemblyzer's own scoring), in the same run.
#
# Voices: the 15 committed TTS voices of testdata/corpus plus the benchmark-only voices of
# scripts/corpus/voices-extra.tsv (generated here). They are split once, by name, into
#   development voices — the only ones any scoring constant, the calibration or the built-in
#                        cohort was chosen on (`--calibrate` redoes that choice), and
#   evaluation voices  — the only ones the figures are reported on.
# Probe conditions (scripts/accuracy/conditions.py, fixed seed): white/pink/brown/babble noise at
# 15/10/5 dB SNR, room reverberation, far field, telephone band (8 kHz, mu-law), MP3 and Opus at
# 16 kbit/s, 1.5-2 s probes, and mixtures.
#
# Usage: scripts/bench-accuracy.sh              # Markdown table for BENCHMARKS.md
#        scripts/bench-accuracy.sh --samples    # voiceprints from one recording vs from three: the
#                                               # scoring chosen on the development voices, then the
#                                               # server measured on the evaluation voices
#        scripts/bench-accuracy.sh --calibrate  # re-derive the constants on the development voices
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/accuracy/split.sh

acc=target/accuracy
mkdir -p "$acc/voices"
command -v ffmpeg >/dev/null || { apt-get update -qq && apt-get install -y -qq ffmpeg; }
venv=$acc/venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q -r scripts/accuracy/requirements.txt

echo "== voices" >&2
scripts/make-corpus.sh --extra "$acc/extra" >&2
for dir in testdata/corpus/*/ "$acc"/extra/*/; do
  voice=$(basename "$dir")
  [ "$voice" = degraded ] || ln -sfn "$(cd "$dir" && pwd)" "$acc/voices/$voice"
done

echo "== probe conditions" >&2
"$venv/bin/python" scripts/accuracy/conditions.py "$acc/voices" "$acc/probes" >&2

cargo build --release --locked -p voxprint >&2
bin=target/release/voxprint
"$bin" model fetch >&2

# embed OUT FLAGS FILES...: two processes, one per core.
embed() {
  local out=$1 flag=$2; shift 2
  printf '%s\n' "$@" > "$acc/files"
  split -n l/2 "$acc/files" "$acc/files."
  "$bin" embed "$flag" $(cat "$acc/files.aa") > "$out.a" &
  "$bin" embed "$flag" $(cat "$acc/files.ab") > "$out.b"
  wait
  cat "$out.a" "$out.b" > "$out"
  rm -f "$out.a" "$out.b" "$acc"/files*
}
probes_of() { for voice in "$@"; do ls "$acc"/probes/*/"$voice"/*.wav; done; }
enrollments_of() { for voice in "$@"; do echo "$acc/voices/$voice/01.wav"; done; }

if [ "${1:-}" = --calibrate ]; then
  echo "== calibration on the development voices" >&2
  embed "$acc/dev-probes.jsonl" --json $(probes_of "${DEV[@]}")
  embed "$acc/dev-sets.jsonl" --conditions $(enrollments_of "${DEV[@]}")
  "$venv/bin/python" scripts/accuracy/calibrate.py "$acc/dev-sets.jsonl" "$acc/dev-probes.jsonl" "${DEV[@]}"
  "$venv/bin/python" scripts/accuracy/cohort.py "$acc/dev-sets.jsonl" "$acc/cohort.f32" "${DEV[@]}"
  echo "constants above go into crates/server/src/speaker/scoring.rs, $acc/cohort.f32 into crates/server/assets/" >&2
  exit 0
fi

if [ "${1:-}" = --samples ]; then
  echo "== several recordings per voiceprint: how to score them, on the development voices" >&2
  later_probes_of() { for voice in "$@"; do ls "$acc"/probes/*/"$voice"/*.wav | grep -v -e /02.wav -e /03.wav; done; }
  recordings_of() { for voice in "$@"; do printf '%s\n' "$acc/voices/$voice/0"{1,2,3}.wav; done; }
  embed "$acc/dev-later-probes.jsonl" --json $(later_probes_of "${DEV[@]}")
  embed "$acc/dev-three-sets.jsonl" --conditions $(recordings_of "${DEV[@]}")
  (cd scripts/accuracy && "../../$venv/bin/python" samples.py "../../$acc/dev-three-sets.jsonl" "../../$acc/dev-later-probes.jsonl" 3 "${DEV[@]}")
  echo "== Voxprint over HTTP, evaluation voices: voiceprints from one recording vs from three" >&2
  serve_flags=(--max-voiceprints-per-group 20)
  source scripts/bench-server.sh
  "$venv/bin/python" scripts/accuracy/bench.py --samples 3 "$base" "$token" "$acc/voices" "$acc/probes" "${EVAL[@]}"
  exit 0
fi

echo "== raw cosine embeddings of the evaluation voices" >&2
embed "$acc/eval-raw.jsonl" --json $(enrollments_of "${EVAL[@]}") $(probes_of "${EVAL[@]}")

echo "== Voxprint over HTTP" >&2
serve_flags=(--max-voiceprints-per-group 20)
source scripts/bench-server.sh
"$venv/bin/python" scripts/accuracy/bench.py "$base" "$token" "$acc/voices" "$acc/probes" "$acc/eval-raw.jsonl" "${EVAL[@]}"
