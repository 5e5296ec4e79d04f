#!/usr/bin/env python3
"""S3 listing at scale: cleanrooms-emulator vs moto's server, side by side in one run.

For each bucket size (default 100, 10,000 and 100,000 objects, keys spread over 100 folders),
both servers get the same objects, then ListObjectsV2 is timed alternately on each: the first
page (MaxKeys=100), a page in the middle of the bucket (StartAfter), and a delimited listing of
the folders (Delimiter='/'). Each figure is the median of --runs calls; the ratio is the median
of the paired ratios. A listing that costs O(page) keeps its time flat as the bucket grows.

Usage: python bench/s3_listing.py [--bin target/release/cleanrooms-emulator] [--sizes 100,10000]
       [--runs 21]
Needs bench/requirements.txt (moto[server]) in the running Python.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import statistics
import tempfile
import time

import boto3
from botocore.config import Config

from foundation import free_port, start_emulator, start_moto, wait_health

ACCOUNT = "111111111111"


def client(url: str):
    return boto3.client("s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id=ACCOUNT,
                        aws_secret_access_key="x", config=Config(max_pool_connections=16, retries={"total_max_attempts": 1}))


def fill(s3, bucket: str, start: int, end: int) -> None:
    def put(i: int) -> None:
        s3.put_object(Bucket=bucket, Key=f"f{i % 100:02d}/obj-{i:07d}", Body=b"")

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(put, range(start, end)))


def timed(call) -> float:
    began = time.perf_counter()
    call()
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", default="target/release/cleanrooms-emulator")
    parser.add_argument("--sizes", default="100,10000,100000")
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    with tempfile.TemporaryDirectory() as data:
        emu_port, moto_port = free_port(), free_port()
        servers = [start_emulator(args.bin, emu_port, data), start_moto(moto_port)]
        try:
            urls = {"emulator": f"http://127.0.0.1:{emu_port}", "moto": f"http://127.0.0.1:{moto_port}"}
            wait_health(urls["emulator"] + "/_emulator/health")
            wait_health(urls["moto"] + "/moto-api/")
            clients = {name: client(url) for name, url in urls.items()}
            for s3 in clients.values():
                s3.create_bucket(Bucket="bench")
            have = 0
            print(f"{'objects':>8} {'listing':<22} {'emulator':>10} {'moto':>10} {'ratio':>7}")
            for size in sizes:
                for s3 in clients.values():
                    fill(s3, "bench", have, size)
                have = size
                middle = f"f50/obj-{size // 2:07d}"
                listings = {
                    "first page (100)": lambda s3: s3.list_objects_v2(Bucket="bench", MaxKeys=100),
                    "middle page (100)": lambda s3: s3.list_objects_v2(Bucket="bench", MaxKeys=100, StartAfter=middle),
                    "folders (Delimiter=/)": lambda s3: s3.list_objects_v2(Bucket="bench", Delimiter="/"),
                }
                for label, listing in listings.items():
                    times = {"emulator": [], "moto": []}
                    for _ in range(args.runs):  # alternate the sides
                        for name, s3 in clients.items():
                            times[name].append(timed(lambda: listing(s3)))
                    ratio = statistics.median(e / m for e, m in zip(times["emulator"], times["moto"]))
                    print(f"{size:>8} {label:<22} {1000 * statistics.median(times['emulator']):>8.1f}ms "
                          f"{1000 * statistics.median(times['moto']):>8.1f}ms {ratio:>6.2f}x", flush=True)
        finally:
            for proc in servers:
                proc.terminate()
                proc.wait(10)


if __name__ == "__main__":
    main()
