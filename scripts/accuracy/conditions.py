#!/usr/bin/env python3
"""Probe conditions for the accuracy benchmark, generated reproducibly from clean utterances.

Usage: conditions.py VOICES_DIR OUT_DIR [--seed N]

VOICES_DIR holds <voice>/NN.wav (16 kHz mono): 01 is the enrollment, 02..07 the probes.
Writes OUT_DIR/<condition>/<voice>/NN.wav for every condition of CONDITIONS and every probe,
and OUT_DIR/conditions.json (the list of conditions and what each applies).

Every random choice comes from a generator seeded with (seed, condition, voice, utterance), so a
rerun writes the same files. The degradations are deliberately implemented differently from the
server's own enrollment augmentation (crates/server/src/speaker/augment.rs): rooms here come
from the image-source method (pyroomacoustics), babble from other voices, codecs from ffmpeg's
real encoders, so the benchmark does not reward a server that has seen its exact probes.
"""
import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pyroomacoustics as pra
import soundfile as sf
from scipy import signal

RATE = 16000

# name -> list of steps, applied in order.
CONDITIONS = {"clean": []}
for colour in ("white", "pink", "brown", "babble"):
    for snr in (15, 10, 5):
        CONDITIONS[f"{colour}-{snr}db"] = [("noise", colour, snr)]
CONDITIONS.update({
    "reverb": [("reverb", "room")],
    "far-field": [("reverb", "far"), ("noise", "pink", 10)],
    "telephone": [("telephone",)],
    "mp3-16k": [("codec", "mp3")],
    "opus-16k": [("codec", "opus")],
    "short": [("short",)],
    "mix-telephone-noise": [("noise", "babble", 15), ("telephone",)],
    "mix-short-noise": [("short",), ("noise", "white", 10)],
    "mix-reverb-opus": [("reverb", "room"), ("codec", "opus")],
})


