"""Limits that protect the process: a request body over --max-request-body-bytes is refused with
HTTP 413 before it is read whole, and changes nothing; S3 object bodies are streamed and exempt."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from conftest import Emulator, EmulatorStartError
from helpers import A, collaboration_args, list_collaboration_ids


@pytest.fixture
def small_limit(tmp_path):
    server = Emulator(tmp_path / "data", tmp_path / "server.log", extra_args=("--max-request-body-bytes", "4096"))
    server.start()
    yield server
    server.stop()


def test_a_body_over_the_limit_is_refused_and_changes_nothing(small_limit):
    a = small_limit.client("cleanrooms", account=A)
    with pytest.raises(ClientError) as excinfo:
        a.create_collaboration(**collaboration_args(description="x" * 5000))
    error = excinfo.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 413
    assert error["Error"]["Code"] == "RequestEntityTooLarge"
    assert "4096 bytes" in error["Error"]["Message"]
    assert list_collaboration_ids(a) == []
    a.create_collaboration(**collaboration_args(description="fits"))
    assert len(list_collaboration_ids(a)) == 1


def test_s3_object_bodies_are_exempt(small_limit):
    s3 = small_limit.client("s3", account=A)
    s3.create_bucket(Bucket="big")
    body = b"y" * 100_000
    s3.put_object(Bucket="big", Key="k", Body=body)
    assert s3.get_object(Bucket="big", Key="k")["Body"].read() == body


def test_the_limit_flag_is_checked(tmp_path):
    server = Emulator(tmp_path / "data", tmp_path / "server.log", extra_args=("--max-request-body-bytes", "12"))
    with pytest.raises(EmulatorStartError):
        server.start(timeout=20)
    assert "max-request-body-bytes" in server.log_text()
