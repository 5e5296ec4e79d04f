#!/usr/bin/env python3
"""Foundation benchmark (issues #2, #16): cleanrooms-emulator vs moto's server, side by side in
one run, alternating the sides.

(a) cold start: process start -> first 200 from the health endpoint, on an empty data dir and on
    a data dir holding about 10,000 resources made through the API (`--fixture`, built once and
    copied for every start: collaborations, memberships, Glue databases and tables, configured
    tables with analysis rules, associations, protected queries with their results, S3 objects);
    moto starts empty (it keeps nothing);
(b) GetCollaboration throughput and latency (p50/p99) at 32 connections, with wrk, --pairs
    alternating emulator/moto runs; the ratio is the median of the per-pair ratios.

Usage: python bench/foundation.py [--bin target/release/cleanrooms-emulator] [--runs 7]
       [--pairs 3] [--duration 10] [--connections 32] [--fixture /tmp/cre-bench-fixture]
Needs: a release build, `wrk` (Debian package) and bench/requirements.txt in the running Python.
"""
import argparse
import concurrent.futures
import os
import re
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

import boto3
import duckdb

ACCOUNT = "111111111111"
FIXTURE_ACCOUNTS = [f"{100000000000 + i:012d}" for i in range(10)]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_health(url, timeout=30.0):
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return True
        except Exception:
            time.sleep(0.0005)
    return False


