"""A change of speaker without a pause, streamed at real-time pace: awb, slt, awb back to back
(the utterances' own edges are the only silence). Prints one Markdown line per change: the
wall-clock time from the new voice's first sample to the first speaker event naming it.
Usage: no_pause.py BASE_URL TOKEN GROUP_ID (awb and slt enrolled in the group)"""

import asyncio
import sys

from load import RATE, one, pcm


async def main(base, token, group):
    first, second, third = pcm("flite-awb", 2, 3, 4), pcm("flite-slt", 2, 3, 4), pcm("flite-awb", 5, 6)
    lead = b"\0\0" * (RATE // 2)
    audio = lead + first + second + third + b"\0\0" * RATE
    changes = [((len(lead) + len(first)) / 2 / RATE, "flite-slt"),
               ((len(lead) + len(first) + len(second)) / 2 / RATE, "flite-awb")]
    url = base.replace("http://", "ws://") + f"/v1/audio/voiceprint_groups/{group}/speaker_stream"
    events = await one(url, token, audio)
    for at, name in changes:
        named = next((t for t, e in events if e["event"] == "speaker" and e["time"] > at and e["feature_name"] == name), None)
        latency = f"{named - at:.2f} s" if named is not None else "never"
        print(f"| change to {name} at {at:.2f} s, no pause | {latency} |")


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:]))
