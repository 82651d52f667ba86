"""speaker_stream, Voxprint's live "who is speaking now?", with a real WebSocket client library
(`websockets` from PyPI): a conversation streamed at real-time pace, the order and latency of
the events, the three ways to authenticate, and bad input, limits and a client that leaves."""

import asyncio
import json
import time
import wave
from pathlib import Path

import httpx
import pytest
import websockets
from websockets.asyncio.client import connect

from conftest import start_server

CORPUS = Path(__file__).resolve().parents[2] / "testdata" / "corpus"
RATE = 16000
FRAME = RATE // 10  # samples per message: 100 ms


def pcm(voice, *numbers):
    """The 16-bit mono 16 kHz samples of utterances of one voice, joined, as bytes."""
    out = b""
    for n in numbers:
        with wave.open(str(CORPUS / voice / f"{n:02d}.wav")) as w:
            assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (RATE, 1, 2)
            out += w.readframes(w.getnframes())
    return out


def silence(seconds):
    return b"\0\0" * int(seconds * RATE)


def stream_url(server, group_id):
    return server.base_url.replace("http://", "ws://") + f"/v1/audio/voiceprint_groups/{group_id}/speaker_stream"


def bearer(server):
    return {"Authorization": f"Bearer {server.token}"}


async def received(ws, timeout=10):
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def refused(ws, code):
    """The error event with this code, then the close."""
    event = await received(ws)
    assert event["event"] == "error" and event["code"] == code, event
    with pytest.raises(websockets.ConnectionClosed):
        await received(ws)
    return event["msg"]


def test_a_conversation_streamed_live_names_each_speaker_within_a_second(server):
    groups = server.client().audio.voiceprint_groups
    group = groups.create(name="live")
    groups.features.create(group_id=group.id, name="awb", file=CORPUS / "flite-awb" / "01.wav")
    groups.features.create(group_id=group.id, name="slt", file=CORPUS / "flite-slt" / "01.wav")
    # awb, slt, then ked (not enrolled), each after a pause.
    turns = [("awb", pcm("flite-awb", 2, 3, 4)), ("slt", pcm("flite-slt", 2, 3, 4)), (None, pcm("festival-ked", 2, 3))]
    audio, starts = b"", []
    for name, speech in turns:
        audio += silence(0.7)
        starts.append((name, len(audio) / 2 / RATE, (len(audio) + len(speech)) / 2 / RATE))
        audio += speech
    audio += silence(1.0)

    async def run():
        events = []
        async with connect(stream_url(server, group.id), additional_headers=bearer(server)) as ws:
            await ws.send(json.dumps({"sample_rate": RATE, "channel": 1}))
            ready = await received(ws)
            assert ready["event"] == "ready" and ready["threshold"] == 50, ready
            began = time.monotonic()

            async def send():
                # Real-time pace: each 100 ms message when its audio would have been spoken.
                for index, offset in enumerate(range(0, len(audio), FRAME * 2)):
                    await asyncio.sleep(max(0.0, began + index * 0.1 - time.monotonic()))
                    await ws.send(audio[offset:offset + FRAME * 2])
                await ws.send(json.dumps({"event": "end"}))

            sender = asyncio.create_task(send())
            try:
                async for message in ws:
                    events.append((time.monotonic() - began, json.loads(message)))
            except websockets.ConnectionClosed:
                pass
            await sender
            assert ws.close_code == 1000, ws.close_reason
        return events

    events = asyncio.run(run())
    kinds = [event["event"] for _, event in events]
    assert "error" not in kinds, events
    # Each turn: speech_start, speaker events, speech_end, in that order, three times.
    assert [k for k in kinds if k != "speaker"] == ["speech_start", "speech_end"] * 3, kinds
    latencies = []
    for name, start, end in starts:
        during = [(at, e) for at, e in events if e["event"] == "speaker" and start <= e["time"] <= end + 0.6]
        assert during, (name, events)
        first_at, first = during[0]
        if name is None:
            assert all(not e["matched"] and e["feature_id"] is None for _, e in during), during
        else:
            assert first["feature_name"] == name and first["matched"] is True, during
            # The rest of the turn keeps naming them.
            assert sum(e["feature_name"] == name for _, e in during) >= len(during) - 1, during
        # Every event carries the stream time it is about; it is reported in time.
        assert first["time"] <= start + 1.0, (name, first)
        latencies.append(first_at - start)
        starts_at = [e["time"] for _, e in events if e["event"] == "speech_start"]
        assert any(abs(t - start) < 0.3 for t in starts_at), (start, starts_at)
    print("stream latency from a new speaker's first word to their speaker event (s):", [round(x, 2) for x in latencies])
    assert max(latencies) < 1.5, latencies
    gaps = [b["time"] - a["time"] for (_, a), (_, b) in zip(events, events[1:]) if a["event"] == b["event"] == "speaker"]
    assert gaps and max(gaps) <= 0.55, gaps