def start_emulator(binary, port, data_dir):
    return subprocess.Popen(
        [binary, "serve", "--port", str(port), "--data-dir", data_dir],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def start_moto(port):
    return subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def client(service, url, account):
    return boto3.client(service, endpoint_url=url, region_name="us-east-1",
                        aws_access_key_id=account, aws_secret_access_key="x")


def build_fixture(binary, fixture):
    """A data dir of about 10,000 resources, made through the API by the binary under test."""
    marker = os.path.join(fixture, "resources")
    if os.path.exists(marker):
        return int(open(marker).read())
    shutil.rmtree(fixture, ignore_errors=True)
    data_dir = os.path.join(fixture, "data")
    parquet = os.path.join(fixture, "parquet")
    os.makedirs(parquet)
    duckdb.connect().execute(
        f"COPY (SELECT range AS id, 'seg_' || (range % 5)::VARCHAR AS segment FROM range(1000)) "
        f"TO '{parquet}/part-0.parquet' (FORMAT PARQUET)")
    port = free_port()
    proc = start_emulator(binary, port, data_dir)
    url = f"http://127.0.0.1:{port}"
    try:
        if not wait_health(f"{url}/_emulator/health"):
            raise SystemExit("the emulator did not start")
        with concurrent.futures.ThreadPoolExecutor(len(FIXTURE_ACCOUNTS)) as pool:
            list(pool.map(lambda a: fill_account(url, a, parquet), FIXTURE_ACCOUNTS))
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    count = sqlite3.connect(os.path.join(data_dir, "metadata.db")).execute("SELECT count(*) FROM resources").fetchone()[0]
    with open(marker, "w") as f:
        f.write(str(count))
    return count


def fill_account(url, account, parquet):
    cr, glue, s3 = client("cleanrooms", url, account), client("glue", url, account), client("s3", url, account)
    bucket = f"fixture-{account}"
    s3.create_bucket(Bucket=bucket)
    for i in range(400):
        s3.put_object(Bucket=bucket, Key=f"data/{i // 100}/object-{i:04d}", Body=b"x" * (i % 64 + 1))
    glue.create_database(DatabaseInput={"Name": "fixture"})
    for i in range(40):
        glue.create_table(DatabaseName="fixture", TableInput={
            "Name": f"t{i:03d}", "Parameters": {"classification": "parquet"},
            "StorageDescriptor": {"Location": f"file://{parquet}/",
                                  "Columns": [{"Name": "id", "Type": "bigint"}, {"Name": "segment", "Type": "string"}]}})
    collaboration = cr.create_collaboration(
        name="fixture", description="fixture", creatorDisplayName="A", queryLogStatus="DISABLED",
        creatorMemberAbilities=["CAN_QUERY", "CAN_RECEIVE_RESULTS"], members=[])["collaboration"]
    membership = cr.create_membership(
        collaborationIdentifier=collaboration["id"], queryLogStatus="DISABLED",
        defaultResultConfiguration={"outputConfiguration": {"s3": {"resultFormat": "CSV", "bucket": bucket, "keyPrefix": "results"}}},
    )["membership"]
    custom = {"v1": {"custom": {"allowedAnalyses": ["ANY_QUERY"], "allowedAnalysisProviders": [account]}}}
    for i in range(40):
        table = cr.create_configured_table(
            name=f"t{i:03d}", tableReference={"glue": {"databaseName": "fixture", "tableName": f"t{i:03d}"}},
            allowedColumns=["id", "segment"], analysisMethod="DIRECT_QUERY")["configuredTable"]
        cr.create_configured_table_analysis_rule(configuredTableIdentifier=table["id"], analysisRuleType="CUSTOM",
                                                 analysisRulePolicy=custom)
        cr.create_configured_table_association(
            membershipIdentifier=membership["id"], name=f"t{i:03d}", configuredTableIdentifier=table["id"],
            roleArn=f"arn:aws:iam::{account}:role/fixture")
    for i in range(200):
        out = cr.start_protected_query(
            type="SQL", membershipIdentifier=membership["id"],
            sqlParameters={"queryString": f"SELECT segment, count(*) AS n FROM t{i % 40:03d} GROUP BY segment"},
        )["protectedQuery"]
        while True:
            q = cr.get_protected_query(membershipIdentifier=membership["id"], protectedQueryIdentifier=out["id"])
            if q["protectedQuery"]["status"] in ("SUCCESS", "FAILED", "CANCELLED", "TIMED_OUT"):
                break
            time.sleep(0.005)
        assert q["protectedQuery"]["status"] == "SUCCESS", q["protectedQuery"].get("error")


def cold_start_once(kind, binary, fixture_data):
    port = free_port()
    data_dir = tempfile.mkdtemp(prefix="bench-")
    if fixture_data:
        shutil.rmtree(data_dir)
        shutil.copytree(fixture_data, data_dir)
    t0 = time.perf_counter()
    proc = start_emulator(binary, port, data_dir) if kind == "emulator" else start_moto(port)
    health = f"http://127.0.0.1:{port}/_emulator/health" if kind == "emulator" else f"http://127.0.0.1:{port}/moto-api/"
    ok = wait_health(health)
    elapsed = time.perf_counter() - t0
    proc.terminate()
    proc.wait(timeout=10)
    shutil.rmtree(data_dir, ignore_errors=True)
    if not ok:
        raise SystemExit(f"{kind} did not become healthy")
    return elapsed * 1000


def create_collaboration(endpoint):
    return client("cleanrooms", endpoint, ACCOUNT).create_collaboration(
        name="bench", creatorDisplayName="A", creatorMemberAbilities=["CAN_QUERY", "CAN_RECEIVE_RESULTS"],
        members=[{"accountId": "222222222222", "displayName": "B", "memberAbilities": []}],
        queryLogStatus="DISABLED",
    )["collaboration"]["id"]


def parse_latency(text, label):
    m = re.search(rf"^\s*{label}\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
    if not m:
        return float("nan")
    value, unit = float(m.group(1)), m.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


def run_wrk(url, duration, connections):
    auth = (f"AWS4-HMAC-SHA256 Credential={ACCOUNT}/20260101/us-east-1/cleanrooms/aws4_request, "
            "SignedHeaders=host;x-amz-date, Signature=0")
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency",
         "-H", f"Authorization: {auth}", "-H", "X-Amz-Date: 20260101T000000Z", url],
        capture_output=True, text=True, check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return {
        "rps": rps,
        "p50": parse_latency(out, "50%"),
        "p99": parse_latency(out, "99%"),
        "errors": int(non2xx.group(1)) if non2xx else 0,
    }


def throughput(kind, binary, duration, connections):
    port = free_port()
    data_dir = tempfile.mkdtemp(prefix="bench-")
    proc = start_emulator(binary, port, data_dir) if kind == "emulator" else start_moto(port)
    try:
        health = f"http://127.0.0.1:{port}/_emulator/health" if kind == "emulator" else f"http://127.0.0.1:{port}/moto-api/"
        if not wait_health(health):
            raise SystemExit(f"{kind} did not start")
        endpoint = f"http://127.0.0.1:{port}"
        cid = create_collaboration(endpoint)
        return run_wrk(f"{endpoint}/collaborations/{cid}", duration, connections)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(data_dir, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join("target", "release", "cleanrooms-emulator"))
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--fixture", default=os.path.join(tempfile.gettempdir(), "cre-bench-fixture"))
    args = ap.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")
    resources = build_fixture(args.bin, args.fixture)
    fixture_data = os.path.join(args.fixture, "data")

    empty, full, moto = [], [], []
    for _ in range(args.runs):
        empty.append(cold_start_once("emulator", args.bin, None))
        full.append(cold_start_once("emulator", args.bin, fixture_data))
        moto.append(cold_start_once("moto", args.bin, None))
    pairs = []
    for i in range(args.pairs):
        sides = ("emulator", "moto") if i % 2 == 0 else ("moto", "emulator")
        result = {kind: throughput(kind, args.bin, args.duration, args.connections) for kind in sides}
        pairs.append(result)
    em = {k: statistics.median(p["emulator"][k] for p in pairs) for k in ("rps", "p50", "p99")}
    mo = {k: statistics.median(p["moto"][k] for p in pairs) for k in ("rps", "p50", "p99")}
    ratio = statistics.median(p["emulator"]["rps"] / p["moto"]["rps"] for p in pairs)
    errors = sum(p["emulator"]["errors"] for p in pairs), sum(p["moto"]["errors"] for p in pairs)

    print(f"machine: {os.cpu_count()} cores; cold starts: {args.runs} alternating; "
          f"throughput: {args.pairs} alternating pairs of wrk -t2 -c{args.connections} -d{args.duration}s")
    print(f"{'metric':<44}{'emulator':>12}{'moto':>12}{'ratio':>10}")
    print(f"{'cold start, empty data dir, median (ms)':<44}{statistics.median(empty):>12.1f}{statistics.median(moto):>12.1f}"
          f"{statistics.median(moto) / statistics.median(empty):>9.1f}x")
    print(f"{f'cold start, {resources:,} resources (ms)':<44}{statistics.median(full):>12.1f}{'':>12}")
    print(f"{'GetCollaboration req/s (median of pairs)':<44}{em['rps']:>12.0f}{mo['rps']:>12.0f}{ratio:>9.1f}x")
    print(f"{'GetCollaboration p50 (ms)':<44}{em['p50']:>12.2f}{mo['p50']:>12.2f}")
    print(f"{'GetCollaboration p99 (ms)':<44}{em['p99']:>12.2f}{mo['p99']:>12.2f}")
    print(f"{'non-2xx responses':<44}{errors[0]:>12}{errors[1]:>12}")
    print(f"cold start runs (ms): empty {[round(t, 1) for t in empty]}, {resources:,} resources "
          f"{[round(t, 1) for t in full]}, moto {[round(t, 1) for t in moto]}")
    for i, p in enumerate(pairs):
        print(f"pair {i + 1}: emulator {p['emulator']['rps']:.0f} req/s p99 {p['emulator']['p99']:.2f} ms; "
              f"moto {p['moto']['rps']:.0f} req/s; ratio {p['emulator']['rps'] / p['moto']['rps']:.1f}x")


if __name__ == "__main__":
    main()
