#!/usr/bin/env python3
"""Checks what scripts/chaos.sh's load left behind, and reports the counts.

- Every voiceprint whose enrollment was answered 0 and that was not deleted is listed, and its
  audio_url gives back, byte for byte, one of the recordings it may hold.
- A listed voiceprint nobody recorded is allowed only in a group that had an enrollment without
  a clear answer.
- No request was answered 5000 (or HTTP 500) outside the fault windows.
- The RSS of the instance that was never killed did not keep growing.
Exits non-zero on any failure.
"""

import argparse
import collections
import hashlib
import json
import sys
import urllib.request


def get(url, token=None):
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.read()


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--load", required=True, help="load.py's output")
    parser.add_argument("--windows", required=True, help="JSON list of {name, start, end} fault windows")
    parser.add_argument("--rss", required=True, help="lines of 'unix-time rss-kib' of the surviving instance")
    args = parser.parse_args()
    load = json.load(open(args.load))
    windows = json.load(open(args.windows))
    failures = []

    # Outcomes, and 5000s against the fault windows.
    outcomes = collections.Counter()
    internal_errors = collections.Counter()
    for request in load["requests"]:
        outcomes[(request["op"], str(request["outcome"]))] += 1
        if request["outcome"] in (5000, "http500"):
            inside = [w["name"] for w in windows if request["start"] < w["end"] and request["end"] > w["start"]]
            internal_errors[inside[0] if inside else "outside the fault windows"] += 1
    print(f"requests: {len(load['requests'])}")
    for (operation, outcome), count in sorted(outcomes.items()):
        print(f"  {operation:18} {outcome:28} {count}")
    for window in windows:
        print(f"fault window {window['name']}: {window['end'] - window['start']:.1f} s")
    print(f"5000 answers: {dict(internal_errors) or 0}")
    if internal_errors["outside the fault windows"]:
        failures.append(f"{internal_errors['outside the fault windows']} answers of 5000 outside the fault windows")

    # What is stored.
    expected = verified = maybe_deleted = unrecorded = 0
    for group in load["groups"]:
        page = json.loads(get(f"{args.url}/v1/audio/voiceprint_groups/{group['id']}/features?page_size=200", args.token))
        if page["code"] != 0:
            failures.append(f"group {group['id']}: listing answered {page['code']}: {page['msg']}")
            continue
        listed = {item["id"]: item for item in page["data"]["items"]}
        for feature, state in group["features"].items():
            item = listed.pop(feature, None)
            if state["maybe_deleted"]:
                maybe_deleted += 1
            else:
                expected += 1
            if item is None:
                if not state["maybe_deleted"]:
                    failures.append(f"voiceprint {feature} (enrolled with answer 0) is missing")
                continue
            audio = get(item["audio_url"])
            if hashlib.sha256(audio).hexdigest() not in state["audio"]:
                failures.append(f"voiceprint {feature}: its audio is none of the recordings it may hold")
            elif not state["maybe_deleted"]:
                verified += 1
        unrecorded += len(listed)
        if listed and group["ambiguous_enrollments"] == 0:
            failures.append(f"group {group['id']}: voiceprints {sorted(listed)} were never enrolled")
    print(f"voiceprints: {expected} expected, {verified} present and byte-exact; "
          f"{maybe_deleted} with an unanswered delete; {unrecorded} from unanswered enrollments")

    # Memory of the surviving instance: after a 20 s warm-up, the second half of the run may not
    # rise above the first half's peak by more than a tenth or 16 MiB (allocator noise, and the
    # embedding cache growing with the voiceprints enrolled meanwhile).
    samples = [tuple(map(float, line.split())) for line in open(args.rss) if line.strip()]
    start = samples[0][0] + 20
    steady = [(t, rss) for t, rss in samples if t >= start]
    if len(steady) >= 4:
        half = len(steady) // 2
        first, second = max(r for _, r in steady[:half]), max(r for _, r in steady[half:])
        print(f"RSS of the surviving instance: peak {first / 1024:.0f} MiB in the first half, "
              f"{second / 1024:.0f} MiB in the second (samples every few seconds: "
              f"{', '.join(f'{r / 1024:.0f}' for _, r in steady)})")
        if second > max(first * 1.10, first + 16 * 1024):
            failures.append(f"RSS kept growing: {first / 1024:.0f} MiB → {second / 1024:.0f} MiB")
    else:
        failures.append("too few RSS samples")

    for failure in failures:
        print(f"FAIL: {failure}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
