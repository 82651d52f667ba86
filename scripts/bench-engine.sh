#!/usr/bin/env bash
# Speaker engine speed next to Resemblyzer 0.1.4 (the reference it reproduces), same machine,
# same run, same clips, one thread each: the 20 parity clips and 8 clips of ≈ 10 s (three
# corpus sentences of one voice joined; four of them resampled to 44.1 kHz stereo). Prints a
# Markdown table for the "Speaker engine" section of BENCHMARKS.md.
#
# Usage: scripts/bench-engine.sh [passes, default 5]
# Needs the model (`cargo run --release -p voxprint-model --example fetch_model`) and sets up
# the Python reference environment on first use (scripts/parity/venv.sh; downloads torch).
set -euo pipefail
cd "$(dirname "$0")/.."
repeat=${1:-5}
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 RAYON_NUM_THREADS=1
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}

command -v sox >/dev/null || { apt-get update -qq && apt-get install -y -qq sox; }
python=$(scripts/parity/venv.sh)
cargo build --release --locked -q -p voxprint-model --example bench >&2

clips=$(mktemp -d)
trap 'rm -rf "$clips"' EXIT
i=0
for voice in flite-awb flite-slt flite-rms festival-ked festival-cs-dita festival-fi-lj festival-it-pc festival-ru-nsh; do
  i=$((i + 1))
  out="$clips/long-$voice.wav"
  sox testdata/corpus/$voice/0{1,2,3}.wav "$out"
  if [ $((i % 2)) -eq 0 ]; then
    sox "$out" -r 44100 -c 2 "$clips/long-$voice-44k.wav" && rm "$out"
  fi
done
files=(testdata/parity/*.wav "$clips"/*.wav)

echo "Resemblyzer…" >&2
py=$(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$python" scripts/bench-engine.py --repeat "$repeat" "${files[@]}" 2>/dev/null)
echo "Rust engine…" >&2
rs=$("$CARGO_TARGET_DIR/release/examples/bench" --repeat "$repeat" "${files[@]}")
get() { awk -v k="$2" '$1 == k { print $2 }' <<<"$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
versions=$("$python" -c 'import torch, librosa; print(f"torch {torch.__version__}, librosa {librosa.__version__}")')
cat <<MD
Machine: $cpu, $(getconf _NPROCESSORS_ONLN) cores, one thread each ($versions). $(get "$rs" files) clips, $(get "$rs" audio_seconds) s of audio, $(get "$rs" windows) windows; best of $repeat passes, audio decoded before timing.

| × real time (one thread) | Resemblyzer 0.1.4 | voxprint-engine | ratio |
| --- | ---: | ---: | ---: |
| preprocessing (resample, volume, VAD) | $(get "$py" preprocess_x_realtime) | $(get "$rs" preprocess_x_realtime) | $(ratio "$(get "$rs" preprocess_x_realtime)" "$(get "$py" preprocess_x_realtime)") |
| encoder (windows, mel, LSTM) | $(get "$py" encoder_x_realtime) | $(get "$rs" encoder_x_realtime) | $(ratio "$(get "$rs" encoder_x_realtime)" "$(get "$py" encoder_x_realtime)") |
| end to end | $(get "$py" end_to_end_x_realtime) | $(get "$rs" end_to_end_x_realtime) | $(ratio "$(get "$rs" end_to_end_x_realtime)" "$(get "$py" end_to_end_x_realtime)") |

| GFLOP/s (one thread) | |
| --- | ---: |
| encoder, one utterance per call (≈ 432 MFLOP per window) | $(get "$rs" encoder_gflops) |
| encoder, all clips in one \`embed_batch\` | $(get "$rs" encoder_batched_gflops) |
| SGEMM (\`matrixmultiply\`) 2048 × 1024 × 1024 | $(get "$rs" sgemm_gflops_2048x1024x1024) |
| SGEMM 128 × 256 × 1024 | $(get "$rs" sgemm_gflops_128x256x1024) |
| SGEMM 13 × 256 × 1024 (one 10 s utterance's recurrent step) | $(get "$rs" sgemm_gflops_13x256x1024) |
MD
