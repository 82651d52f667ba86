#!/usr/bin/env python3
"""Runs the diarization benchmark against a running Voxprint server and prints its tables.

Usage: bench.py run BASE_URL TOKEN VOICES_DIR SPLIT_DIR OUT.json [--baseline] [--label TEXT]
       bench.py tune OUT.json...          # the sweep's table, from one run per threshold

For each conversation of SPLIT_DIR/manifest.json (written by synth.py): a new group, its enrolled
speakers enrolled from their clean 01.wav (name = voice name), then speaker_diarize on the clean
and the noisy recording, one request at a time (so the latency is the request's own). Named
segments keep their name; clusters get the conversation ID before their label.

--baseline also runs what a client could do without the endpoint, on the same recordings:
consecutive 1.6 s windows (the encoder's own window), each sent to speaker_identify with
top_k=1, two at a time (one per core, as a client would): matched -> that voiceprint's name,
not matched -> one label "unknown", refused for lack of speech (4304) -> non-speech.
"""
import io
import json
import os
import statistics
import sys
import time
import urllib.error
import urllib.request
import uuid
import wave
from concurrent.futures import ThreadPoolExecutor

import score

CONDITIONS = ("clean", "noisy")
WINDOW_SECONDS = 1.6
BASELINE_IN_FLIGHT = 2
SYSTEMS = {"voxprint": "Voxprint speaker_diarize", "baseline": "baseline: 1.6 s windows × speaker_identify"}


class Server:
    def __init__(self, base, token):
        self.base, self.token = base.rstrip("/"), token

    def call(self, method, path, fields=None, audio=None, body=None):
        """One request; returns the Coze envelope (also for HTTP errors)."""
        headers = {"Authorization": f"Bearer {self.token}"}
        data = None
        if body is not None:
            data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
        elif audio is not None:
            boundary = uuid.uuid4().hex
            parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
                     for k, v in (fields or {}).items()]
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n'
                         f'Content-Type: audio/wav\r\n\r\n'.encode() + audio + b"\r\n")
            data = b"".join(parts) + f"--{boundary}--\r\n".encode()
            headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=600) as response:
                return json.load(response)
        except urllib.error.HTTPError as err:
            text = err.read().decode(errors="replace")
            try:
                return json.loads(text)
            except ValueError:  # e.g. a route this server does not have
                return {"code": err.code, "msg": text or err.reason}
        except (urllib.error.URLError, ConnectionError) as err:  # e.g. closed before the upload ended
            return {"code": None, "msg": str(err)}


def read_wav(path):
    with wave.open(path) as w:
        return w.getframerate(), w.readframes(w.getnframes())


def wav_bytes(rate, frames):
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames)
    return out.getvalue()


def diarize(server, group, cid, audio):
    """speaker_diarize; returns (segments as score.hypothesis wants them, seconds taken, error)."""
    started = time.perf_counter()
    answer = server.call("POST", f"/v1/audio/voiceprint_groups/{group}/speaker_diarize", audio=audio)
    took = time.perf_counter() - started
    if answer.get("code") != 0:
        return [], took, f"{answer.get('code')} {answer.get('msg')}"
    segments = []
    for s in answer["data"]["segments"]:
        named = s.get("feature_id") is not None
        label = s["feature_name"] if named else f"{cid}:{s['label']}"
        segments.append((float(s["start"]), float(s["end"]), label, s["feature_name"] if named else None))
    return segments, took, None


def baseline(server, group, cid, rate, frames):
    """The windowed speaker_identify baseline; returns (segments, seconds taken, errors)."""
    step = int(WINDOW_SECONDS * rate) * 2  # bytes: 16-bit mono
    starts = range(0, len(frames), step)

    def identify(offset):
        answer = server.call("POST", f"/v1/audio/voiceprint_groups/{group}/speaker_identify", {"top_k": 1},
                             wav_bytes(rate, frames[offset:offset + step]))
        return offset, answer

    started = time.perf_counter()
    with ThreadPoolExecutor(BASELINE_IN_FLIGHT) as pool:
        answers = list(pool.map(identify, starts))
    took = time.perf_counter() - started
    segments, errors = [], []
    for offset, answer in answers:
        start, end = offset / 2 / rate, min(offset + step, len(frames)) / 2 / rate
        if answer.get("code") == 4304:
            continue
        if answer.get("code") != 0:
            errors.append(f"{answer.get('code')} {answer.get('msg')}")
            continue
        best = (answer["data"]["feature_score_list"] or [None])[0]
        if best and best["matched"]:
            segments.append((start, end, best["feature_name"], best["feature_name"]))
        else:
            segments.append((start, end, f"{cid}:unknown", None))
    return segments, took, errors


