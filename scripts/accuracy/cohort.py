#!/usr/bin/env python3
"""Write the built-in cohort (crates/server/assets/cohort-vN.f32) from condition sets.

Usage: cohort.py SETS.jsonl OUT.f32 DEV_VOICES...

SETS.jsonl is `voxprint embed --conditions` of each voice's enrollment (<voice>/01.wav); only
the development voices named are written, in name order: per voice its embedding, then its
conditions' embeddings, as little-endian f32.
"""
import json
import sys

import numpy as np


def main():
    sets_path, out, voices = sys.argv[1], sys.argv[2], set(sys.argv[3:])
    rows = {}
    for line in open(sets_path):
        row = json.loads(line)
        voice = row["file"].split("/")[-2]
        if voice in voices:
            rows[voice] = np.vstack([np.array(row["embedding"])[None, :], np.array(row["conditions"])])
    missing = voices - rows.keys()
    if missing:
        sys.exit(f"no condition set for {sorted(missing)}")
    np.concatenate([rows[v] for v in sorted(rows)]).astype("<f4").tofile(out)
    print(f"cohort: {len(rows)} voices written to {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
