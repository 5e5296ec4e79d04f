#!/usr/bin/env python3
"""Engine benchmark (issue #3): scan + aggregate over a >= 1 GB Parquet table and the same data
as CSV, the emulator's engine (DataFusion, driven through the running emulator: Glue table with a
file:// location, SQL via POST /_emulator/sql) vs DuckDB on the same files in the same run.

Usage: python bench/engine.py [--bin target/release/cleanrooms-emulator] [--rows 40000000]
       [--files 8] [--runs 5] [--dir /tmp/cre-bench-data]
Needs: a release build and bench/requirements.txt (duckdb, boto3). Prints a table with ratios.
"""
import argparse
import contextlib
import json
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time
import urllib.request

import boto3
import duckdb

QUERY = "SELECT category, count(*) AS n, sum(amount) AS total, avg(qty) AS avg_qty, max(id) AS max_id FROM {t} GROUP BY category ORDER BY category"
COLUMNS = [("id", "bigint"), ("category", "string"), ("amount", "double"), ("qty", "int"), ("note", "string")]


def generate(data_dir, rows, files):
    pq_dir = os.path.join(data_dir, "parquet")
    csv_dir = os.path.join(data_dir, "csv")
    marker = os.path.join(data_dir, f"done-{rows}-{files}")
    if os.path.exists(marker):
        return pq_dir, csv_dir
    shutil.rmtree(data_dir, ignore_errors=True)
    os.makedirs(pq_dir)
    os.makedirs(csv_dir)
    con = duckdb.connect()
    per_file = rows // files
    for i in range(files):
        src = (f"SELECT (range + {i * per_file})::BIGINT AS id, 'cat_' || (hash(range + {i}) % 100)::VARCHAR AS category, "
               f"(hash(range * 7 + {i}) % 100000) / 100.0 AS amount, (hash(range * 13 + {i}) % 50)::INTEGER AS qty, "
               f"md5((range + {i * per_file})::VARCHAR) AS note FROM range({per_file})")
        con.execute(f"COPY ({src}) TO '{pq_dir}/part-{i:04d}.parquet' (FORMAT PARQUET, COMPRESSION SNAPPY)")
        con.execute(f"COPY ({src}) TO '{csv_dir}/part-{i:04d}.csv' (FORMAT CSV, HEADER TRUE)")
    open(marker, "w").close()
    return pq_dir, csv_dir


def size_of(path):
    return sum(os.path.getsize(os.path.join(path, f)) for f in os.listdir(path))


def emulator_sql(url, sql):
    req = urllib.request.Request(f"{url}/_emulator/sql", data=json.dumps({"sql": sql, "accountId": "111111111111"}).encode(),
                                 headers={"content-type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, timeout=3600) as r:
        return json.load(r)


@contextlib.contextmanager
def serving(binary):
    """An emulator (on a port it picks) over a fresh data dir, for the `with` block; yields its URL
    and process id and stops it (and removes the data dir) afterwards."""
    state = tempfile.mkdtemp(prefix="bench-state-")
    proc = subprocess.Popen([binary, "serve", "--port", "0", "--data-dir", state],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        yield re.search(r"http://\S+", proc.stdout.readline()).group(0), proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(state, ignore_errors=True)


@contextlib.contextmanager
def running(binary):
    """[`serving`], yielding the URL only."""
    with serving(binary) as (url, _pid):
        yield url


def clock(fn):
    t0 = time.perf_counter()
    result = fn()
    return time.perf_counter() - t0, result


def paired(emulator, duck, runs):
    """Runs the two sides alternately, so a burst of load on this shared machine hits both alike;
    returns each side's median time, the median of the per-pair ratios and the last results."""
    em_ts, dd_ts, ratios = [], [], []
    em_r = dd_r = None
    for _ in range(runs):
        em_t, em_r = clock(emulator)
        dd_t, dd_r = clock(duck)
        em_ts.append(em_t)
        dd_ts.append(dd_t)
        ratios.append(em_t / dd_t)
    return statistics.median(em_ts), statistics.median(dd_ts), statistics.median(ratios), em_r, dd_r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join("target", "release", "cleanrooms-emulator"))
    ap.add_argument("--rows", type=int, default=40_000_000)
    ap.add_argument("--files", type=int, default=8)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--dir", default=os.path.join(tempfile.gettempdir(), "cre-bench-data"))
    args = ap.parse_args()
    pq_dir, csv_dir = generate(args.dir, args.rows, args.files)
    with running(args.bin) as url:
        glue = boto3.client("glue", endpoint_url=url, region_name="us-east-1",
                            aws_access_key_id="111111111111", aws_secret_access_key="x")
        glue.create_database(DatabaseInput={"Name": "bench"})
        cols = [{"Name": n, "Type": t} for n, t in COLUMNS]
        glue.create_table(DatabaseName="bench", TableInput={
            "Name": "pq", "Parameters": {"classification": "parquet"},
            "StorageDescriptor": {"Location": f"file://{pq_dir}/", "Columns": cols}})
        glue.create_table(DatabaseName="bench", TableInput={
            "Name": "csv", "Parameters": {"classification": "csv", "skip.header.line.count": "1"},
            "StorageDescriptor": {"Location": f"file://{csv_dir}/", "Columns": cols}})
        con = duckdb.connect()
        results = {}
        for fmt, path, reader in (("parquet", pq_dir, "read_parquet"), ("csv", csv_dir, "read_csv_auto")):
            em_t, dd_t, ratio, em_r, dd_r = paired(
                lambda: emulator_sql(url, QUERY.format(t=f"bench.{'pq' if fmt == 'parquet' else 'csv'}")),
                lambda: con.execute(QUERY.format(t=f"{reader}('{path}/*.{fmt}')")).fetchall(), args.runs)
            assert len(em_r["rows"]) == len(dd_r), "row counts differ"
            assert sum(r["n"] for r in em_r["rows"]) == sum(r[1] for r in dd_r) == args.files * (args.rows // args.files)
            results[fmt] = (em_t, dd_t, ratio, size_of(path))
        print(f"machine: {os.cpu_count()} cores; rows={args.files * (args.rows // args.files):,}; runs={args.runs}, alternating "
              "(median times; ratio = median of the per-run ratios)")
        print(f"query: {QUERY.format(t='t')}")
        print(f"{'format':<10}{'size':>10}{'emulator (s)':>15}{'duckdb (s)':>13}{'ratio':>9}")
        for fmt, (em_t, dd_t, ratio, size) in results.items():
            print(f"{fmt:<10}{size / 1e9:>8.2f}GB{em_t:>15.2f}{dd_t:>13.2f}{ratio:>8.2f}x")


if __name__ == "__main__":
    main()