def run(base, token, voices_dir, split_dir, out_path, with_baseline, label):
    server = Server(base, token)
    manifest = json.load(open(os.path.join(split_dir, "manifest.json")))
    systems = ["voxprint"] + (["baseline"] if with_baseline else [])
    tallies = {(s, c): score.Tally() for s in systems for c in CONDITIONS}
    took = {s: 0.0 for s in systems}
    hypotheses = {s: {c: {} for c in CONDITIONS} for s in systems}  # kept in OUT.json, to look into
    audio_seconds, latencies, errors = 0.0, [], []
    for conv in manifest["conversations"]:
        cid = conv["id"]
        group = server.call("POST", "/v1/audio/voiceprint_groups", body={"name": f"diarize {cid}"})["data"]["id"]
        for voice in conv["enrolled"]:
            with open(os.path.join(voices_dir, voice, "01.wav"), "rb") as f:
                answer = server.call("POST", f"/v1/audio/voiceprint_groups/{group}/features", {"name": voice}, f.read())
            if answer.get("code") != 0:
                sys.exit(f"enrolling {voice}: {answer}")
        ref = score.reference(os.path.join(split_dir, f"{cid}.rttm"))
        for condition in CONDITIONS:
            path = os.path.join(split_dir, f"{cid}.{condition}.wav")
            rate, frames = read_wav(path)
            with open(path, "rb") as f:
                segments, seconds, error = diarize(server, group, cid, f.read())
            if error:
                errors.append(f"{cid} {condition}: speaker_diarize answered {error}")
            latencies.append((conv["seconds"], seconds))
            results = {"voxprint": (segments, seconds)}
            if with_baseline:
                segments, seconds, errs = baseline(server, group, cid, rate, frames)
                errors += [f"{cid} {condition}: speaker_identify answered {e}" for e in errs]
                results["baseline"] = (segments, seconds)
            for system, (segments, seconds) in results.items():
                hypotheses[system][condition][cid] = segments
                hyp, names = score.hypothesis(cid, segments)
                tallies[system, condition].add(ref, hyp, names, set(conv["enrolled"]), conv["seconds"])
                took[system] += seconds
            audio_seconds += conv["seconds"]
        print(f"{cid}: {len(conv['speakers'])} speakers, {len(conv['enrolled'])} enrolled, "
              f"DER clean {tallies['voxprint', 'clean'].per_conversation[cid]['der']:.1%}, "
              f"noisy {tallies['voxprint', 'noisy'].per_conversation[cid]['der']:.1%}", file=sys.stderr)
        server.call("DELETE", f"/v1/audio/voiceprint_groups/{group}")
    result = {
        "label": label,
        "true_speakers": statistics.mean(len(c["speakers"]) for c in manifest["conversations"]),
        "conversations": len(manifest["conversations"]),
        "audio_seconds": audio_seconds,
        "systems": {s: {"conditions": {c: tallies[s, c].summary() for c in CONDITIONS},
                        "per_conversation": {c: tallies[s, c].per_conversation for c in CONDITIONS},
                        "audio_per_wall_second": audio_seconds / took[s],
                        "hypotheses": hypotheses[s]} for s in systems},
        "latencies": latencies,
        "errors": errors,
    }
    with open(out_path, "w") as f:
        json.dump(result, f, indent=1)
    report(result)


def pct(x):
    return f"{100 * x:.1f} %"


