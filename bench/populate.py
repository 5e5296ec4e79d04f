#!/usr/bin/env python3
"""Populate benchmark (issue #5): PopulateIntermediateTable materialising the join of a 10 M-row
and a 1 M-row Parquet table (two parties' Glue tables) into managed storage, through boto3 against
the running emulator, vs DuckDB writing the same join of the same files to Parquet, in the same run.
Reports the median times, their ratio and the emulator's peak RSS (VmHWM).

Usage: python bench/populate.py [--bin target/release/cleanrooms-emulator] [--events 10000000]
       [--users 1000000] [--runs 3] [--dir /tmp/cre-bench-populate]
Needs: a release build and bench/requirements.txt (duckdb, boto3). Linux (reads /proc).
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time

import boto3
import duckdb

A, B = "111111111111", "222222222222"
JOIN = ("SELECT e.user_id, u.segment, u.country, e.category, e.amount "
        "FROM {events} e JOIN {users} u ON e.user_id = u.user_id")


def generate(data_dir, events, users):
    marker = os.path.join(data_dir, f"done-{events}-{users}")
    ev_dir, us_dir = os.path.join(data_dir, "events"), os.path.join(data_dir, "users")
    if os.path.exists(marker):
        return ev_dir, us_dir
    shutil.rmtree(data_dir, ignore_errors=True)
    os.makedirs(ev_dir)
    os.makedirs(us_dir)
    con = duckdb.connect()
    files = 8
    per_file = events // files
    for i in range(files):
        con.execute(
            f"COPY (SELECT (hash(range + {i * per_file}) % {users})::BIGINT AS user_id, "
            f"'cat_' || (hash(range * 3 + {i}) % 50)::VARCHAR AS category, "
            f"(hash(range * 7 + {i}) % 100000) / 100.0 AS amount FROM range({per_file})) "
            f"TO '{ev_dir}/part-{i:04d}.parquet' (FORMAT PARQUET, COMPRESSION SNAPPY)")
    con.execute(
        f"COPY (SELECT range::BIGINT AS user_id, 'seg_' || (range % 20)::VARCHAR AS segment, "
        f"'c' || (hash(range) % 200)::VARCHAR AS country FROM range({users})) "
        f"TO '{us_dir}/part-0000.parquet' (FORMAT PARQUET, COMPRESSION SNAPPY)")
    open(marker, "w").close()
    return ev_dir, us_dir


def clients(url, account):
    kw = dict(endpoint_url=url, region_name="us-east-1", aws_access_key_id=account, aws_secret_access_key="x")
    return boto3.client("cleanrooms", **kw), boto3.client("glue", **kw)


def peak_rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def setup(url, ev_dir, us_dir):
    ca, ga = clients(url, A)
    cb, gb = clients(url, B)
    custom = {"v1": {"custom": {"allowedAnalyses": ["ANY_QUERY"], "allowedAnalysisProviders": [A]}}}
    coll = ca.create_collaboration(
        name="bench", description="bench", creatorDisplayName="A", queryLogStatus="DISABLED",
        creatorMemberAbilities=["CAN_QUERY", "CAN_RECEIVE_RESULTS"],
        members=[{"accountId": B, "memberAbilities": [], "displayName": "B"}])["collaboration"]
    mb = cb.create_membership(collaborationIdentifier=coll["id"], queryLogStatus="DISABLED")["membership"]
    ma = ca.create_membership(collaborationIdentifier=coll["id"], queryLogStatus="DISABLED")["membership"]
    for cr, glue, membership, name, path, cols in (
        (ca, ga, ma, "events", ev_dir, [("user_id", "bigint"), ("category", "string"), ("amount", "double")]),
        (cb, gb, mb, "users", us_dir, [("user_id", "bigint"), ("segment", "string"), ("country", "string")]),
    ):
        glue.create_database(DatabaseInput={"Name": "bench"})
        glue.create_table(DatabaseName="bench", TableInput={
            "Name": name, "Parameters": {"classification": "parquet"},
            "StorageDescriptor": {"Location": f"file://{path}/", "Columns": [{"Name": n, "Type": t} for n, t in cols]}})
        table = cr.create_configured_table(
            name=name, tableReference={"glue": {"databaseName": "bench", "tableName": name}},
            allowedColumns=[n for n, _ in cols], analysisMethod="DIRECT_QUERY")["configuredTable"]
        cr.create_configured_table_analysis_rule(configuredTableIdentifier=table["id"], analysisRuleType="CUSTOM",
                                                 analysisRulePolicy=custom)
        cr.create_configured_table_association(
            membershipIdentifier=membership["id"], name=name, configuredTableIdentifier=table["id"],
            roleArn="arn:aws:iam::111111111111:role/bench")
    table = ca.create_intermediate_table(
        membershipIdentifier=ma["id"], name="joined",
        populationAnalysisConfiguration={"sqlParameters": {"queryString": JOIN.format(events="events", users="users")}},
    )["intermediateTable"]
    return ca, ma, table


def populate_once(ca, ma, table):
    t0 = time.perf_counter()
    out = ca.populate_intermediate_table(membershipIdentifier=ma["id"], intermediateTableIdentifier=table["id"])
    while True:
        q = ca.get_protected_query(membershipIdentifier=ma["id"], protectedQueryIdentifier=out["analysisId"])["protectedQuery"]
        if q["status"] in ("SUCCESS", "FAILED", "CANCELLED", "TIMED_OUT"):
            break
        time.sleep(0.02)
    elapsed = time.perf_counter() - t0
    assert q["status"] == "SUCCESS", q.get("error")
    return elapsed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join("target", "release", "cleanrooms-emulator"))
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--users", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--dir", default=os.path.join(tempfile.gettempdir(), "cre-bench-populate"))
    args = ap.parse_args()
    ev_dir, us_dir = generate(args.dir, args.events, args.users)
    state = tempfile.mkdtemp(prefix="bench-state-")
    out_dir = tempfile.mkdtemp(prefix="bench-duckdb-")
    proc = subprocess.Popen([args.bin, "serve", "--port", "0", "--data-dir", state],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    url = re.search(r"http://\S+", proc.stdout.readline()).group(0)
    try:
        ca, ma, table = setup(url, ev_dir, us_dir)
        idle_rss = peak_rss_mb(proc.pid)
        em = [populate_once(ca, ma, table) for _ in range(args.runs)]
        em_peak = peak_rss_mb(proc.pid)
        con = duckdb.connect()
        dd = []
        for i in range(args.runs):
            t0 = time.perf_counter()
            sql = JOIN.format(events=f"read_parquet('{ev_dir}/*.parquet')", users=f"read_parquet('{us_dir}/*.parquet')")
            con.execute(f"COPY ({sql}) TO '{out_dir}/out-{i}.parquet' (FORMAT PARQUET, COMPRESSION SNAPPY)")
            dd.append(time.perf_counter() - t0)
        rows = con.execute(f"SELECT count(*) FROM read_parquet('{out_dir}/out-0.parquet')").fetchone()[0]
        em_t, dd_t = statistics.median(em), statistics.median(dd)
        print(f"machine: {os.cpu_count()} cores; events={args.events:,} users={args.users:,}; joined rows={rows:,}; "
              f"runs={args.runs} (median)")
        print(f"{'populate (emulator)':<24}{em_t:>8.2f} s   runs: {', '.join(f'{t:.2f}' for t in em)}")
        print(f"{'COPY TO parquet (duckdb)':<24}{dd_t:>8.2f} s   runs: {', '.join(f'{t:.2f}' for t in dd)}")
        print(f"ratio emulator/duckdb: {em_t / dd_t:.2f}x")
        print(f"emulator peak RSS: {em_peak:.0f} MB (idle after setup: {idle_rss:.0f} MB)")
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        shutil.rmtree(state, ignore_errors=True)
        shutil.rmtree(out_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
