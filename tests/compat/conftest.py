"""Starts the real `voxprint` binary for the SDK compatibility tests.

VOXPRINT_BIN names the binary (default: target/debug/voxprint of this checkout).
VOXPRINT_TEST_DEPLOYMENT picks the storage, as for the cargo tests (see scripts/test.sh):
`embedded` (default: SQLite and a directory in a temporary data directory) or `scale-out`
(a new database on the PostgreSQL server VOXPRINT_TEST_POSTGRES names, created with psql, and
a new prefix in the S3 bucket VOXPRINT_TEST_S3_BUCKET names, reached through the AWS_* variables).
"""

import os
import subprocess
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
from cozepy import Coze, TokenAuth

REPO = Path(__file__).resolve().parents[2]


class Server:
    def __init__(self, process, base_url, storage_args, token):
        self.process = process
        self.base_url = base_url
        self.storage_args = storage_args
        self.token = token

    def admin(self, *args):
        """Runs `voxprint admin ...` on this server's storage; returns the last line of stdout."""
        out = subprocess.run(
            [voxprint_bin(), "admin", *args, *self.storage_args],
            check=True, capture_output=True, text=True,
        ).stdout
        return out.strip().splitlines()[-1]

    def client(self, token=None):
        return Coze(auth=TokenAuth(token or self.token), base_url=self.base_url)


def voxprint_bin():
    return os.environ.get("VOXPRINT_BIN", str(REPO / "target" / "debug" / "voxprint"))


@contextmanager
def storage_args(data_dir):
    """The storage flags of a fresh storage of the deployment under test."""
    deployment = os.environ.get("VOXPRINT_TEST_DEPLOYMENT", "embedded")
    if deployment == "embedded":
        yield ["--data-dir", data_dir]
        return
    assert deployment == "scale-out", f"unknown VOXPRINT_TEST_DEPLOYMENT {deployment!r}"
    admin_url = os.environ["VOXPRINT_TEST_POSTGRES"]
    bucket = os.environ["VOXPRINT_TEST_S3_BUCKET"]
    name = "vp_py_" + uuid.uuid4().hex[:16]
    subprocess.run(["psql", "-q", admin_url, "-c", f"CREATE DATABASE {name}"], check=True)
    try:
        yield [
            "--data-dir", data_dir,
            "--database-url", admin_url.rsplit("/", 1)[0] + "/" + name,
            "--blob-store", f"s3://{bucket}/{name}",
        ]
    finally:
        subprocess.run(["psql", "-q", admin_url, "-c", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"], check=False)


@contextmanager
def start_server(*extra_args):
    """A `voxprint serve` on a fresh storage of the deployment under test, with these flags."""
    with tempfile.TemporaryDirectory() as data_dir, storage_args(data_dir) as storage:
        process = subprocess.Popen(
            [voxprint_bin(), "serve", "--listen", "127.0.0.1:0", *storage, *extra_args],
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
            yield Server(process, base_url, storage, token)
        finally:
            process.terminate()
            process.wait(timeout=30)


@pytest.fixture()
def server():
    with start_server() as started:
        yield started
