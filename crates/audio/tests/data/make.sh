#!/usr/bin/env bash
# Recreates the compressed fixtures of voxprint-audio's tests from committed test audio.
# The fixtures are committed (encoders differ between versions); run this only to add one.
# Needs Debian's lame, flac, vorbis-tools, opus-tools, ffmpeg and chromium (and python3):
#   apt-get install -y lame flac vorbis-tools opus-tools ffmpeg chromium
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
T=../../../../testdata
MONO=$T/corpus/flite-slt/02.wav                   # 16 kHz mono, 2.4 s
STEREO=$T/parity/05-flite-rms-44k-stereo.wav       # 44.1 kHz stereo, 1.1 s
SHORT=$T/corpus/degraded/short/flite-slt/02.wav  # 16 kHz mono, 1.4 s
STEREO16=$T/parity/06-festival-it-pc-16k-stereo.wav  # 16 kHz stereo, 0.9 s
MONO8=$T/parity/02-flite-awb-8k-mono.wav          # 8 kHz mono, 0.8 s

# MP3: a bare frame stream (starts with a frame sync) and one behind an ID3v2 tag.
lame --quiet --noreplaygain -b 32 "$MONO" mono16k.mp3
lame --quiet --noreplaygain -b 96 --resample 44.1 --add-id3v2 --tt "voxprint test" "$STEREO" stereo44k-id3.mp3
# FLAC
flac --silent --force -8 -o mono16k.flac "$SHORT"
flac --silent --force -8 -o stereo16k.flac "$STEREO16"
sox "$MONO8" -b 24 mono8k-24bit.flac
# Ogg Vorbis
oggenc --quiet -q 0 -o mono16k.ogg "$MONO"
oggenc --quiet -q 0 -o stereo44k.ogg "$STEREO"
# M4A (AAC-LC in MP4)
ffmpeg -v error -y -i "$MONO" -c:a aac -b:a 32k -map_metadata -1 -fflags +bitexact mono16k.m4a
ffmpeg -v error -y -i "$STEREO" -c:a aac -b:a 64k -map_metadata -1 -fflags +bitexact stereo44k.m4a
# Ogg Opus: opusenc's .opus files (their last page's granule trims the end), and ffmpeg's, named
# .ogg as some apps name them.
opusenc --quiet --bitrate 24 "$MONO" mono16k.opus
opusenc --quiet --bitrate 64 "$STEREO" stereo44k.opus
ffmpeg -v error -y -i "$MONO" -c:a libopus -b:a 16k -map_metadata -1 -fflags +bitexact mono16k.opus.ogg
# Opus in WebM: ffmpeg's (known sizes, Cues, a last BlockGroup with DiscardPadding), and what
# Chromium's MediaRecorder writes (unknown-size Segment and Clusters, no Cues, 60 ms packets,
# pre-skip 0), recorded in headless Chromium with the WAV file as its microphone.
ffmpeg -v error -y -i "$MONO" -c:a libopus -b:a 24k -map_metadata -1 -fflags +bitexact -f webm mono16k.webm
ffmpeg -v error -y -i "$STEREO" -c:a libopus -b:a 48k -map_metadata -1 -fflags +bitexact -f webm stereo44k.webm
python3 record-webm.py "$MONO" 2.4 mono-chromium.webm
# Other MPEG audio we refuse: raw AAC in ADTS frames, and MPEG layer II.
ffmpeg -v error -y -i "$MONO" -t 1 -c:a aac -b:a 24k -f adts -fflags +bitexact mono16k.adts.aac
ffmpeg -v error -y -i "$MONO" -t 1 -ar 16000 -c:a mp2 -b:a 32k -fflags +bitexact mono16k.mp2
ls -l
