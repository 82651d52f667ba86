#!/usr/bin/env python3
"""Open-set identification accuracy of a running Voxprint server, beside raw cosine scoring.

Usage: bench.py BASE_URL TOKEN VOICES_DIR PROBES_DIR RAW.jsonl EVAL_VOICES...

For folds of 5 strangers among the evaluation voices, the other voices are enrolled from their
clean 01.wav in a new group, and every probe of every evaluation voice, in every condition, is
identified. A probe of an enrolled voice is a target trial: top-1 is whether its own voiceprint
ranks first, and it is falsely rejected when that voiceprint's score is below the threshold. A
stranger's probe is falsely accepted when any score reaches the threshold. The open-set EER
balances the two over thresholds. Voxprint's threshold is the one the server reports
(`data.threshold`); raw cosine (Voxprint before calibration, and Resemblyzer's scoring) is
computed from RAW.jsonl (`voxprint embed --json` of the same files) at its old recommended 79.
Prints a Markdown table.
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


def main():
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
    for fold, enrolled in enumerate(folds(voices)):
        group = call(base, token, "POST", "/v1/audio/voiceprint_groups", body={"name": f"accuracy {fold}"})["data"]["id"]
        ids = {}
        for v in enrolled:
            answer = call(base, token, "POST", f"/v1/audio/voiceprint_groups/{group}/features", {"name": v}, os.path.join(voices_dir, v, "01.wav"))
            if answer["code"] != 0:
                sys.exit(f"enrolling {v}: {answer}")
            ids[answer["data"]["id"]] = v

        def identify(probe):
            c, v, u = probe
            return probe, call(base, token, "POST", f"/v1/audio/voiceprint_groups/{group}/speaker_identify", {}, os.path.join(probes_dir, c, v, u))

        with ThreadPoolExecutor(4) as pool:
            for (c, v, u), answer in pool.map(identify, probes):
                if answer["code"] == 0:
                    threshold = answer["data"].get("threshold", threshold)
                    scores = {ids[item["feature_id"]]: item["score"] for item in answer["data"]["feature_score_list"]}
                else:
                    scores = None
                ours[c].add(v, enrolled, scores)
                probe = raw.get(os.path.join("probes", c, v, u))
                theirs[c].add(v, enrolled, None if probe is None else {w: float(raw[os.path.join("voices", w, "01.wav")] @ probe) for w in enrolled})
        call(base, token, "DELETE", f"/v1/audio/voiceprint_groups/{group}")
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
