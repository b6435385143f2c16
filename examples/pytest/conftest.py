"""A pytest fixture that replays recorded AWS traffic: `replay_url` starts `snomed-vcr replay` on a free
loopback port for the test session and gives its URL; `comprehend_medical` is a boto3 client pointed at it.

Copy this file next to your tests. It needs `snomed-vcr` on PATH (`cargo install --path .`), or its path in
SNOMED_VCR, and the cassettes in CASSETTES (default: ./cassettes).
"""

import os
import subprocess

import boto3
import pytest


@pytest.fixture(scope="session")
def replay_url():
    binary = os.environ.get("SNOMED_VCR", "snomed-vcr")
    cassettes = os.environ.get("CASSETTES", "cassettes")
    proc = subprocess.Popen(
        [binary, "replay", "--cassette", cassettes, "--strict"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    first = proc.stdout.readline().strip()
    if not first.startswith("listening on "):
        proc.kill()
        raise RuntimeError(f"snomed-vcr replay did not start: {first!r} {proc.stderr.read()}")
    yield first.removeprefix("listening on ")
    # --strict: the session fails if a request went unmatched or a recorded interaction was never asked for.
    proc.terminate()
    _, stderr = proc.communicate(timeout=20)
    if proc.returncode != 0:
        pytest.fail(f"replay ended {proc.returncode}:\n{stderr}", pytrace=False)


@pytest.fixture
def comprehend_medical(replay_url):
    # Replay checks no signature: any key will do, and naming one keeps botocore from looking for credentials.
    return boto3.client(
        "comprehendmedical",
        endpoint_url=replay_url,
        region_name="us-east-1",
        aws_access_key_id="AKIDREPLAY",
        aws_secret_access_key="replay",
    )
