#!/usr/bin/env python3
"""How to score a voiceprint made from several recordings, chosen on the development voices.

Usage: samples.py SETS.jsonl PROBES.jsonl N DEV_VOICES...

SETS.jsonl: `voxprint embed --conditions` of each development voice's recordings 01 … N;
PROBES.jsonl: `voxprint embed --json` of their probes in every condition, leaving out 02 … N.

Scores every probe as the server does (nearest row of the voiceprint's rows, minus 0.75 × the
mean of the 6 nearest cohort voices, threshold at CALIBRATION_CENTRE), with the voiceprint's
rows made three ways. The built-in cohort is the development voices' 01 condition sets, so each
trial's cohort is those sets without the probe's voice and the voiceprint's (leave-one-out, as in
calibrate.py). The voiceprint's rows are:
  one          the condition set of recording 01 alone (a voiceprint of one recording);
  union        all N sets together (the nearest of N × 10 rows);
  centroid, a  each row the mean of that row over the N recordings' sets, divided by its
               length to the power a: a = 0 is the plain mean (the probe's similarity to it is
               the mean of its similarities to the recordings), a = 1 the unit-length centroid.
               The mean of unit vectors is shorter than they are, so a larger a raises every
               similarity, strangers' too; the server uses the a that keeps strangers at the
               1 % the threshold was calibrated for (CENTROID_LENGTHENING in scoring.rs).
Open set as in the benchmark (folds of 5 strangers). Prints, per method, false rejection and
false acceptance at the server's threshold, and false rejection at 1 % false acceptance (which
does not depend on the calibration).
"""
import json
import sys

import numpy as np

from calibrate import folds

COHORT_NEAREST, COHORT_WEIGHT = 6, 0.75
CENTRE = 0.3158  # CALIBRATION_CENTRE of speaker/scoring.rs


def load_sets(path, voices):
    sets = {}
    for line in open(path):
        row = json.loads(line)
        voice, utterance = row["file"].split("/")[-2:]
        if voice in voices:
            rows = np.vstack([np.array(row["embedding"], dtype=np.float32)[None, :], np.array(row["conditions"], dtype=np.float32)])
            sets.setdefault(voice, {})[utterance] = rows
    return sets


def load_probes(path, voices):
    probes = {}
    for line in open(path):
        row = json.loads(line)
        parts = row["file"].split("/")
        if parts[-2] in voices:
            probes["/".join(parts[-3:])] = np.array(row["embedding"], dtype=np.float32)
    return probes


def lengthened(rows, a):
    return rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12) ** a


def trials(voiceprints, probes, voices, cohort):
    targets, nontargets = [], []
    nearness = {(name, w): float(np.max(cohort[w] @ p)) for name, p in probes.items() for w in voices}

    def cohort_sim(name, speaker, v):
        nearest = sorted((nearness[name, w] for w in voices if w not in (speaker, v)), reverse=True)[:COHORT_NEAREST]
        return float(np.mean(nearest))

    evidence = {}
    for name, p in probes.items():
        speaker = name.split("/")[1]
        for v in voices:
            evidence[name, v] = float(np.max(voiceprints[v] @ p)) - COHORT_WEIGHT * cohort_sim(name, speaker, v)
    for enrolled in folds(voices):
        for name in probes:
            speaker = name.split("/")[1]
            if speaker in enrolled:
                targets.append(evidence[name, speaker])
            else:
                nontargets.append(max(evidence[name, v] for v in enrolled))
    return np.array(targets), np.array(nontargets)


def main():
    sets_path, probes_path, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    voices = sorted(sys.argv[4:])
    sets = load_sets(sets_path, voices)
    names = [f"{k:02d}.wav" for k in range(1, n + 1)]
    probes = load_probes(probes_path, voices)
    cohort = {v: sets[v]["01.wav"] for v in voices}
    methods = {
        "one": {v: sets[v]["01.wav"] for v in voices},
        "union": {v: np.vstack([sets[v][u] for u in names]) for v in voices},
    }
    for a in (0.0, 0.25, 0.5, 0.75, 1.0):
        methods[f"centroid, a = {a:g}"] = {v: lengthened(np.mean([sets[v][u] for u in names], axis=0), a) for v in voices}
    print(f"{len(voices)} development voices, {len(probes)} probes, voiceprints from {n} recordings\n")
    print("| voiceprint rows | enrolled rejected | strangers accepted | enrolled rejected at 1 % strangers accepted |")
    print("|---|---:|---:|---:|")
    for method, voiceprints in methods.items():
        t, nt = trials(voiceprints, probes, voices, cohort)
        at_one_percent = np.mean(t < np.percentile(nt, 99))
        print(f"| {method} | {100 * np.mean(t < CENTRE):.1f} % | {100 * np.mean(nt >= CENTRE):.1f} % | {100 * at_one_percent:.1f} % |")


if __name__ == "__main__":
    main()
