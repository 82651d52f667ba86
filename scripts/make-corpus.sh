#!/usr/bin/env bash
# Generate Voxprint's test audio from Debian's text-to-speech voices.
#
# No speech corpus can be downloaded on our machines, but flite, Festival and
# espeak-ng ship voices recorded from (or modelled on) different people, which
# is enough to test speaker identification end to end. See testdata/README.md.
#
# Outputs (all 16-bit PCM WAV):
#   testdata/parity/             fixed clips of many rates/channel counts/lengths for
#                                comparing embeddings with the reference implementation.
#                                Only MISSING files are ever created: an existing parity
#                                clip is never rewritten (reference embeddings depend on
#                                its exact bytes).
#   testdata/corpus/<voice>/NN.wav      16 kHz mono, one sentence each (01 = enrollment).
#   testdata/corpus/degraded/<kind>/<voice>/NN.wav   noisy / telephone / short probes.
#   testdata/corpus/manifest.json, testdata/parity/manifest.json (always rewritten,
#                                deterministic).
#
# Idempotent: files that exist are kept. TTS output differs between package versions,
# so the outputs are committed and tests never run this script.
#
# Usage: scripts/make-corpus.sh [--force-corpus | --extra DIR]
#   --force-corpus  regenerate testdata/corpus (never testdata/parity).
#   --extra DIR     instead, write the benchmark-only voices of scripts/corpus/voices-extra.tsv
#                   to DIR/<voice>/NN.wav (used by scripts/bench-accuracy.sh; not committed).
#
# Voices, texts and parity clips are data files under scripts/corpus/.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CFG=$ROOT/scripts/corpus
PARITY=$ROOT/testdata/parity
CORPUS=$ROOT/testdata/corpus
UTTERANCES=7          # per voice: 01 enrollment + 06 probes
DEGRADED_PROBE=02     # the probe that gets noisy/telephone/short variants
# Voices whose probe gets degraded variants: a mix of engines, languages and sexes
# (all fifteen would push testdata past its 15 MB budget).
DEGRADED_VOICES=(flite-awb flite-slt flite-rms festival-ked festival-cs-dita festival-fi-mv festival-it-lp festival-ru-nsh)
FORCE_CORPUS=0
VOICES_FILE=$CFG/voices.tsv
EXTRA=0
MIN_SECONDS=2.0       # shortest utterance; the benchmark-only voices may speak faster (1.5)

while (($#)); do
  arg=$1; shift
  case $arg in
    --force-corpus) FORCE_CORPUS=1 ;;
    --extra) EXTRA=1; VOICES_FILE=$CFG/voices-extra.tsv; CORPUS=${1:?--extra needs a directory}; MIN_SECONDS=1.5; shift ;;
    -h|--help) sed -n '2,28p' "$0"; exit 0 ;;
    *) echo "unknown argument: $arg" >&2; exit 2 ;;
  esac
done

log() { printf '%s\n' "$*" >&2; }
die() { log "make-corpus: $*"; exit 1; }

# ---------------------------------------------------------------- voices
declare -A V_ENGINE V_SPEC V_ENC V_LANG
VOICES=()
while IFS=$'\t' read -r id engine spec enc lang _sex _desc; do
  [[ -z $id || $id == \#* ]] && continue
  VOICES+=("$id"); V_ENGINE[$id]=$engine; V_SPEC[$id]=$spec; V_ENC[$id]=$enc; V_LANG[$id]=$lang
done < "$VOICES_FILE"

# Debian packages providing each Festival voice (plus its language support).
festival_packages() {
  case $1 in
    ked_diphone) echo festvox-kdlpc16k festlex-cmu ;;
    czech_dita) echo festival-czech festvox-czech-dita ;;
    czech_krb) echo festival-czech festvox-czech-krb ;;
    czech_machac) echo festival-czech festvox-czech-machac ;;
    czech_ph) echo festival-czech festvox-czech-ph ;;
    hindi_NSK_diphone) echo festvox-hi-nsk ;;
    suo_fi_lj_diphone) echo festvox-suopuhe-lj ;;
    hy_fi_mv_diphone) echo festvox-suopuhe-mv ;;
    lp_diphone) echo festlex-ifd festvox-italp16k ;;
    pc_diphone) echo festlex-ifd festvox-itapc16k ;;
    msu_ru_nsh_clunits) echo festvox-ru ;;
    upc_ca_ona_hts) echo festival-ca festvox-ca-ona-hts ;;
    *) die "no package known for festival voice $1" ;;
  esac
}

TOOLS_READY=0
ensure_tools() {
  [[ $TOOLS_READY == 1 ]] && return
  local pkgs=()
  command -v flite >/dev/null || pkgs+=(flite)
  command -v text2wave >/dev/null || pkgs+=(festival)
  command -v espeak-ng >/dev/null || pkgs+=(espeak-ng)
  command -v sox >/dev/null || pkgs+=(sox)
  command -v iconv >/dev/null || pkgs+=(libc-bin)
  local id
  for id in "${VOICES[@]}"; do
    if [[ ${V_ENGINE[$id]} == festival ]] && ! compgen -G "/usr/share/festival/voices/*/${V_SPEC[$id]}" >/dev/null; then
      # shellcheck disable=SC2207
      pkgs+=($(festival_packages "${V_SPEC[$id]}"))
    fi
  done
  if ((${#pkgs[@]})); then
    local sudo=()
    [[ $(id -u) == 0 ]] || sudo=(sudo)
    log "installing: ${pkgs[*]}"
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
  fi
  TOOLS_READY=1
}

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# synth VOICE TEXT OUT: raw TTS output at the voice's native rate.
synth() {
  local id=$1 text=$2 out=$3
  case ${V_ENGINE[$id]} in
    flite) flite -voice "${V_SPEC[$id]}" -t "$text" -o "$out" ;;
    espeak) espeak-ng -v "${V_SPEC[$id]}" -w "$out" "$text" ;;
    festival)
      # Festival's language modules read their own 8-bit encodings (Czech
      # ISO-8859-2, Finnish/Italian/Catalan Latin-1); the Russian one reads UTF-8.
      printf '%s\n' "$text" | iconv -f utf-8 -t "${V_ENC[$id]}" > "$WORK/text.txt"
      text2wave -eval "(voice_${V_SPEC[$id]})" "$WORK/text.txt" -o "$out" 2> "$WORK/festival.err" \
        || { cat "$WORK/festival.err" >&2; die "festival failed for $id"; }
      ;;
    *) die "unknown engine ${V_ENGINE[$id]}" ;;
  esac
  [[ -s $out ]] || die "no audio from $id"
}

