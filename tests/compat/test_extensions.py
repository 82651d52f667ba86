"""Voxprint's own endpoints (verify, compare, samples) with a plain HTTP client, httpx (which
cozepy itself uses), beside voiceprints the official SDK made: a client that knows only the
documented wire format works with them."""

from pathlib import Path

import httpx

CORPUS = Path(__file__).resolve().parents[2] / "testdata" / "corpus"


def clip(voice, n):
    return CORPUS / voice / f"{n:02d}.wav"


def call(server, method, path, files=None):
    response = httpx.request(
        method, server.base_url + path, files=files, headers={"Authorization": f"Bearer {server.token}"}, timeout=60
    )
    body = response.json()
    assert response.headers["x-tt-logid"] == body["detail"]["logid"]
    return response.status_code, body


def wav(voice, n):
    return ("clip.wav", clip(voice, n).read_bytes(), "audio/wav")


def test_verify_compare_and_samples_over_plain_http(server):
    groups = server.client().audio.voiceprint_groups
    group = groups.create(name="extensions")
    awb = groups.features.create(group_id=group.id, name="awb", file=clip("flite-awb", 1))
    features = f"/v1/audio/voiceprint_groups/{group.id}/features/{awb.id}"

    status, body = call(server, "POST", f"{features}/verify", {"file": wav("flite-awb", 3)})
    assert status == 200 and body["code"] == 0 and body["data"]["matched"] is True, body
    status, body = call(server, "POST", f"{features}/verify", {"file": wav("festival-ked", 3)})
    assert body["data"]["matched"] is False and body["data"]["score"] < body["data"]["threshold"], body

    status, body = call(server, "POST", "/v1/audio/voiceprints/compare", {"file": wav("flite-slt", 1), "file2": wav("flite-slt", 4)})
    assert body["code"] == 0 and body["data"]["matched"] is True, body
    assert set(body["data"]["quality2"]) == {"speech_seconds", "snr_db", "bandwidth_hz", "clipping", "warnings"}
    status, body = call(server, "POST", "/v1/audio/voiceprints/compare", {"file": wav("flite-slt", 1)})
    assert (status, body["code"]) == (400, 4300), body

    status, body = call(server, "POST", f"{features}/samples", {"file": wav("flite-awb", 2)})
    assert body["code"] == 0 and body["data"]["id"].isdigit(), body
    sample = body["data"]["id"]
    status, body = call(server, "GET", f"{features}/samples")
    assert [item["id"] for item in body["data"]["items"]] == [awb.id, sample] and body["data"]["total"] == 2
    assert httpx.get(body["data"]["items"][1]["audio_url"]).content == clip("flite-awb", 2).read_bytes()
    # The SDK still parses the voiceprint list with Voxprint's extra `sample_count`.
    assert [f.id for f in groups.features.list(group_id=group.id)] == [awb.id]

    status, body = call(server, "DELETE", f"{features}/samples/{sample}")
    assert (status, body["code"]) == (200, 0) and "data" not in body, body
    status, body = call(server, "DELETE", f"{features}/samples/{awb.id}")
    assert (status, body["code"]) == (400, 4000) and "at least one sample" in body["msg"], body
