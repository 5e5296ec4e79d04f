"""Limits that protect the process: a request body over --max-request-body-bytes is refused with
HTTP 413 before it is read whole, and changes nothing; S3 object bodies are streamed and exempt.
A client that does not finish its request headers within --header-read-timeout-seconds (one that
sends nothing, stalls half-way or trickles bytes) has its connection closed, while other clients
are served."""

from __future__ import annotations

import socket
import time
from urllib.parse import urlparse

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


# --------------------------------------------------------------------------------------------
# Slow clients
# --------------------------------------------------------------------------------------------

HEADER_TIMEOUT = 2
# Generous: the server closes after about HEADER_TIMEOUT; a loaded CI machine may be slow.
CLOSED_WITHIN = 30


@pytest.fixture
def short_header_timeout(tmp_path):
    server = Emulator(tmp_path / "data", tmp_path / "server.log",
                      extra_args=("--header-read-timeout-seconds", str(HEADER_TIMEOUT)))
    server.start()
    yield server
    if server.running:
        server.stop()


def connect(server: Emulator) -> socket.socket:
    url = urlparse(server.url)
    sock = socket.create_connection((url.hostname, url.port), timeout=CLOSED_WITHIN)
    return sock


def closed_by_server(sock: socket.socket, deadline: float) -> bool:
    """Reads until the server closes the connection (whatever it sends first), or the deadline."""
    while time.monotonic() < deadline:
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            if sock.recv(4096) == b"":
                return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False
    return False


def test_a_client_that_does_not_finish_its_headers_is_disconnected(short_header_timeout):
    server = short_header_timeout
    silent = connect(server)  # connects and sends nothing
    partial = connect(server)  # a request line and one header, then nothing
    partial.sendall(b"GET /_emulator/health HTTP/1.1\r\nHost: localhost\r\n")
    # A normal client on other connections is served meanwhile.
    a = server.client("cleanrooms", account=A)
    a.create_collaboration(**collaboration_args(description="served"))
    deadline = time.monotonic() + CLOSED_WITHIN
    assert closed_by_server(silent, deadline), "a connection that sent nothing stayed open"
    assert closed_by_server(partial, deadline), "a connection with half its headers stayed open"
    assert len(list_collaboration_ids(a)) == 1


def test_a_client_trickling_its_headers_is_disconnected(short_header_timeout):
    server = short_header_timeout
    trickle = connect(server)
    request = b"GET /_emulator/health HTTP/1.1\r\nHost: localhost\r\n" + b"X-Slow: " + b"a" * 200
    began = time.monotonic()
    closed = False
    for byte in request:  # a byte every 100 ms: each arrives in time, the headers never do
        try:
            trickle.sendall(bytes([byte]))
        except (ConnectionResetError, BrokenPipeError):
            closed = True
            break
        time.sleep(0.1)
        if time.monotonic() - began > CLOSED_WITHIN:
            break
    assert closed or closed_by_server(trickle, time.monotonic() + 5), "a trickling client stayed connected"
    # Requests that do arrive in time, several on one keep-alive connection, are answered.
    kept = connect(server)
    for _ in range(3):
        kept.sendall(b"GET /_emulator/health HTTP/1.1\r\nHost: localhost\r\n\r\n")
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            chunk = kept.recv(4096)
            assert chunk, "the keep-alive connection was closed"
            answer += chunk
        assert answer.startswith(b"HTTP/1.1 200")


def test_a_client_that_stalls_in_its_body_gets_408_and_is_disconnected(short_header_timeout):
    server = short_header_timeout
    stalled = connect(server)
    host = urlparse(server.url).netloc
    stalled.sendall(
        b"POST /collaborations HTTP/1.1\r\nHost: " + host.encode() + b"\r\n"
        b"Authorization: AWS4-HMAC-SHA256 Credential=111111111111/20261207/us-east-1/cleanrooms/aws4_request, "
        b"SignedHeaders=host, Signature=0\r\n"
        b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"name\": \"x"
    )
    deadline = time.monotonic() + CLOSED_WITHIN
    answer = b""
    while time.monotonic() < deadline:
        stalled.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            chunk = stalled.recv(4096)
        except (ConnectionResetError, socket.timeout):
            break
        if not chunk:
            break
        answer += chunk
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b"RequestTimeout" in answer and b"not received within 2 s" in answer
    assert b"connection: close" in answer.lower()
    # Nothing was created, and other clients are served.
    assert list_collaboration_ids(server.client("cleanrooms", account=A)) == []


def test_sigterm_does_not_wait_for_a_stalled_client(short_header_timeout):
    server = short_header_timeout
    stalled = connect(server)
    stalled.sendall(b"GET /_emulator/health HTTP/1.1\r\n")
    assert server.stop(timeout=CLOSED_WITHIN) == 0
    assert closed_by_server(stalled, time.monotonic() + 5)


def test_the_header_timeout_flag_is_checked(tmp_path):
    server = Emulator(tmp_path / "data", tmp_path / "server.log", extra_args=("--header-read-timeout-seconds", "0"))
    with pytest.raises(EmulatorStartError):
        server.start(timeout=20)
    assert "header-read-timeout-seconds" in server.log_text()
