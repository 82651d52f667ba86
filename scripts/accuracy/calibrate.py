#!/usr/bin/env python3
"""Choose the scoring constants of crates/server/src/speaker/scoring.rs on the development voices.

Usage: calibrate.py SETS.jsonl PROBES.jsonl DEV_VOICES...

SETS.jsonl: `voxprint embed --conditions` of each voice's enrollment (<voice>/01.wav);
PROBES.jsonl: `voxprint embed --json` of the probe files (.../<condition>/<voice>/NN.wav).
Only the development voices named on the command line are read, so nothing here sees the
voices the benchmark reports on.

Open-set protocol as in the benchmark: folds of 5 strangers, the rest enrolled. A probe of an
enrolled voice gives a target trial (its own voiceprint's evidence); a stranger's probe gives a
non-target trial (its best evidence over the group). The built-in cohort is the development set
itself, so each trial's cohort leaves out the probe's voice and the voiceprint's (leave-one-out):
the cohort never contains the speakers being compared, as in a deployment.

Chooses the cohort size and weight with the lowest false rejection, over all conditions
together, at 1 % false acceptance; then the calibration: CENTRE is that 1 % point (the
threshold, 50 on the score scale) and SCALE the inverse slope of a logistic regression of
target vs non-target on the evidence.
"""
import json
import sys

import numpy as np


def load(path, voices, key):
    out = {}
    for line in open(path):
        row = json.loads(line)
        parts = row["file"].split("/")
        if parts[-2] in voices:
            out["/".join(parts[-3:])] = np.array(row[key], dtype=np.float32)
    return out


def folds(voices, k=5):
    for f in range((len(voices) + k - 1) // k):
        strangers = {voices[(f * k + j) % len(voices)] for j in range(k)}
        yield [v for v in voices if v not in strangers]


def trials(sets, probes, voices, nearest, weight):
    best = {}  # (probe, voice) -> best similarity to that voice's condition set
    for name, p in probes.items():
        for v in voices:
            best[name, v] = float(np.max(sets[v] @ p))
    targets, nontargets = [], []
    for enrolled in folds(voices):
        for name in probes:
            speaker = name.split("/")[1]

            def evidence(v):
                cohort = sorted((best[name, w] for w in voices if w not in (speaker, v)), reverse=True)[:nearest]
                return best[name, v] - weight * float(np.mean(cohort))

            if speaker in enrolled:
                targets.append(evidence(speaker))
            else:
                nontargets.append(max(evidence(v) for v in enrolled))
    return np.array(targets), np.array(nontargets)


def logistic_slope(targets, nontargets):
    x = np.concatenate([targets, nontargets])
    y = np.concatenate([np.ones(len(targets)), np.zeros(len(nontargets))])
    w = np.where(y == 1, 0.5 / len(targets), 0.5 / len(nontargets))  # equal priors
    a, b = 10.0, -5.0
    for _ in range(200):  # Newton's method on the weighted log-likelihood
        p = 1 / (1 + np.exp(-(a * x + b)))
        g = np.array([np.sum(w * (p - y) * x), np.sum(w * (p - y))])
        h = np.array([[np.sum(w * p * (1 - p) * x * x), np.sum(w * p * (1 - p) * x)],
                      [np.sum(w * p * (1 - p) * x), np.sum(w * p * (1 - p))]])
        a, b = np.array([a, b]) - np.linalg.solve(h + 1e-9 * np.eye(2), g)
    return a


def main():
    sets_path, probes_path, voices = sys.argv[1], sys.argv[2], sorted(sys.argv[3:])
    embeddings, conditions = load(sets_path, voices, "embedding"), load(sets_path, voices, "conditions")
    sets = {key.split("/")[1]: np.vstack([embeddings[key][None, :], conditions[key]]) for key in embeddings}
    probes = load(probes_path, voices, "embedding")
    print(f"{len(sets)} development voices, {len(probes)} probes", file=sys.stderr)
    t, n = trials({v: rows[:1] for v, rows in sets.items()}, probes, voices, 6, 0.0)
    print(f"raw cosine: false rejection {np.mean(t < np.percentile(n, 99)):.3f} at 1 % false acceptance", file=sys.stderr)
    results = []
    for nearest in (3, 6, 10):
        for weight in (0.0, 0.25, 0.5, 0.75):
            t, n = trials(sets, probes, voices, nearest, weight)
            centre = float(np.percentile(n, 99))
            frr = float(np.mean(t < centre))
            results.append((frr, nearest, weight, centre, t, n))
            print(f"nearest {nearest:2d} weight {weight:.2f}: false rejection {frr:.3f} at 1 % false acceptance", file=sys.stderr)
    frr, nearest, weight, centre, t, n = min(results, key=lambda r: (r[0], -r[1]))
    scale = 1 / logistic_slope(t, n)
    print(json.dumps({"COHORT_NEAREST": nearest, "COHORT_WEIGHT": weight,
                      "CALIBRATION_CENTRE": round(centre, 4), "CALIBRATION_SCALE": round(float(scale), 4),
                      "development_false_rejection": round(frr, 4)}))


if __name__ == "__main__":
    main()
