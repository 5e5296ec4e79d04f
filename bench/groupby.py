#!/usr/bin/env python3
"""Where the group-by of bench/populate.py loses to DuckDB (issue #16): the query over the 40 M
rows of `events40` and two reductions of it, run by the emulator's engine (a Glue table over the
files, SQL through POST /_emulator/sql: no population, no Delta write) and by DuckDB on the same
files, alternating in the same run:

- groupby: the populate benchmark's group-by (50 groups by a dictionary-encoded string);
- no-key: the same aggregates without the string column (the two numeric columns' scan);
- key-scanned: the aggregates plus max(category), without grouping (the string is decoded but
  not hashed).

Then DuckDB alone on one thread scanning each numeric column (what decompressing the Snappy
pages costs it). The difference between the lines says how much of the gap is the grouping and
how much the scan.

Usage: python bench/groupby.py [--bin target/release/cleanrooms-emulator] [--runs 5]
       [--dir /tmp/cre-bench-populate]
Needs: a release build, bench/requirements.txt, and the data bench/populate.py generates (made
here when missing).
"""
import argparse
import os
import statistics
import tempfile
import time

import boto3
import duckdb

from engine import emulator_sql, running
from populate import generate

AGGREGATES = "count(*) AS n, sum(amount) AS total, avg(amount) AS mean, max(user_id) AS top"
QUERIES = {
    "groupby": f"SELECT category, {AGGREGATES} FROM {{t}} GROUP BY category",
    "no-key": f"SELECT {AGGREGATES} FROM {{t}}",
    "key-scanned": f"SELECT max(category) AS c, {AGGREGATES} FROM {{t}}",
}
COLUMNS = [("user_id", "bigint"), ("category", "string"), ("amount", "double")]


def register_events40(url, files):
    """Glue table `bench.events40` over the Parquet files in `files`, in the emulator at `url`."""
    glue = boto3.client("glue", endpoint_url=url, region_name="us-east-1",
                        aws_access_key_id="111111111111", aws_secret_access_key="x")
    glue.create_database(DatabaseInput={"Name": "bench"})
    glue.create_table(DatabaseName="bench", TableInput={
        "Name": "events40", "Parameters": {"classification": "parquet"},
        "StorageDescriptor": {"Location": f"file://{files}/",
                              "Columns": [{"Name": n, "Type": t} for n, t in COLUMNS]}})


def timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join("target", "release", "cleanrooms-emulator"))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--dir", default=os.path.join(tempfile.gettempdir(), "cre-bench-populate"))
    args = ap.parse_args()
    files = generate(args.dir)["events40"]
    with running(args.bin) as url:
        register_events40(url, files)
        con = duckdb.connect()
        source = f"read_parquet('{files}/*.parquet')"
        print(f"machine: {os.cpu_count()} cores; runs={args.runs}, alternating (median times; "
              "ratio = median of the per-pair ratios)")
        print(f"{'query':<13}{'emulator':>10}{'duckdb':>9}{'ratio':>8}   pair ratios")
        for name, query in QUERIES.items():
            em = lambda: emulator_sql(url, query.format(t="bench.events40"))
            dd = lambda: con.execute(query.format(t=source)).fetchall()
            em(), dd()
            em_ts, dd_ts, ratios = [], [], []
            for i in range(args.runs):
                pair = (em, dd) if i % 2 == 0 else (dd, em)
                first, second = timed(pair[0]), timed(pair[1])
                e, d = (first, second) if i % 2 == 0 else (second, first)
                em_ts.append(e)
                dd_ts.append(d)
                ratios.append(e / d)
            print(f"{name:<13}{statistics.median(em_ts) * 1000:>8.0f}ms{statistics.median(dd_ts) * 1000:>7.0f}ms"
                  f"{statistics.median(ratios):>7.2f}x   {', '.join(f'{r:.2f}' for r in ratios)}")
        con.execute("SET threads = 1")
        print("\nDuckDB on one thread (best of the runs):")
        for column, agg in (("user_id", "max"), ("amount", "sum")):
            q = f"SELECT {agg}({column}) FROM {source}"
            best = min(timed(lambda: con.execute(q).fetchall()) for _ in range(args.runs))
            print(f"  {q.split(' FROM')[0]:<22}{best * 1000:>6.0f} ms for 40 M values")


if __name__ == "__main__":
    main()
