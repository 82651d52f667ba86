#!/usr/bin/env python3
"""Mixed load for scripts/chaos.sh: CLIENTS threads, each owning one voiceprint group on one of
the instances, enroll, identify, list, update and delete for SECONDS, and record every request
(start, end, instance, operation, outcome) and what each group should hold afterwards.

What a group should hold is tracked per voiceprint as the set of audio it may have: a request
that failed or whose answer was lost (the instance was killed) may or may not have taken effect,
so both outcomes stay acceptable. Standard library only, so CI needs nothing installed.
"""

import argparse
import hashlib
import http.client
import json
import random
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit


class Client:
    """One HTTP/1.1 keep-alive connection to one instance, reopened after any failure."""

    def __init__(self, base_url, token):
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname, parts.port
        self.token = token
        self.connection = None

    def request(self, method, path, body=None, content_type=None, timeout=60):
        """Returns (HTTP status, Coze code or None, parsed JSON or raw bytes); raises OSError or
        http.client errors when there is no answer."""
        headers = {"Authorization": f"Bearer {self.token}"}
        if content_type:
            headers["Content-Type"] = content_type
        for attempt in range(2):
            if self.connection is None:
                self.connection = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
            try:
                self.connection.request(method, path, body=body, headers=headers)
                response = self.connection.getresponse()
                data = response.read()
                break
            except (OSError, http.client.HTTPException):
                self.connection.close()
                self.connection = None
                # A keep-alive connection the server closed while idle: retry once on a new
                # one, but only before anything could have been sent.
                if attempt == 1 or method not in ("GET",):
                    raise
        if response.getheader("Content-Type", "").startswith("application/json"):
            payload = json.loads(data)
            return response.status, payload.get("code"), payload
        return response.status, None, data


def multipart(fields, audio):
    boundary = uuid.uuid4().hex
    lines = []
    for name, value in fields.items():
        lines.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    lines.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="clip.wav"\r\n'
        f"Content-Type: audio/wav\r\n\r\n".encode()
    )
    lines.append(audio)
    lines.append(f"\r\n--{boundary}--\r\n".encode())
    return b"".join(lines), f"multipart/form-data; boundary={boundary}"


class Worker(threading.Thread):
    def __init__(self, index, base_url, token, clips, stop_at, log, seed):
        super().__init__(daemon=True)
        self.index, self.base_url = index, base_url
        self.client = Client(base_url, token)
        self.clips, self.stop_at, self.log = clips, stop_at, log
        self.random = random.Random(seed)
        self.group = None
        # feature ID -> {"audio": set of acceptable SHA-256s, "maybe_deleted": bool}
        self.features = {}
        self.ambiguous_enrollments = 0

    def call(self, operation, method, path, body=None, content_type=None):
        started = time.time()
        try:
            status, code, payload = self.client.request(method, path, body, content_type)
            outcome = code if code is not None else f"http{status}"
        except (OSError, http.client.HTTPException) as err:
            status, code, payload, outcome = None, None, None, f"no answer ({type(err).__name__})"
        self.log.append(
            {"op": operation, "start": started, "end": time.time(), "instance": self.base_url, "outcome": outcome}
        )
        if code is None or code == 4009:
            # As a real client would: wait a moment before trying a server that is down or busy.
            time.sleep(0.25)
        return code, payload

    def run(self):
        while self.group is None and time.time() < self.stop_at:
            code, payload = self.call(
                "create group", "POST", "/v1/audio/voiceprint_groups",
                json.dumps({"name": f"chaos {self.index}"}), "application/json",
            )
            if code == 0:
                self.group = payload["data"]["id"]
        while time.time() < self.stop_at:
            self.step()

    def step(self):
        group, r = self.group, self.random.random()
        clip = self.random.choice(self.clips)
        present = [id for id, state in self.features.items() if not state["maybe_deleted"]]
        if r < 0.25:
            body, content_type = multipart({"top_k": "3"}, clip)
            self.call("identify", "POST", f"/v1/audio/voiceprint_groups/{group}/speaker_identify", body, content_type)
        elif r < 0.45:
            self.call("list groups", "GET", "/v1/audio/voiceprint_groups?page_size=10")
        elif r < 0.55:
            self.call("list voiceprints", "GET", f"/v1/audio/voiceprint_groups/{group}/features?page_size=50")
        elif r < 0.75 and len(self.features) < 8:
            body, content_type = multipart({"name": f"v{self.random.randrange(1000)}"}, clip)
            code, payload = self.call("enroll", "POST", f"/v1/audio/voiceprint_groups/{group}/features", body, content_type)
            if code == 0:
                self.features[payload["data"]["id"]] = {"audio": {sha256(clip)}, "maybe_deleted": False}
            elif code not in (4009, 4304):
                # No answer, or one that does not rule out a stored voiceprint.
                self.ambiguous_enrollments += 1
        elif r < 0.88 and present:
            feature = self.random.choice(present)
            path = f"/v1/audio/voiceprint_groups/{group}/features/{feature}"
            if self.random.random() < 0.5:
                self.call("rename", "PUT", path, json.dumps({"name": f"r{self.random.randrange(1000)}"}), "application/json")
            else:
                body, content_type = multipart({}, clip)
                code, _ = self.call("re-record", "PUT", path, body, content_type)
                if code == 0:
                    self.features[feature]["audio"] = {sha256(clip)}
                elif code not in (4009, 4304):
                    self.features[feature]["audio"].add(sha256(clip))
        elif present:
            feature = self.random.choice(present)
            code, _ = self.call("delete", "DELETE", f"/v1/audio/voiceprint_groups/{group}/features/{feature}")
            if code == 0:
                del self.features[feature]
            else:
                self.features[feature]["maybe_deleted"] = True
        else:
            self.call("rename group", "PUT", f"/v1/audio/voiceprint_groups/{group}",
                      json.dumps({"name": f"chaos {self.index}"}), "application/json")


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--urls", required=True, help="comma-separated base URLs of the instances")
    parser.add_argument("--token", required=True)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--clips", required=True, help="directory of WAV clips (searched recursively)")
    parser.add_argument("--out", required=True, help="JSON file for the request log and expected state")
    args = parser.parse_args()
    clips = [path.read_bytes() for path in sorted(Path(args.clips).rglob("0[1-3].wav"))]
    assert clips, f"no clips in {args.clips}"
    urls = args.urls.split(",")
    stop_at = time.time() + args.seconds
    log = []  # list.append is atomic under the GIL
    workers = [
        Worker(i, urls[i % len(urls)], args.token, clips, stop_at, log, seed=i) for i in range(args.clients)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    groups = [
        {"id": w.group, "features": {id: {"audio": sorted(s["audio"]), "maybe_deleted": s["maybe_deleted"]}
                                     for id, s in w.features.items()},
         "ambiguous_enrollments": w.ambiguous_enrollments}
        for w in workers if w.group is not None
    ]
    Path(args.out).write_text(json.dumps({"requests": log, "groups": groups}))
    print(f"load: {len(log)} requests from {args.clients} clients in {args.seconds:.0f} s")


if __name__ == "__main__":
    main()
