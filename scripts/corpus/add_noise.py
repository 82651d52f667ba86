#!/usr/bin/env python3
"""Add white Gaussian noise to a 16-bit PCM WAV at a given SNR (dB).

Usage: add_noise.py IN.wav OUT.wav SNR_DB SEED

Standard library only, and seeded, so the output is the same on every machine
(sox's own noise generator is not reproducible across versions). The SNR is
measured against the RMS of the whole clip, which is speech with short padding,
because the corpus clips are silence-trimmed.
"""
import array
import math
import random
import sys
import wave


def main() -> None:
    src, dst, snr_db, seed = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
    with wave.open(src, "rb") as w:
        params = w.getparams()
        if params.sampwidth != 2:
            sys.exit(f"{src}: expected 16-bit PCM")
        frames = w.readframes(params.nframes)
    samples = array.array("h", frames)
    if sys.byteorder != "little":
        samples.byteswap()
    n = len(samples)
    signal_rms = math.sqrt(sum(s * s for s in samples) / max(n, 1))
    noise_rms = signal_rms / (10 ** (snr_db / 20))
    rng = random.Random(seed)
    out = array.array("h", (max(-32768, min(32767, round(s + rng.gauss(0.0, noise_rms)))) for s in samples))
    if sys.byteorder != "little":
        out.byteswap()
    with wave.open(dst, "wb") as w:
        w.setparams(params)
        w.writeframes(out.tobytes())


if __name__ == "__main__":
    main()