duration() { soxi -D "$1"; }

# Trim leading/trailing silence to 0.1 s, normalise to -3 dBFS peak. -D: no
# dither, so sox's output does not depend on a random generator.
SHAPE=(silence 1 0.02 0.2% reverse silence 1 0.02 0.2% reverse pad 0.1 0.1 norm -3)

# ---------------------------------------------------------------- parity
make_parity() {
  mkdir -p "$PARITY"
  local file id rate ch text made=0
  while IFS=$'\t' read -r file id rate ch text; do
    [[ -z $file || $file == \#* ]] && continue
    [[ -e $PARITY/$file ]] && continue
    [[ -n ${V_ENGINE[$id]:-} ]] || die "parity.tsv: unknown voice $id"
    ensure_tools
    synth "$id" "$text" "$WORK/raw.wav"
    if [[ $ch == 1 ]]; then
      sox -D "$WORK/raw.wav" -b 16 "$WORK/out.wav" remix - gain -6 rate -v "$rate" "${SHAPE[@]}"
    else
      # Channel 2: channel 1 at 0.7 gain, delayed by 4 ms, so averaging the
      # channels is not the identity.
      sox -D "$WORK/raw.wav" -b 16 "$WORK/out.wav" remix - gain -6 rate -v "$rate" "${SHAPE[@]}" remix 1 1v0.7 delay 0 0.004
    fi
    mv "$WORK/out.wav" "$PARITY/$file"
    log "parity: $file ($(duration "$PARITY/$file") s)"
    made=$((made + 1))
  done < "$CFG/parity.tsv"
  log "parity: $made new clip(s)"
}

# ---------------------------------------------------------------- corpus
make_corpus() {
  local id n nn text out lang made=0
  for id in "${VOICES[@]}"; do
    lang=${V_LANG[$id]}
    [[ -f $CFG/text/$lang.txt ]] || die "no text for language $lang"
    mkdir -p "$CORPUS/$id"
    for ((n = 1; n <= UTTERANCES; n++)); do
      nn=$(printf '%02d' "$n")
      out=$CORPUS/$id/$nn.wav
      [[ -e $out && $FORCE_CORPUS == 0 ]] && continue
      text=$(sed -n "${n}p" "$CFG/text/$lang.txt")
      [[ -n $text ]] || die "text/$lang.txt has no line $n"
      ensure_tools
      synth "$id" "$text" "$WORK/raw.wav"
      sox -D "$WORK/raw.wav" -b 16 "$WORK/out.wav" remix - gain -6 rate -v 16000 "${SHAPE[@]}"
      local d; d=$(duration "$WORK/out.wav")
      awk -v d="$d" -v min="$MIN_SECONDS" 'BEGIN { exit !(d >= min && d <= 6.0) }' \
        || die "$id/$nn.wav would be $d s, outside $MIN_SECONDS-6 s: adjust scripts/corpus/text/$lang.txt line $n"
      mv "$WORK/out.wav" "$out"
      made=$((made + 1))
    done
    log "corpus: $id done"
  done
  log "corpus: $made new clip(s)"
}

make_degraded() {
  local id src out i=0 seconds
  for id in "${DEGRADED_VOICES[@]}"; do
    src=$CORPUS/$id/$DEGRADED_PROBE.wav
    [[ -e $src ]] || continue
    out=$CORPUS/degraded/noise15db/$id/$DEGRADED_PROBE.wav
    if [[ ! -e $out || $FORCE_CORPUS == 1 ]]; then
      mkdir -p "${out%/*}"
      python3 "$CFG/add_noise.py" "$src" "$out" 15 "$id"
    fi
    out=$CORPUS/degraded/telephone/$id/$DEGRADED_PROBE.wav
    if [[ ! -e $out || $FORCE_CORPUS == 1 ]]; then
      ensure_tools
      mkdir -p "${out%/*}"
      sox -D "$src" -b 16 "$out" gain -3 sinc 300-3400 rate -v 8000
    fi
    # 1.2, 1.3, 1.4, 1.5 s in turn, starting where the speech starts.
    seconds=$(awk -v i="$i" 'BEGIN { printf "%.1f", 1.2 + (i % 4) * 0.1 }')
    out=$CORPUS/degraded/short/$id/$DEGRADED_PROBE.wav
    if [[ ! -e $out || $FORCE_CORPUS == 1 ]]; then
      ensure_tools
      mkdir -p "${out%/*}"
      sox -D "$src" "$out" trim 0.1 "$seconds"
    fi
    i=$((i + 1))
  done
}

if ((EXTRA)); then
  make_corpus
  exit 0
fi
make_parity
make_corpus
make_degraded
python3 "$CFG/manifest.py" "$ROOT"
log "testdata: $(du -sh "$ROOT/testdata" | cut -f1)"
