"""Soak: 64 concurrent clients across three accounts run a mix of Clean Rooms, Glue, S3 and STS
operations for a bounded time against one server. Every answer must be below 500, the server's
memory must stay flat (RSS at the end within 20 % of RSS after the warm-up) and its open file
descriptors must not grow. The figures (requests, p50/p99 latency, RSS, descriptors) are printed
and, with ``SOAK_REPORT=path``, written as JSON.

``SOAK_SECONDS`` (default 30; the CI form) and ``SOAK_CLIENTS`` (default 64) size it;
``bench/reliability.py soak`` runs the long form and docs/reliability.md records its figures.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from pathlib import Path

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from helpers import B, collaboration_args, member

SECONDS = float(os.environ.get("SOAK_SECONDS", "30"))
CLIENTS = int(os.environ.get("SOAK_CLIENTS", "64"))
WARM_UP = min(10.0, SECONDS / 4)
ACCOUNTS = ["444444444401", "444444444402", "444444444403"]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def clients_of(session, url: str, account: str) -> dict:
    """One client per service for one soak client, with its own connections (no retries: a 5xx
    must show)."""
    config = Config(retries={"total_max_attempts": 1}, connect_timeout=10, read_timeout=60)
    return {
        service: session.client(service, region_name="us-east-1", endpoint_url=url, aws_access_key_id=account,
                                aws_secret_access_key="emulator-dummy-secret-key", config=config)
        for service in ("cleanrooms", "glue", "s3", "sts")
    }


def client_loop(clients: dict, index: int, deadline: float, latencies: list, failures: list) -> None:
    rng = random.Random(index)
    account = ACCOUNTS[index % len(ACCOUNTS)]
    cr, glue, s3, sts = (clients[s] for s in ("cleanrooms", "glue", "s3", "sts"))
    bucket = f"soak-{account}"
    mine: list[str] = []
    while time.monotonic() < deadline:
        op = rng.random()
        began = time.monotonic()
        try:
            if op < 0.25:
                cr.list_collaborations(maxResults=10)
            elif op < 0.35 and mine:
                cr.get_collaboration(collaborationIdentifier=rng.choice(mine))
            elif op < 0.42:
                if len(mine) >= 1:
                    cr.delete_collaboration(collaborationIdentifier=mine.pop())
                else:
                    created = cr.create_collaboration(**collaboration_args(members=[member(B)]))
                    mine.append(created["collaboration"]["id"])
            elif op < 0.6:
                key = f"c{index}/{rng.randrange(20)}"
                s3.put_object(Bucket=bucket, Key=key, Body=rng.randbytes(rng.randrange(1, 8192)))
                s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            elif op < 0.7:
                s3.list_objects_v2(Bucket=bucket, Prefix=f"c{index}/", MaxKeys=10)
            elif op < 0.85:
                glue.get_databases()
            else:
                sts.get_caller_identity()
        except ClientError as error:
            status = error.response["ResponseMetadata"]["HTTPStatusCode"]
            code = error.response["Error"]["Code"]
            # Quota and not-found answers are the service's rules, not failures; 5xx never is.
            if status >= 500 or code not in {"ServiceQuotaExceededException", "ResourceNotFoundException"}:
                failures.append(f"{code} {status}: {error}")
        except BotoCoreError as error:
            failures.append(f"transport: {error!r}")
        latencies.append(time.monotonic() - began)


def test_soak(emulator):
    pid = emulator.proc.pid
    for account in ACCOUNTS:
        s3 = emulator.client("s3", account=account)
        try:
            s3.create_bucket(Bucket=f"soak-{account}")
        except s3.exceptions.BucketAlreadyOwnedByYou:
            pass
    # Clients are made up front: making one is slower than a request and not what is measured.
    session = boto3.session.Session()
    clients = [clients_of(session, emulator.url, ACCOUNTS[i % len(ACCOUNTS)]) for i in range(CLIENTS)]
    latencies: list[float] = []
    failures: list[str] = []
    start = time.monotonic()
    deadline = start + SECONDS
    threads = [threading.Thread(target=client_loop, args=(clients[i], i, deadline, latencies, failures), daemon=True)
               for i in range(CLIENTS)]
    for t in threads:
        t.start()
    time.sleep(WARM_UP)
    rss_warm, fds_warm = rss_kib(pid), open_fds(pid)
    warm_requests = len(latencies)
    for t in threads:
        t.join(timeout=SECONDS + 120)
        assert not t.is_alive(), "a soak client hung"
    rss_end, fds_end = rss_kib(pid), open_fds(pid)
    ordered = sorted(latencies)
    report = {
        "clients": CLIENTS,
        "seconds": SECONDS,
        "requests": len(latencies),
        "requests_after_warm_up": len(latencies) - warm_requests,
        "failures": len(failures),
        "p50_ms": round(1000 * ordered[len(ordered) // 2], 2),
        "p99_ms": round(1000 * ordered[int(len(ordered) * 0.99)], 2),
        "rss_after_warm_up_kib": rss_warm,
        "rss_end_kib": rss_end,
        "fds_after_warm_up": fds_warm,
        "fds_end": fds_end,
    }
    print(json.dumps(report))
    if os.environ.get("SOAK_REPORT"):
        Path(os.environ["SOAK_REPORT"]).write_text(json.dumps(report))
    assert not failures, "\n".join(failures[:20])
    assert len(latencies) > CLIENTS * 10, "the soak sent almost nothing: it tested nothing"
    assert rss_end <= rss_warm * 1.2, f"RSS grew from {rss_warm} KiB to {rss_end} KiB"
    # Keep-alive connections of the 64 clients come and go; a leak grows without bound.
    assert fds_end <= fds_warm + 16, f"open descriptors grew from {fds_warm} to {fds_end}"
