"""N concurrent live streams of the test conversation; prints one Markdown row (see
scripts/bench-stream.sh). Usage: load.py BASE_URL TOKEN GROUP_ID N"""

import asyncio
import json
import statistics
import sys
import time
import wave
from pathlib import Path

from websockets.asyncio.client import connect

CORPUS = Path(__file__).resolve().parents[2] / "testdata" / "corpus"
RATE = 16000


def pcm(voice, *numbers):
    out = b""
    for n in numbers:
        with wave.open(str(CORPUS / voice / f"{n:02d}.wav")) as w:
            out += w.readframes(w.getnframes())
    return out


def conversation():
    """The audio, and each turn's expected name (None: not enrolled) with its span in seconds."""
    turns = [("flite-awb", pcm("flite-awb", 2, 3, 4)), ("flite-slt", pcm("flite-slt", 2, 3, 4)),
             (None, pcm("festival-ked", 2, 3))]
    audio, spans = b"", []
    for name, speech in turns:
        audio += b"\0\0" * int(0.7 * RATE)
        spans.append((name, len(audio) / 2 / RATE, (len(audio) + len(speech)) / 2 / RATE))
        audio += speech
    return audio + b"\0\0" * RATE, spans


async def one(url, token, audio):
    """Streams the audio at real-time pace; every event with its wall-clock time from the start."""
    events = []
    async with connect(url, additional_headers={"Authorization": f"Bearer {token}"}, open_timeout=30) as ws:
        await ws.send(json.dumps({"sample_rate": RATE, "channel": 1}))
        json.loads(await ws.recv())  # ready
        began = time.monotonic()

        async def send():
            for index, offset in enumerate(range(0, len(audio), RATE // 10 * 2)):
                await asyncio.sleep(max(0.0, began + index * 0.1 - time.monotonic()))
                await ws.send(audio[offset:offset + RATE // 5])
            await ws.send('{"event":"end"}')

        sender = asyncio.create_task(send())
        async for message in ws:
            events.append((time.monotonic() - began, json.loads(message)))
        await sender
    return events


async def main(base, token, group, n):
    audio, spans = conversation()
    url = base.replace("http://", "ws://") + f"/v1/audio/voiceprint_groups/{group}/speaker_stream"
    results = await asyncio.gather(*(one(url, token, audio) for _ in range(n)))
    latencies, right, turns, gaps = [], 0, 0, []
    for events in results:
        assert not any(e["event"] == "error" for _, e in events), events
        speakers = [(at, e) for at, e in events if e["event"] == "speaker"]
        # Consecutive updates of one utterance (0.5 s apart in stream time): their wall-clock gap.
        gaps += [b - a for (a, x), (b, y) in zip(speakers, speakers[1:]) if y["time"] - x["time"] < 0.6]
        for name, start, end in spans:
            turns += 1
            during = [(at, e) for at, e in speakers if start <= e["time"] <= end + 0.6]
            if not during:
                continue
            latencies.append(during[0][0] - start)
            first = during[0][1]
            right += (first["feature_name"] == name) if name else (not first["matched"])
    latencies.sort()
    gaps.sort()
    pick = lambda values, q: values[min(len(values) - 1, int(q * len(values)))]
    print(f"| {n} | {pick(latencies, 0.5):.2f} s | {pick(latencies, 0.9):.2f} s | {latencies[-1]:.2f} s "
          f"| {right}/{turns} | {pick(gaps, 0.5):.2f} s | {pick(gaps, 0.99):.2f} s |")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])))
