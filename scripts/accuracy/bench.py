#!/usr/bin/env python3
"""Open-set identification accuracy of a running Voxprint server, beside raw cosine scoring.

Usage: bench.py BASE_URL TOKEN VOICES_DIR PROBES_DIR RAW.jsonl EVAL_VOICES...
       bench.py --samples N BASE_URL TOKEN VOICES_DIR PROBES_DIR EVAL_VOICES...

For folds of 5 strangers among the evaluation voices, the other voices are enrolled from their
clean 01.wav in a new group, and every probe of every evaluation voice, in every condition, is
identified. A probe of an enrolled voice is a target trial: top-1 is whether its own voiceprint
ranks first, and it is falsely rejected when that voiceprint's score is below the threshold. A
stranger's probe is falsely accepted when any score reaches the threshold. The open-set EER
balances the two over thresholds. Voxprint's threshold is the one the server reports
(`data.threshold`); raw cosine (Voxprint before calibration, and Resemblyzer's scoring) is
computed from RAW.jsonl (`voxprint embed --json` of the same files) at its old recommended 79.
Prints a Markdown table.

With --samples N, voiceprints made from one recording are set beside voiceprints made from N
(01.wav enrolled, 02.wav … added as samples), on the same probes: those of utterances neither
enrolls (so 02 … N are left out of both), in every condition.
"""
import json
import os
import sys
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor

import numpy as np

RAW_THRESHOLD = 0.79
STRANGERS_PER_FOLD = 5


def call(base, token, method, path, fields=None, file=None, body=None):
    headers = {"Authorization": f"Bearer {token}"}
    data = None
    if body is not None:
        data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
    elif file is not None:
        boundary = uuid.uuid4().hex
        parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode() for k, v in (fields or {}).items()]
        with open(file, "rb") as f:
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\nContent-Type: audio/wav\r\n\r\n'.encode() + f.read() + b"\r\n")
        data = b"".join(parts) + f"--{boundary}--\r\n".encode()
        headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
    request = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request) as response:
            answer = json.load(response)
    except urllib.error.HTTPError as err:
        answer = json.load(err)
    return answer


