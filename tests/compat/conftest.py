"""Starts the real `voxprint` binary for the SDK compatibility tests.

VOXPRINT_BIN names the binary (default: target/debug/voxprint of this checkout).
"""

import os
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from cozepy import Coze, TokenAuth

REPO = Path(__file__).resolve().parents[2]


class Server:
    def __init__(self, process, base_url, data_dir, token):
        self.process = process
        self.base_url = base_url
        self.data_dir = data_dir
        self.token = token

    def admin(self, *args):
        """Runs `voxprint admin ...` on this server's storage; returns the last line of stdout."""
        out = subprocess.run(
            [voxprint_bin(), "admin", *args, "--data-dir", self.data_dir],
            check=True, capture_output=True, text=True,
        ).stdout
        return out.strip().splitlines()[-1]

    def client(self, token=None):
        return Coze(auth=TokenAuth(token or self.token), base_url=self.base_url)


def voxprint_bin():
    return os.environ.get("VOXPRINT_BIN", str(REPO / "target" / "debug" / "voxprint"))


@pytest.fixture()
def server():
    with tempfile.TemporaryDirectory() as data_dir:
        process = subprocess.Popen(
            [voxprint_bin(), "serve", "--listen", "127.0.0.1:0", "--data-dir", data_dir],
            stdout=subprocess.PIPE, text=True, env={**os.environ, "VOXPRINT_LOG": "warn"},
        )
        try:
            deadline = time.time() + 60
            base_url = None
            while time.time() < deadline:
                line = process.stdout.readline()
                if not line:
                    raise RuntimeError("voxprint exited before listening")
                if line.startswith("voxprint listening on "):
                    base_url = line.split()[-1]
                    break
            assert base_url, "voxprint did not start in time"
            token = Path(data_dir, "admin-token").read_text().strip()
            yield Server(process, base_url, data_dir, token)
        finally:
            process.terminate()
            process.wait(timeout=30)