def report(result):
    """The evaluation tables: headline, DER components, diarization latency by length."""
    systems = result["systems"]
    print(f"{result['conversations']} conversations, each clean and with pink noise at 10 dB SNR "
          f"({result['audio_seconds']:.0f} s of audio in all); {result['label']}.\n")
    print("| system | DER clean | DER noisy 10 dB | naming clean | naming noisy | audio s per wall s |")
    print("|---|---:|---:|---:|---:|---:|")
    for s, r in systems.items():
        c, n = r["conditions"]["clean"], r["conditions"]["noisy"]
        print(f"| {SYSTEMS[s]} | {pct(c['der'])} | {pct(n['der'])} | {pct(c['naming'])} | {pct(n['naming'])} | "
              f"{r['audio_per_wall_second']:.0f} |")
    print(f"\nThroughput: speaker_diarize one request at a time; the baseline {BASELINE_IN_FLIGHT} windows in flight.")
    if "baseline" in systems:
        v, b = systems["voxprint"]["conditions"], systems["baseline"]["conditions"]
        ratio = lambda c: b[c]["der"] / v[c]["der"] if v[c]["der"] else float("inf")
        print(f"\nDER, baseline / Voxprint: clean {ratio('clean'):.2f}, noisy {ratio('noisy'):.2f}.")
    print("\nDER components (shares of the reference speech time, collar ±0.25 s, overlap scored):\n")
    print(f"| system | condition | missed speech | false alarm | speaker confusion | DER | speakers found per conversation (true: {result['true_speakers']:.2f}) |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for s, r in systems.items():
        for c, x in r["conditions"].items():
            found = speakers_found(r, c)
            print(f"| {SYSTEMS[s]} | {c} | {pct(x['missed'])} | {pct(x['false_alarm'])} | {pct(x['confusion'])} | {pct(x['der'])} | {found:.2f} |")
    print("\nNaming, by what each system said over single-speaker reference speech:\n")
    print("| system | condition | " + " | ".join(score.NAMING_PARTS) + " |")
    print("|---|---|" + "---:|" * len(score.NAMING_PARTS))
    for s, r in systems.items():
        for c, x in r["conditions"].items():
            print(f"| {SYSTEMS[s]} | {c} | " + " | ".join(pct(x["naming_parts"][p]) for p in score.NAMING_PARTS) + " |")
    print("\nspeaker_diarize latency, one request at a time (clean and noisy recordings):\n")
    print("| conversation length | requests | p50 | max |")
    print("|---|---:|---:|---:|")
    for low in (60, 80, 100):
        times = [t for length, t in result["latencies"] if low <= length < low + 20 or length >= 120 == low + 20]
        if times:
            print(f"| {low}–{low + 20} s | {len(times)} | {statistics.median(times) * 1000:.0f} ms | {max(times) * 1000:.0f} ms |")
    if result["errors"]:
        print(f"\n{len(result['errors'])} failed request(s), scored as saying nothing:")
        for error in result["errors"][:10]:
            print(f"- {error}")


def speakers_found(system, condition):
    """Distinct labels per conversation, on average: above the truth is over-splitting."""
    return statistics.mean(len({label for _, _, label, _ in segments}) for segments in system["hypotheses"][condition].values())


def tune(paths):
    """The sweep's table, one row per threshold, and the threshold of lowest mean DER."""
    rows = []
    for path in paths:
        r = json.load(open(path))
        v = r["systems"]["voxprint"]
        rows.append((float(r["label"]), v["conditions"]["clean"], v["conditions"]["noisy"],
                     speakers_found(v, "clean"), speakers_found(v, "noisy"), len(r["errors"]), r["true_speakers"]))
    rows.sort(key=lambda row: row[0])
    print(f"| cluster threshold | DER clean | DER noisy 10 dB | mean DER | naming clean | naming noisy | "
          f"speakers found clean / noisy (true: {rows[0][6]:.2f}) | failed requests |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for t, c, n, found_clean, found_noisy, failed, _ in rows:
        print(f"| {t:.2f} | {pct(c['der'])} | {pct(n['der'])} | {pct((c['der'] + n['der']) / 2)} | "
              f"{pct(c['naming'])} | {pct(n['naming'])} | {found_clean:.2f} / {found_noisy:.2f} | {failed} |")
    best = min(rows, key=lambda row: (row[1]["der"] + row[2]["der"]) / 2)
    print(f"\nLowest mean DER on the development conversations: threshold {best[0]:.2f} "
          f"({pct((best[1]['der'] + best[2]['der']) / 2)}).")


def main():
    args = sys.argv[1:]
    if args and args[0] == "tune":
        tune(args[1:])
        return
    if len(args) < 6 or args[0] != "run":
        sys.exit(__doc__)
    label = args[args.index("--label") + 1] if "--label" in args else ""
    run(*args[1:6], "--baseline" in args, label)


if __name__ == "__main__":
    main()