def rng_for(seed, *parts):
    digest = hashlib.sha256("/".join([str(seed), *map(str, parts)]).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def read(path):
    audio, rate = sf.read(path, dtype="float64")
    if audio.ndim > 1:
        audio = audio.mean(axis=1)
    if rate != RATE:
        raise SystemExit(f"{path}: expected {RATE} Hz")
    return audio


def rms(x):
    return float(np.sqrt(np.mean(x ** 2)) + 1e-12)


def coloured_noise(rng, n, colour):
    white = rng.standard_normal(n)
    if colour == "white":
        return white
    spectrum = np.fft.rfft(white)
    freqs = np.fft.rfftfreq(n, 1 / RATE)
    freqs[0] = freqs[1]
    exponent = {"pink": 0.5, "brown": 1.0}[colour]  # amplitude ∝ f^-exponent
    return np.fft.irfft(spectrum / freqs ** exponent, n)


def babble(rng, n, others):
    """Four other voices talking at once, each at a random offset."""
    mix = np.zeros(n)
    for path in rng.choice(others, size=4, replace=False):
        talker = read(path)
        talker = np.tile(talker, int(np.ceil(n / len(talker))) + 1)
        start = rng.integers(0, len(talker) - n)
        piece = talker[start:start + n]
        mix += piece / rms(piece)
    return mix


def add_noise(rng, x, colour, snr_db, others):
    noise = babble(rng, len(x), others) if colour == "babble" else coloured_noise(rng, len(x), colour)
    noise *= rms(x) / rms(noise) / 10 ** (snr_db / 20)
    return x + noise


def reverberate(rng, x, kind):
    if kind == "room":
        rt60, dims, distance = rng.uniform(0.3, 0.8), rng.uniform([3, 3, 2.4], [8, 7, 3.2]), rng.uniform(0.8, 2.0)
    else:  # far field: a bigger, livelier room and a distant talker
        rt60, dims, distance = rng.uniform(0.5, 1.0), rng.uniform([6, 5, 2.7], [12, 9, 4.0]), rng.uniform(3.0, 5.0)
    absorption, max_order = pra.inverse_sabine(rt60, dims)
    room = pra.ShoeBox(dims, fs=RATE, materials=pra.Material(absorption), max_order=min(max_order, 40))
    for _ in range(100):
        source = rng.uniform([0.5, 0.5, 1.2], [dims[0] - 0.5, dims[1] - 0.5, 1.9])
        direction = rng.standard_normal(3)
        direction[2] *= 0.1
        mic = source + direction / np.linalg.norm(direction) * distance
        if np.all(mic > 0.3) and np.all(mic < dims - 0.3):
            break
    else:
        mic = dims / 2
    room.add_source(source)
    room.add_microphone(mic)
    room.compute_rir()
    rir = np.asarray(room.rir[0][0])
    wet = signal.fftconvolve(x, rir)[: len(x) + int(0.3 * RATE)]
    return wet / rms(wet) * rms(x)


def telephone(x):
    """300-3400 Hz, 8 kHz, 8-bit mu-law (G.711), as a call recorded at the far end."""
    sos = signal.butter(6, [300, 3400], btype="bandpass", fs=RATE, output="sos")
    narrow = signal.resample_poly(signal.sosfilt(sos, x), 1, 2)
    peak = max(np.max(np.abs(narrow)), 1e-9)
    y = np.clip(narrow / peak * 0.7, -1, 1)
    mu = 255.0
    code = np.round((np.sign(y) * np.log1p(mu * np.abs(y)) / np.log1p(mu)) * 127) / 127
    return np.sign(code) * ((1 + mu) ** np.abs(code) - 1) / mu * peak / 0.7, 8000


def codec(x, rate, kind):
    """A round trip through ffmpeg's real encoder at about 16 kbit/s, decoded to 16 kHz."""
    with tempfile.TemporaryDirectory() as tmp:
        src, coded, out = (os.path.join(tmp, n) for n in ("in.wav", "coded." + ("mp3" if kind == "mp3" else "ogg"), "out.wav"))
        sf.write(src, x, rate, subtype="PCM_16")
        encoder = ["-c:a", "libmp3lame", "-b:a", "16k"] if kind == "mp3" else ["-c:a", "libopus", "-b:a", "16k"]
        quiet = ["-hide_banner", "-loglevel", "error", "-y"]
        subprocess.run(["ffmpeg", *quiet, "-i", src, *encoder, coded], check=True)
        subprocess.run(["ffmpeg", *quiet, "-i", coded, "-ar", str(RATE), "-ac", "1", out], check=True)
        y, _ = sf.read(out, dtype="float64")
    return y, RATE


def short(rng, x):
    seconds = rng.uniform(1.5, 2.0)
    n = int(seconds * RATE)
    if len(x) <= n:
        return x
    start = rng.integers(0, len(x) - n)
    return x[start:start + n]


def render(job):
    seed, name, steps, voice, utt, src, dst, others = job
    rng = rng_for(seed, name, voice, utt)
    x, rate = read(src), RATE
    for step in steps:
        if step[0] == "noise":
            x = add_noise(rng, x, step[1], step[2], others)
        elif step[0] == "reverb":
            x = reverberate(rng, x, step[1])
        elif step[0] == "telephone":
            x, rate = telephone(x)
        elif step[0] == "codec":
            x, rate = codec(x, rate, step[1])
        elif step[0] == "short":
            x = short(rng, x)
    peak = np.max(np.abs(x))
    if peak > 0.99:
        x = x * 0.99 / peak
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    sf.write(dst, x, rate, subtype="PCM_16")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("voices")
    parser.add_argument("out")
    parser.add_argument("--seed", type=int, default=20261125)
    parser.add_argument("--jobs", type=int, default=os.cpu_count())
    args = parser.parse_args()
    voices = sorted(v for v in os.listdir(args.voices) if os.path.isdir(os.path.join(args.voices, v)))
    jobs = []
    for voice in voices:
        others = [os.path.join(args.voices, v, u) for v in voices if v != voice
                  for u in sorted(os.listdir(os.path.join(args.voices, v))) if u.endswith(".wav")]
        for utt in sorted(u for u in os.listdir(os.path.join(args.voices, voice)) if u.endswith(".wav") and u != "01.wav"):
            for name, steps in CONDITIONS.items():
                dst = os.path.join(args.out, name, voice, utt)
                if not os.path.exists(dst):
                    jobs.append((args.seed, name, steps, voice, utt, os.path.join(args.voices, voice, utt), dst, others))
    with ProcessPoolExecutor(args.jobs) as pool:
        for _ in pool.map(render, jobs, chunksize=16):
            pass
    with open(os.path.join(args.out, "conditions.json"), "w") as f:
        json.dump({"seed": args.seed, "conditions": {k: [list(s) for s in v] for k, v in CONDITIONS.items()}}, f, indent=1)
    print(f"conditions: {len(jobs)} probe file(s) written to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
