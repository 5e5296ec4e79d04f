#!/usr/bin/env python3
"""Populate benchmark (issues #5, #16): PopulateIntermediateTable against DuckDB writing the same
result of the same files to Snappy Parquet, in the same run, alternating the two sides, across
three shapes:

- small: the join of a 10 M-row and a 1 M-row table (two parties' Glue tables) filtered to about
  1 M result rows of 3 columns;
- large: the same join unfiltered, 10 M result rows of 5 columns;
- groupby: a group-by over 40 M rows (50 groups).

The emulator's time runs from the PopulateIntermediateTable call until GetProtectedQuery reports
SUCCESS (polled every --poll-ms). The emulator logs where each population's time went
(`cleanrooms_emulator::timings`); the script prints the median of each phase next to the call's
own latency and the polling delay. Reports the median of each side and the median of the
per-pair ratios, and the emulator's peak RSS (VmHWM).

Usage: python bench/populate.py [--bin target/release/cleanrooms-emulator] [--runs 5]
       [--shapes small,large,groupby] [--dir /tmp/cre-bench-populate]
Needs: a release build and bench/requirements.txt (duckdb, boto3). Linux (reads /proc).
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import threading
import time

import boto3
import duckdb

A, B = "111111111111", "222222222222"
EVENTS, USERS = 10_000_000, 1_000_000
SHAPES = {
    "small": "SELECT e.user_id, u.segment, e.amount FROM {events} e JOIN {users} u "
             "ON e.user_id = u.user_id WHERE e.amount < 100",
    "large": "SELECT e.user_id, u.segment, u.country, e.category, e.amount "
             "FROM {events} e JOIN {users} u ON e.user_id = u.user_id",
    "groupby": "SELECT category, count(*) AS n, sum(amount) AS total, avg(amount) AS mean, "
               "max(user_id) AS top FROM {events40} GROUP BY category",
}
PHASES = ("start_ms", "plan_ms", "open_ms", "write_ms", "snapshot_ms", "sync_ms", "settle_ms", "retain_ms")


def generate(data_dir):
    """events (10 M rows, 8 files), users (1 M rows) and events40 (the events files four times
    over, hard-linked: 40 M rows in 32 files)."""
    marker = os.path.join(data_dir, "done-v2")
    dirs = {name: os.path.join(data_dir, name) for name in ("events", "users", "events40")}
    if os.path.exists(marker):
        return dirs
    shutil.rmtree(data_dir, ignore_errors=True)
    for d in dirs.values():
        os.makedirs(d)
    con = duckdb.connect()
    files = 8
    per_file = EVENTS // files
    for i in range(files):
        con.execute(
            f"COPY (SELECT (hash(range + {i * per_file}) % {USERS})::BIGINT AS user_id, "
            f"'cat_' || (hash(range * 3 + {i}) % 50)::VARCHAR AS category, "
            f"(hash(range * 7 + {i}) % 100000) / 100.0 AS amount FROM range({per_file})) "
            f"TO '{dirs['events']}/part-{i:04d}.parquet' (FORMAT PARQUET, COMPRESSION SNAPPY)")
        for copy in range(4):
            os.link(f"{dirs['events']}/part-{i:04d}.parquet", f"{dirs['events40']}/part-{copy}-{i:04d}.parquet")
    con.execute(
        f"COPY (SELECT range::BIGINT AS user_id, 'seg_' || (range % 20)::VARCHAR AS segment, "
        f"'c' || (hash(range) % 200)::VARCHAR AS country FROM range({USERS})) "
        f"TO '{dirs['users']}/part-0000.parquet' (FORMAT PARQUET, COMPRESSION SNAPPY)")
    open(marker, "w").close()
    return dirs


def clients(url, account):
    kw = dict(endpoint_url=url, region_name="us-east-1", aws_access_key_id=account, aws_secret_access_key="x")
    return boto3.client("cleanrooms", **kw), boto3.client("glue", **kw)


def peak_rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def setup(url, dirs, shapes):
    """A collaboration of A (runs, owns events and events40) and B (owns users), CUSTOM rules
    allowing any query by A, and one intermediate table per shape."""
    ca, ga = clients(url, A)
    cb, gb = clients(url, B)
    custom = {"v1": {"custom": {"allowedAnalyses": ["ANY_QUERY"], "allowedAnalysisProviders": [A]}}}
    coll = ca.create_collaboration(
        name="bench", description="bench", creatorDisplayName="A", queryLogStatus="DISABLED",
        creatorMemberAbilities=["CAN_QUERY", "CAN_RECEIVE_RESULTS"],
        members=[{"accountId": B, "memberAbilities": [], "displayName": "B"}])["collaboration"]
    mb = cb.create_membership(collaborationIdentifier=coll["id"], queryLogStatus="DISABLED")["membership"]
    ma = ca.create_membership(collaborationIdentifier=coll["id"], queryLogStatus="DISABLED")["membership"]
    ga.create_database(DatabaseInput={"Name": "bench"})
    gb.create_database(DatabaseInput={"Name": "bench"})
    events_cols = [("user_id", "bigint"), ("category", "string"), ("amount", "double")]
    for cr, glue, membership, name, cols in (
        (ca, ga, ma, "events", events_cols),
        (ca, ga, ma, "events40", events_cols),
        (cb, gb, mb, "users", [("user_id", "bigint"), ("segment", "string"), ("country", "string")]),
    ):
        glue.create_table(DatabaseName="bench", TableInput={
            "Name": name, "Parameters": {"classification": "parquet"},
            "StorageDescriptor": {"Location": f"file://{dirs[name]}/", "Columns": [{"Name": n, "Type": t} for n, t in cols]}})
        table = cr.create_configured_table(
            name=name, tableReference={"glue": {"databaseName": "bench", "tableName": name}},
            allowedColumns=[n for n, _ in cols], analysisMethod="DIRECT_QUERY")["configuredTable"]
        cr.create_configured_table_analysis_rule(configuredTableIdentifier=table["id"], analysisRuleType="CUSTOM",
                                                 analysisRulePolicy=custom)
        cr.create_configured_table_association(
            membershipIdentifier=membership["id"], name=name, configuredTableIdentifier=table["id"],
            roleArn="arn:aws:iam::111111111111:role/bench")
    tables = {}
    for shape in shapes:
        sql = SHAPES[shape].format(events="events", users="users", events40="events40")
        tables[shape] = ca.create_intermediate_table(
            membershipIdentifier=ma["id"], name=f"bench_{shape}",
            populationAnalysisConfiguration={"sqlParameters": {"queryString": sql}},
        )["intermediateTable"]
    return ca, ma, tables


class Timings:
    """The `population timings` lines of the emulator's log, by query id."""

    def __init__(self, stream):
        self.by_query = {}
        self.lock = threading.Lock()
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream):
        for line in stream:
            if "population timings" not in line:
                continue
            fields = dict(re.findall(r"(\w+)=(\S+)", line))
            with self.lock:
                self.by_query[fields.get("query")] = {k: float(fields[k]) for k in PHASES if k in fields}

    def of(self, query_id, timeout=5.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if query_id in self.by_query:
                    return self.by_query[query_id]
            time.sleep(0.005)
        return {}


def populate_once(ca, ma, table, poll):
    t0 = time.perf_counter()
    out = ca.populate_intermediate_table(membershipIdentifier=ma["id"], intermediateTableIdentifier=table["id"])
    called = time.perf_counter() - t0
    while True:
        q = ca.get_protected_query(membershipIdentifier=ma["id"], protectedQueryIdentifier=out["analysisId"])["protectedQuery"]
        if q["status"] in ("SUCCESS", "FAILED", "CANCELLED", "TIMED_OUT"):
            break
        time.sleep(poll)
    elapsed = time.perf_counter() - t0
    assert q["status"] == "SUCCESS", q.get("error")
    return elapsed, called, out["analysisId"]


def duckdb_once(con, dirs, shape, out_dir, i):
    sql = SHAPES[shape].format(**{name: f"read_parquet('{d}/*.parquet')" for name, d in dirs.items()})
    target = f"{out_dir}/{shape}-{i}.parquet"
    t0 = time.perf_counter()
    con.execute(f"COPY ({sql}) TO '{target}' (FORMAT PARQUET, COMPRESSION SNAPPY)")
    elapsed = time.perf_counter() - t0
    rows = con.execute(f"SELECT count(*) FROM read_parquet('{target}')").fetchone()[0]
    os.remove(target)
    return elapsed, rows


def population_arguments(ap, runs, shapes):
    """The options every populate script takes: runs per side, shapes, poll interval, data dir."""
    ap.add_argument("--runs", type=int, default=runs)
    ap.add_argument("--shapes", default=shapes)
    ap.add_argument("--poll-ms", type=float, default=10.0)
    ap.add_argument("--dir", default=os.path.join(tempfile.gettempdir(), "cre-bench-populate"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join("target", "release", "cleanrooms-emulator"))
    population_arguments(ap, runs=5, shapes="small,large,groupby")
    args = ap.parse_args()
    shapes = args.shapes.split(",")
    dirs = generate(args.dir)
    state = tempfile.mkdtemp(prefix="bench-state-")
    out_dir = tempfile.mkdtemp(prefix="bench-duckdb-")
    env = dict(os.environ, CLEANROOMS_EMULATOR_LOG="warn,s3s=off,cleanrooms_emulator::timings=info", NO_COLOR="1")
    proc = subprocess.Popen([args.bin, "serve", "--port", "0", "--data-dir", state],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    url = re.search(r"http://\S+", proc.stdout.readline()).group(0)
    timings = Timings(proc.stderr)
    try:
        ca, ma, tables = setup(url, dirs, shapes)
        con = duckdb.connect()
        results = {s: {"em": [], "dd": [], "ratio": [], "call": [], "phases": [], "rows": 0} for s in shapes}
        for i in range(args.runs):
            for shape in shapes:
                r = results[shape]

                def emulator():
                    elapsed, called, query_id = populate_once(ca, ma, tables[shape], args.poll_ms / 1000)
                    r["em"].append(elapsed)
                    r["call"].append(called)
                    r["phases"].append(timings.of(query_id))

                def duck():
                    elapsed, rows = duckdb_once(con, dirs, shape, out_dir, i)
                    r["dd"].append(elapsed)
                    r["rows"] = rows

                for side in ((emulator, duck) if i % 2 == 0 else (duck, emulator)):
                    side()
                r["ratio"].append(r["em"][-1] / r["dd"][-1])
        print(f"machine: {os.cpu_count()} cores; runs={args.runs}, alternating; poll every {args.poll_ms:g} ms")
        print(f"{'shape':<9}{'rows':>12}{'emulator':>10}{'duckdb':>9}{'ratio':>8}   pair ratios")
        for shape in shapes:
            r = results[shape]
            print(f"{shape:<9}{r['rows']:>12,}{statistics.median(r['em']):>9.3f}s{statistics.median(r['dd']):>8.3f}s"
                  f"{statistics.median(r['ratio']):>7.2f}x   {', '.join(f'{x:.2f}' for x in r['ratio'])}")
        print("\nwhere the emulator's time went (median ms):")
        print(f"{'shape':<9}{'call':>8}" + "".join(f"{p[:-3]:>10}" for p in PHASES) + f"{'total':>10}")
        for shape in shapes:
            r = results[shape]
            phases = [statistics.median([t.get(p, float('nan')) for t in r["phases"]]) for p in PHASES]
            print(f"{shape:<9}{statistics.median(r['call']) * 1000:>8.1f}" + "".join(f"{x:>10.1f}" for x in phases)
                  + f"{statistics.median(r['em']) * 1000:>10.1f}")
        print(f"\nemulator peak RSS: {peak_rss_mb(proc.pid):.0f} MB")
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        shutil.rmtree(state, ignore_errors=True)
        shutil.rmtree(out_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
