"""A change of speaker without a pause, streamed at real-time pace: awb, slt, awb back to back
(the utterances' own edges are the only silence). Prints one Markdown line per change: the
wall-clock time from the new voice's first sample to the first speaker event naming it.
Usage: no_pause.py BASE_URL TOKEN GROUP_ID (awb and slt enrolled in the group)"""

import asyncio
import json
import sys
import time

from websockets.asyncio.client import connect

from load import RATE, pcm


async def main(base, token, group):
    first, second, third = pcm("flite-awb", 2, 3, 4), pcm("flite-slt", 2, 3, 4), pcm("flite-awb", 5, 6)
    lead = b"\0\0" * (RATE // 2)
    audio = lead + first + second + third + b"\0\0" * RATE
    changes = [((len(lead) + len(first)) / 2 / RATE, "flite-slt"),
               ((len(lead) + len(first) + len(second)) / 2 / RATE, "flite-awb")]
    url = base.replace("http://", "ws://") + f"/v1/audio/voiceprint_groups/{group}/speaker_stream"
    events = []
    async with connect(url, additional_headers={"Authorization": f"Bearer {token}"}) as ws:
        await ws.send(json.dumps({"sample_rate": RATE, "channel": 1}))
        await ws.recv()  # ready
        began = time.monotonic()

        async def send():
            for index, offset in enumerate(range(0, len(audio), RATE // 5)):
                await asyncio.sleep(max(0.0, began + index * 0.1 - time.monotonic()))
                await ws.send(audio[offset:offset + RATE // 5])
            await ws.send('{"event":"end"}')

        sender = asyncio.create_task(send())
        async for message in ws:
            events.append((time.monotonic() - began, json.loads(message)))
        await sender
    for at, name in changes:
        named = next((t for t, e in events if e["event"] == "speaker" and e["time"] > at and e["feature_name"] == name), None)
        latency = f"{named - at:.2f} s" if named is not None else "never"
        print(f"| change to {name} at {at:.2f} s, no pause | {latency} |")


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:]))
