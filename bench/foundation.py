#!/usr/bin/env python3
"""Foundation benchmark: cleanrooms-emulator vs moto's server, side by side in one run.

(a) cold start: process start -> first 200 from the health endpoint, median of N runs;
(b) GetCollaboration throughput and latency (p50/p99) at 32 connections for 10 s, with wrk.

Usage: python bench/foundation.py [--bin target/release/cleanrooms-emulator] [--runs 7]
       [--duration 10] [--connections 32]
Needs: a release build (cargo build --release), `wrk` (Debian package), and bench/requirements.txt
in the running Python. Prints one table and the ratios; paste it into docs/benchmarks.md.
"""
import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

import boto3

ACCOUNT = "111111111111"


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
            time.sleep(0.001)
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


def cold_start(kind, binary, runs):
    times = []
    for _ in range(runs):
        port = free_port()
        data_dir = tempfile.mkdtemp(prefix="bench-")
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
        times.append(elapsed * 1000)
    return statistics.median(times), times


def create_collaboration(endpoint):
    client = boto3.client("cleanrooms", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id=ACCOUNT, aws_secret_access_key="x")
    return client.create_collaboration(
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
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--connections", type=int, default=32)
    args = ap.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")
    em_cold, em_all = cold_start("emulator", args.bin, args.runs)
    moto_cold, moto_all = cold_start("moto", args.bin, args.runs)
    em = throughput("emulator", args.bin, args.duration, args.connections)
    mo = throughput("moto", args.bin, args.duration, args.connections)
    print(f"machine: {os.cpu_count()} cores; runs={args.runs}; wrk -t2 -c{args.connections} -d{args.duration}s")
    print(f"{'metric':<34}{'emulator':>14}{'moto':>14}{'ratio':>10}")
    print(f"{'cold start median (ms)':<34}{em_cold:>14.1f}{moto_cold:>14.1f}{moto_cold / em_cold:>9.1f}x")
    print(f"{'GetCollaboration req/s':<34}{em['rps']:>14.0f}{mo['rps']:>14.0f}{em['rps'] / mo['rps']:>9.1f}x")
    print(f"{'GetCollaboration p50 (ms)':<34}{em['p50']:>14.2f}{mo['p50']:>14.2f}")
    print(f"{'GetCollaboration p99 (ms)':<34}{em['p99']:>14.2f}{mo['p99']:>14.2f}")
    print(f"{'non-2xx responses':<34}{em['errors']:>14}{mo['errors']:>14}")
    print(f"cold start runs (ms): emulator {[round(t, 1) for t in em_all]}, moto {[round(t, 1) for t in moto_all]}")


if __name__ == "__main__":
    main()
