#!/usr/bin/env python3
"""Synthetic conversations for the diarization benchmark, with their ground truth.

Usage: synth.py VOICES_DIR OUT_DIR --split NAME COUNT VOICE... [--split ...] [--seed N]

No real multi-speaker recording with known speakers can be fetched here, so conversations are
assembled from the TTS corpus (VOICES_DIR/<voice>/NN.wav, 16 kHz mono). Per conversation:
2-5 speakers of one split (speaker counts balanced over the split), at least one enrolled, and
in about half of them (balanced too) one or more speakers who are not enrolled. A speaker's
turns read its utterances 02..07, trimmed of silence and joined, as one endless loop; 01.wav is
the enrollment and never spoken in a conversation. Turns last 1-15 s (log-uniform, so short
turns are common), separated by pauses of 0.2-1.5 s, or, at 10 % of the changes of speaker,
overlapping the previous turn by 0.3-1.0 s; conversations last 60-120 s.

Each conversation is written clean and with pink noise at 10 dB SNR (stationary noise, so that
the reference stays exactly the speakers: babble would add talkers the reference ignores).

Writes, per split: OUT_DIR/<split>/<id>.clean.wav, <id>.noisy.wav, <id>.rttm (the reference:
the real speech of each turn, found with an energy threshold), and OUT_DIR/<split>/manifest.json
(speakers, who is enrolled, turns). Every random choice comes from a generator seeded with
(seed, split, conversation), so a rerun writes the same files.
"""
import argparse
import hashlib
import json
import os
import sys

import numpy as np
import soundfile as sf

RATE = 16000
FRAME = RATE // 100                 # 10 ms frames for the energy threshold
SPEECH_DB_BELOW_PEAK = 40           # a frame is speech within this of the loudest frame
BRIDGE_SECONDS = 0.3                # shorter pauses inside a turn stay speech (NIST's 0.3 s)
SPEAKER_COUNTS = (2, 3, 4, 5)
TURN_SECONDS = (1.0, 15.0)
PAUSE_SECONDS = (0.2, 1.5)
OVERLAP_SHARE = 0.10
OVERLAP_SECONDS = (0.3, 1.0)
LENGTH_SECONDS = (60.0, 120.0)
SNR_DB = 10
LEVEL_DBFS = -23                    # active speech level each speaker is brought to, ±3 dB
FADE = RATE // 100                  # 10 ms fades where a turn cuts an utterance