def test_browser_ways_to_authenticate_and_bad_input(server):
    group = server.client().audio.voiceprint_groups.create(name="live")
    url = stream_url(server, group.id)
    one_second = pcm("flite-awb", 2)[: RATE * 2]

    async def run():
        # The subprotocol: the server selects `voxprint` and never echoes the token.
        async with connect(url, subprotocols=["voxprint", "bearer." + server.token]) as ws:
            assert ws.subprotocol == "voxprint"
            await ws.send(json.dumps({"sample_rate": 16000, "channel": 1}))
            assert (await received(ws))["event"] == "ready"
        # The first message.
        async with connect(url) as ws:
            await ws.send(json.dumps({"sample_rate": 48000, "channel": 2, "token": server.token}))
            assert (await received(ws))["event"] == "ready"
        # No token at all, a wrong one in the message, a wrong one in the header (refused
        # before the upgrade, as an HTTP 401 with the envelope).
        async with connect(url) as ws:
            await ws.send(json.dumps({"sample_rate": 16000}))
            assert "no token" in await refused(ws, 4100)
        async with connect(url) as ws:
            await ws.send(json.dumps({"sample_rate": 16000, "token": "pat_" + "0" * 64}))
            await refused(ws, 4100)
        with pytest.raises(websockets.InvalidStatus) as failed:
            async with connect(url, additional_headers={"Authorization": "Bearer pat_nope"}):
                pass
        assert failed.value.response.status_code == 401
        assert json.loads(failed.value.response.body)["code"] == 4100
        # Another group's ID is not found.
        with pytest.raises(websockets.InvalidStatus) as failed:
            async with connect(stream_url(server, 123), additional_headers=bearer(server)):
                pass
        assert failed.value.response.status_code == 404

        # A wrong first message, a wrong rate, a wrong channel count, an oversized frame, text
        # where audio belongs.
        async with connect(url, additional_headers=bearer(server)) as ws:
            await ws.send(one_second)
            assert "first message must be JSON" in await refused(ws, 4000)
        async with connect(url, additional_headers=bearer(server)) as ws:
            await ws.send(json.dumps({"sample_rate": 1000, "channel": 1}))
            assert "sample_rate" in await refused(ws, 4000)
        async with connect(url, additional_headers=bearer(server)) as ws:
            await ws.send(json.dumps({"sample_rate": 16000, "channel": 3}))
            assert "channel" in await refused(ws, 4000)
        async with connect(url, additional_headers=bearer(server)) as ws:
            await ws.send(json.dumps({"sample_rate": 16000, "channel": 1}))
            await received(ws)
            await ws.send(b"\0" * (2 * RATE + 2))
            assert "more than a second" in await refused(ws, 4000)
        async with connect(url, additional_headers=bearer(server)) as ws:
            await ws.send(json.dumps({"sample_rate": 16000, "channel": 1}))
            await received(ws)
            await ws.send("hello")
            await refused(ws, 4000)

        # A client that disconnects mid-stream, without a close: the server lets the stream go.
        ws = await connect(url, additional_headers=bearer(server))
        await ws.send(json.dumps({"sample_rate": 16000, "channel": 1}))
        await received(ws)
        await ws.send(one_second)
        ws.transport.abort()
        for _ in range(50):
            if open_streams(server) == 0:
                break
            await asyncio.sleep(0.1)
        assert open_streams(server) == 0

    asyncio.run(run())
    # A plain GET (no upgrade) is a clear 4000.
    response = httpx.get(stream_url(server, group.id).replace("ws://", "http://"), headers=bearer(server))
    assert response.status_code == 400 and response.json()["code"] == 4000, response.text


def open_streams(server):
    metrics = httpx.get(server.base_url + "/metrics").text
    return int(float(next(line.split()[1] for line in metrics.splitlines() if line.startswith("voxprint_streams_open "))))


def test_limits_per_token_idle_clients_and_a_token_without_the_permission():
    with start_server("--max-streams-per-token", "1", "--stream-idle-timeout", "1") as server:
        group = server.client().audio.voiceprint_groups.create(name="live")
        url = stream_url(server, group.id)

        async def run():
            async with connect(url, additional_headers=bearer(server)) as first:
                await first.send(json.dumps({"sample_rate": 16000, "channel": 1}))
                assert (await received(first))["event"] == "ready"
                # The token's one stream is open: another is refused before the upgrade.
                with pytest.raises(websockets.InvalidStatus) as failed:
                    async with connect(url, additional_headers=bearer(server)):
                        pass
                assert failed.value.response.status_code == 503
                assert json.loads(failed.value.response.body)["code"] == 4009
                # The first sends nothing: closed after the idle timeout.
                started = time.monotonic()
                assert "no audio" in await refused(first, 4000)
                assert 0.8 < time.monotonic() - started < 3.0
            # Its place is free again. A silent client that never sends the first message is
            # closed as well.
            async with connect(url, additional_headers=bearer(server)) as ws:
                assert "no first message" in await refused(ws, 4000)

        asyncio.run(run())
        # A token that may identify but not stream is refused, naming the permission.
        team = server.admin("list-users").split("\t")[1]  # the admin's, the only user yet
        user = server.admin("create-user", "--team", team, "--name", "listener")
        identify_only = server.admin("create-token", "--user", user, "--permissions", "identifyInVoiceprintGroup")

        async def without_permission():
            async with connect(url) as ws:
                await ws.send(json.dumps({"sample_rate": 16000, "token": identify_only}))
                assert "streamVoiceprintGroup" in await refused(ws, 4101)

        asyncio.run(without_permission())
