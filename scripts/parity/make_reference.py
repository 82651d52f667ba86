"""Reference embeddings of the parity clips, computed by Resemblyzer 0.1.4 itself.

For each testdata/parity/*.wav: `preprocess_wav(path)` then `VoiceEncoder("cpu").embed_utterance`,
exactly as Resemblyzer's README uses it. Writes crates/model/tests/data/parity-reference.json
with the versions of everything that shaped the numbers (librosa's resampler above all).

Usage (through scripts/parity/make-reference.sh, which sets up the venv):
    python make_reference.py [--dump DIR]   # --dump also writes each preprocessed signal as f32
"""
import argparse
import json
import platform
import sys
from pathlib import Path

import librosa
import numpy as np
import resemblyzer
import scipy
import soundfile
import soxr
import torch
import webrtcvad  # noqa: F401  (imported by resemblyzer; listed for its version)
from importlib.metadata import version
from resemblyzer import VoiceEncoder, preprocess_wav

ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dump", type=Path, help="directory for the preprocessed signals (raw f32)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    encoder = VoiceEncoder("cpu", verbose=False)
    clips = []
    for path in sorted((ROOT / "testdata/parity").glob("*.wav")):
        info = soundfile.info(str(path))
        wav = preprocess_wav(path)
        entry = {
            "file": path.name,
            "sample_rate": info.samplerate,
            "channels": info.channels,
            "seconds": round(info.frames / info.samplerate, 4),
            "preprocessed_samples": int(len(wav)),
        }
        if len(wav) > 0:
            entry["embedding"] = [float(v) for v in encoder.embed_utterance(wav)]
        clips.append(entry)
        if args.dump:
            args.dump.mkdir(parents=True, exist_ok=True)
            wav.astype("<f4").tofile(args.dump / (path.stem + ".f32"))
        print(f"{path.name}: {info.samplerate} Hz × {info.channels}, {entry['seconds']} s → "
              f"{len(wav)} samples", file=sys.stderr)
    out = {
        "generated_by": "scripts/parity/make-reference.sh",
        "reference": 'preprocess_wav(path) + VoiceEncoder("cpu").embed_utterance(wav)',
        "resampler": f"librosa.resample default res_type (soxr_hq, python-soxr {soxr.__version__})",
        "versions": {
            "python": platform.python_version(),
            "resemblyzer": version("resemblyzer"),
            "torch": torch.__version__,
            "librosa": librosa.__version__,
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "soxr": soxr.__version__,
            "soundfile": soundfile.__version__,
            "webrtcvad": version("webrtcvad"),
        },
        "clips": clips,
    }
    dest = ROOT / "crates/model/tests/data/parity-reference.json"
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {dest.relative_to(ROOT)} ({len(clips)} clips)", file=sys.stderr)


if __name__ == "__main__":
    main()