def rng_for(seed, *parts):
    digest = hashlib.sha256("/".join([str(seed), *map(str, parts)]).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def frame_db(x):
    n = len(x) // FRAME
    frames = x[: n * FRAME].reshape(n, FRAME)
    return 10 * np.log10(np.mean(frames ** 2, axis=1) + 1e-12)


def speech_frames(x, peak_db=None):
    """10 ms frames within SPEECH_DB_BELOW_PEAK of the loudest (or of peak_db), short pauses bridged."""
    db = frame_db(x)
    if peak_db is None:
        peak_db = db.max(initial=-120)
    mask = db > peak_db - SPEECH_DB_BELOW_PEAK
    bridge = int(BRIDGE_SECONDS * 100)
    on = np.flatnonzero(mask)
    for a, b in zip(on[:-1], on[1:]):
        if 1 < b - a <= bridge:
            mask[a:b] = True
    return mask


def spans(mask, offset):
    """Runs of True in a frame mask, as (start, end) seconds after `offset`."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return [(offset + s / 100, offset + e / 100) for s, e in zip(starts, ends)]


class Voice:
    """One speaker's utterances 02..07, trimmed of silence and joined into a loop."""

    def __init__(self, directory):
        pieces = []
        for n in range(2, 8):
            x, rate = sf.read(os.path.join(directory, f"{n:02d}.wav"), dtype="float64")
            if rate != RATE or x.ndim != 1:
                sys.exit(f"{directory}/{n:02d}.wav: expected 16 kHz mono")
            on = np.flatnonzero(speech_frames(x))
            pieces.append(x[on[0] * FRAME:(on[-1] + 1) * FRAME])
        loop = np.concatenate(pieces)
        mask = speech_frames(loop)
        active = np.sqrt(np.mean(loop[: len(mask) * FRAME].reshape(-1, FRAME)[mask] ** 2))
        self.loop = loop / active * 10 ** (LEVEL_DBFS / 20)
        self.peak_db = frame_db(self.loop).max()

    def take(self, start, n):
        """n samples of the loop from `start`, wrapping, faded in and out."""
        idx = (start + np.arange(n)) % len(self.loop)
        x = self.loop[idx]                       # a copy (fancy indexing)
        ramp = np.linspace(0, 1, FADE)           # turns last >= 1 s, far longer than a fade
        x[:FADE] *= ramp
        x[-FADE:] *= ramp[::-1]
        return x


def plan_turns(rng, speakers):
    """Who speaks when: (speaker, start, seconds) per turn, and the conversation's length."""
    length = rng.uniform(*LENGTH_SECONDS)
    turns, end = [], rng.uniform(0.3, 1.0)
    order = list(rng.permutation(speakers))      # everyone speaks once before the rest is drawn
    previous = None
    while True:
        if order:
            speaker = order.pop(0)
        else:
            speaker = rng.choice([s for s in speakers if s != previous])
        seconds = float(np.exp(rng.uniform(*np.log(TURN_SECONDS))))
        if previous is None:
            start = end
        elif rng.random() < OVERLAP_SHARE:
            start = end - min(rng.uniform(*OVERLAP_SECONDS), 0.5 * min(seconds, turns[-1][2]))
        else:
            start = end + rng.uniform(*PAUSE_SECONDS)
        everyone_spoke = len({t[0] for t in turns}) == len(speakers)
        if everyone_spoke and start + seconds > length:
            seconds = length - start
            if seconds < TURN_SECONDS[0]:
                break
        seconds = min(seconds, LENGTH_SECONDS[1] - 0.5 - start)
        turns.append((str(speaker), float(start), float(seconds)))
        end, previous = start + seconds, speaker
    return turns, max(length, end + 0.5)


def conversation(seed, split, index, speakers, voices):
    """Renders one conversation: clean and noisy audio, reference speech spans, turns."""
    rng = rng_for(seed, split, index)
    turns, length = plan_turns(rng, speakers)
    n = int(round(length * RATE))
    clean = np.zeros(n)
    gain = {s: 10 ** (rng.uniform(-3, 3) / 20) for s in speakers}
    cursor = {s: int(rng.integers(len(voices[s].loop))) for s in speakers}
    reference = []
    for speaker, start, seconds in turns:
        a, m = int(round(start * RATE)), int(round(seconds * RATE))
        piece = voices[speaker].take(cursor[speaker], m)
        cursor[speaker] += m
        clean[a:a + m] += gain[speaker] * piece
        # Speech is judged against the voice's loudest frame over all its utterances, not this
        # turn's: a turn cut from a quiet stretch would otherwise count its breaths as speech.
        reference += [(s, e, speaker) for s, e in spans(speech_frames(piece, voices[speaker].peak_db), a / RATE)]
    speech = np.zeros(n, dtype=bool)
    for s, e, _ in reference:
        speech[int(s * RATE):int(e * RATE)] = True
    noise = pink_noise(rng, n)
    noise *= np.sqrt(np.mean(clean[speech] ** 2) / np.mean(noise ** 2)) / 10 ** (SNR_DB / 20)
    noisy = clean + noise
    return clean, noisy, sorted(reference), turns, length


def pink_noise(rng, n):
    """Power ∝ 1/f; shaped at a power-of-two length (an FFT of a prime length is very slow)."""
    m = 1 << (n - 1).bit_length()
    spectrum = np.fft.rfft(rng.standard_normal(m))
    freqs = np.fft.rfftfreq(m, 1 / RATE)
    freqs[0] = freqs[1]
    return np.fft.irfft(spectrum / np.sqrt(freqs), m)[:n]


def balanced(rng, values, count):
    """`values` repeated to `count` items, shuffled: small splits keep the intended mix."""
    items = [values[i % len(values)] for i in range(count)]
    return [items[i] for i in rng.permutation(count)]


def make_split(seed, split, count, names, voices_dir, out_dir):
    rng = rng_for(seed, split, "plan")
    counts = balanced(rng, SPEAKER_COUNTS, count)
    with_strangers = balanced(rng, (True, False), count)
    voices = {v: Voice(os.path.join(voices_dir, v)) for v in names}
    os.makedirs(os.path.join(out_dir, split), exist_ok=True)
    manifest = []
    for index in range(count):
        conv_rng = rng_for(seed, split, index, "speakers")
        speakers = [str(s) for s in conv_rng.choice(sorted(names), size=counts[index], replace=False)]
        strangers = int(conv_rng.integers(1, len(speakers))) if with_strangers[index] else 0
        enrolled = sorted(speakers[strangers:])
        clean, noisy, reference, turns, length = conversation(seed, split, index, speakers, voices)
        cid = f"{split}-{index:02d}"
        base = os.path.join(out_dir, split, cid)
        for name, audio in (("clean", clean), ("noisy", noisy)):
            peak = np.max(np.abs(audio))
            sf.write(f"{base}.{name}.wav", audio * min(1.0, 0.99 / peak), RATE, subtype="PCM_16")
        with open(f"{base}.rttm", "w") as f:
            for s, e, speaker in reference:
                f.write(f"SPEAKER {cid} 1 {s:.3f} {e - s:.3f} <NA> <NA> {speaker} <NA> <NA>\n")
        changes = len(turns) - 1
        overlaps = sum(1 for (_, s0, d0), (_, s1, _) in zip(turns, turns[1:]) if s1 < s0 + d0)
        manifest.append({"id": cid, "seconds": round(length, 3), "speakers": sorted(speakers), "enrolled": enrolled,
                         "turns": [{"speaker": s, "start": round(a, 3), "end": round(a + d, 3)} for s, a, d in turns],
                         "overlapping_changes": overlaps, "changes": changes})
    with open(os.path.join(out_dir, split, "manifest.json"), "w") as f:
        json.dump({"seed": seed, "snr_db": SNR_DB, "noise": "pink", "conversations": manifest}, f, indent=1)
    seconds = sum(c["seconds"] for c in manifest)
    overlaps = sum(c["overlapping_changes"] for c in manifest) / max(1, sum(c["changes"] for c in manifest))
    strangers = sum(len(c["speakers"]) > len(c["enrolled"]) for c in manifest)
    print(f"{split}: {count} conversations, {seconds:.0f} s, {overlaps:.0%} of speaker changes overlap, "
          f"{strangers} with a speaker who is not enrolled", file=sys.stderr)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("voices")
    parser.add_argument("out")
    parser.add_argument("--split", nargs="+", action="append", required=True, metavar=("NAME COUNT", "VOICE"))
    parser.add_argument("--seed", type=int, default=20261126)
    args = parser.parse_args()
    for name, count, *names in args.split:
        make_split(args.seed, name, int(count), names, args.voices, args.out)


if __name__ == "__main__":
    main()
