"""Resemblyzer 0.1.4's speed on WAV files, one thread: the peer half of scripts/bench-engine.sh.

Audio is decoded (librosa.load, as preprocess_wav would) before timing; then preprocessing
(`preprocess_wav(wav, source_sr)`: resampling, volume, VAD trimming) and the encoder
(`embed_utterance`: windows, mel, LSTM) are timed apart, best of N passes, like the Rust side.
Prints one `key value` pair per line.
"""
import sys
import time

import torch

torch.set_num_threads(1)
torch.set_num_interop_threads(1)

import librosa  # noqa: E402
from resemblyzer import VoiceEncoder, preprocess_wav  # noqa: E402


def main() -> None:
    args = sys.argv[1:]
    repeat = 5
    if args[:1] == ["--repeat"]:
        repeat, args = int(args[1]), args[2:]
    encoder = VoiceEncoder("cpu", verbose=False)
    clips = [librosa.load(path, sr=None, mono=True) for path in args]
    audio_seconds = sum(len(w) / sr for w, sr in clips)
    speeches = [preprocess_wav(w, source_sr=sr) for w, sr in clips]
    for s in speeches:
        encoder.embed_utterance(s)
    pre = enc = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        for w, sr in clips:
            preprocess_wav(w, source_sr=sr)
        pre = min(pre, time.perf_counter() - t)
        t = time.perf_counter()
        for s in speeches:
            encoder.embed_utterance(s)
        enc = min(enc, time.perf_counter() - t)
    print(f"files {len(clips)}")
    print(f"audio_seconds {audio_seconds:.3f}")
    print(f"preprocess_seconds {pre:.6f}")
    print(f"encoder_seconds {enc:.6f}")
    print(f"preprocess_x_realtime {audio_seconds / pre:.1f}")
    print(f"encoder_x_realtime {audio_seconds / enc:.1f}")
    print(f"end_to_end_x_realtime {audio_seconds / (pre + enc):.1f}")
    print(f"torch_threads {torch.get_num_threads()}")


if __name__ == "__main__":
    main()