def folds(voices):
    n = len(voices)
    for f in range((n + STRANGERS_PER_FOLD - 1) // STRANGERS_PER_FOLD):
        strangers = {voices[(f * STRANGERS_PER_FOLD + j) % n] for j in range(STRANGERS_PER_FOLD)}
        yield [v for v in voices if v not in strangers]


def eer(targets, nontargets):
    targets, nontargets = np.asarray(targets), np.asarray(nontargets)
    best = 1.0
    for t in np.unique(np.concatenate([targets, nontargets])):
        best = min(best, max(np.mean(targets < t), np.mean(nontargets >= t)))
    return best


class Tally:
    def __init__(self):
        self.top1, self.targets, self.nontargets, self.refused = [], [], [], 0

    def add(self, speaker, enrolled, scores):
        """scores: {voice: score}; None when the probe was refused (counts as a rejection)."""
        if scores is None:
            self.refused += 1
            if speaker in enrolled:
                self.top1.append(False)
                self.targets.append(-np.inf)
            else:
                self.nontargets.append(-np.inf)
            return
        if speaker in enrolled:
            self.top1.append(max(scores, key=scores.get) == speaker)
            self.targets.append(scores[speaker])
        else:
            self.nontargets.append(max(scores.values()))

    def row(self, threshold):
        t, n = np.array(self.targets), np.array(self.nontargets)
        return np.mean(self.top1), np.mean(t < threshold), np.mean(n >= threshold), eer(t, n)


def enroll(base, token, group, voices_dir, voice, samples):
    """Enrolls 01.wav of the voice, then adds 02.wav … as further samples; returns the ID."""
    answer = call(base, token, "POST", f"/v1/audio/voiceprint_groups/{group}/features", {"name": voice}, os.path.join(voices_dir, voice, "01.wav"))
    if answer["code"] != 0:
        sys.exit(f"enrolling {voice}: {answer}")
    feature = answer["data"]["id"]
    for n in range(2, samples + 1):
        added = call(base, token, "POST", f"/v1/audio/voiceprint_groups/{group}/features/{feature}/samples", {}, os.path.join(voices_dir, voice, f"{n:02d}.wav"))
        if added["code"] != 0:
            sys.exit(f"adding sample {n} of {voice}: {added}")
    return feature


def run_folds(base, token, voices_dir, probes_dir, voices, probes, samples, on_answer):
    """Identifies every probe in every fold; calls on_answer(probe, enrolled, ids, answer)."""
    for fold, enrolled in enumerate(folds(voices)):
        group = call(base, token, "POST", "/v1/audio/voiceprint_groups", body={"name": f"accuracy {fold}"})["data"]["id"]
        ids = {enroll(base, token, group, voices_dir, v, samples): v for v in enrolled}

        def identify(probe):
            c, v, u = probe
            return probe, call(base, token, "POST", f"/v1/audio/voiceprint_groups/{group}/speaker_identify", {}, os.path.join(probes_dir, c, v, u))

        with ThreadPoolExecutor(4) as pool:
            for probe, answer in pool.map(identify, probes):
                on_answer(probe, enrolled, ids, answer)
        call(base, token, "DELETE", f"/v1/audio/voiceprint_groups/{group}")


def scores_of(ids, answer):
    if answer["code"] != 0:
        return None
    return {ids[item["feature_id"]]: item["score"] for item in answer["data"]["feature_score_list"]}


def compare_samples(samples, base, token, voices_dir, probes_dir, voices):
    conditions = sorted(c for c in os.listdir(probes_dir) if os.path.isdir(os.path.join(probes_dir, c)))
    used = {f"{n:02d}.wav" for n in range(1, samples + 1)}
    probes = [(c, v, u) for c in conditions for v in voices for u in sorted(os.listdir(os.path.join(probes_dir, c, v))) if u not in used]
    tallies = {n: {c: Tally() for c in conditions} for n in (1, samples)}
    threshold = None
    for n in (1, samples):
        def on_answer(probe, enrolled, ids, answer, n=n):
            nonlocal threshold
            c, v, _ = probe
            if answer["code"] == 0:
                threshold = answer["data"]["threshold"]
            tallies[n][c].add(v, enrolled, scores_of(ids, answer))
        run_folds(base, token, voices_dir, probes_dir, voices, probes, n, on_answer)
    n_targets, n_nontargets = len(tallies[1]["clean"].targets), len(tallies[1]["clean"].nontargets)
    print(f"{len(voices)} evaluation voices, {len(list(folds(voices)))} folds of {STRANGERS_PER_FOLD} strangers; per condition "
          f"{n_targets} target and {n_nontargets} stranger probes (utterances {samples + 1:02d}–07); threshold {threshold:g}.\n")
    print(f"| condition | top-1, 1 sample | top-1, {samples} samples | enrolled rejected, 1 | enrolled rejected, {samples} | strangers accepted, 1 | strangers accepted, {samples} | EER, 1 | EER, {samples} |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    pct = lambda x: f"{100 * x:.0f} %"
    rows = {n: [tallies[n][c].row(threshold) for c in conditions] for n in (1, samples)}
    for i, c in enumerate(conditions):
        a, b = rows[1][i], rows[samples][i]
        print(f"| {c} | {pct(a[0])} | {pct(b[0])} | {pct(a[1])} | {pct(b[1])} | {pct(a[2])} | {pct(b[2])} | {pct(a[3])} | {pct(b[3])} |")
    mean = lambda n, k: np.mean([row[k] for row in rows[n]])
    print(f"| **mean of conditions** | {pct(mean(1, 0))} | {pct(mean(samples, 0))} | {pct(mean(1, 1))} | {pct(mean(samples, 1))} | "
          f"{pct(mean(1, 2))} | {pct(mean(samples, 2))} | {pct(mean(1, 3))} | {pct(mean(samples, 3))} |")


def main():
    if sys.argv[1] == "--samples":
        samples = int(sys.argv[2])
        base, token, voices_dir, probes_dir = sys.argv[3:7]
        compare_samples(samples, base, token, voices_dir, probes_dir, sorted(sys.argv[7:]))
        return
    base, token, voices_dir, probes_dir, raw_path = sys.argv[1:6]
    voices = sorted(sys.argv[6:])
    raw = {}
    for line in open(raw_path):
        row = json.loads(line)
        raw[os.path.relpath(row["file"], os.path.dirname(probes_dir.rstrip("/")))] = np.array(row["embedding"])
    conditions = sorted(c for c in os.listdir(probes_dir) if os.path.isdir(os.path.join(probes_dir, c)))
    probes = [(c, v, u) for c in conditions for v in voices for u in sorted(os.listdir(os.path.join(probes_dir, c, v)))]
    ours = {c: Tally() for c in conditions}
    theirs = {c: Tally() for c in conditions}
    threshold = None

    def on_answer(probe, enrolled, ids, answer):
        nonlocal threshold
        c, v, u = probe
        if answer["code"] == 0:
            threshold = answer["data"].get("threshold", threshold)
        ours[c].add(v, enrolled, scores_of(ids, answer))
        raw_probe = raw.get(os.path.join("probes", c, v, u))
        theirs[c].add(v, enrolled, None if raw_probe is None else {w: float(raw[os.path.join("voices", w, "01.wav")] @ raw_probe) for w in enrolled})

    run_folds(base, token, voices_dir, probes_dir, voices, probes, 1, on_answer)
    if threshold is None:
        sys.exit("no identification succeeded")
    n_targets = len(ours["clean"].targets)
    n_nontargets = len(ours["clean"].nontargets)
    print(f"{len(voices)} evaluation voices, {len(list(folds(voices)))} folds of {STRANGERS_PER_FOLD} strangers; "
          f"per condition {n_targets} target and {n_nontargets} stranger probes. Thresholds: raw cosine {RAW_THRESHOLD * 100:.0f}, Voxprint {threshold:g}.\n")
    print("| condition | top-1 raw | top-1 Voxprint | enrolled rejected raw | enrolled rejected Voxprint | strangers accepted raw | strangers accepted Voxprint | EER raw | EER Voxprint | refused (Voxprint) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    pct = lambda x: f"{100 * x:.0f} %"
    for c in conditions:
        a, b = theirs[c].row(RAW_THRESHOLD), ours[c].row(threshold)
        print(f"| {c} | {pct(a[0])} | {pct(b[0])} | {pct(a[1])} | {pct(b[1])} | {pct(a[2])} | {pct(b[2])} | {pct(a[3])} | {pct(b[3])} | {ours[c].refused} |")


if __name__ == "__main__":
    main()
