#!/usr/bin/env python3
"""Athena for Apache Spark benchmark (issue #13): time from StartSession to IDLE, the round trip
of a trivial calculation (`spark.sql('SELECT 1').collect()`), and a group-by over 10 M rows of Parquet in the emulator's S3 (a Glue
table read with spark.sql), against the same code in a local Sail session without the emulator
(the floor: in-process Sail server, the same Parquet files on local disk), in the same run.

Usage: python bench/athena.py [--bin target/debug/cleanrooms-emulator] [--rows 10000000]
       [--files 4] [--runs 5] [--dir /tmp/cre-athena-bench]
Needs: python/requirements-spark.txt and boto3 in the running interpreter (the emulator's
sessions run on it too). Prints a table with ratios. Polling for states is done the way clients
do it, every 10 ms.
"""

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import boto3
import pyarrow as pa
import pyarrow.parquet as pq

ACCOUNT = "111111111111"
QUERY = "SELECT k, count(*) AS n, sum(v) AS total FROM {t} GROUP BY k ORDER BY k"
POLL = 0.01
TRIVIAL = "spark.sql('SELECT 1 AS x').collect()"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def generate(data_dir, rows, files):
    """`files` Parquet files of `rows` rows in total: k (1000 groups), v (double), id."""
    marker = os.path.join(data_dir, f"done-{rows}-{files}")
    if os.path.exists(marker):
        return
    shutil.rmtree(data_dir, ignore_errors=True)
    os.makedirs(data_dir)
    per_file = rows // files
    for i in range(files):
        ids = pa.array(range(i * per_file, (i + 1) * per_file), pa.int64())
        table = pa.table({"id": ids, "k": pa.compute.remainder(ids, 1000), "v": pa.compute.multiply(ids, 0.5)})
        pq.write_table(table, os.path.join(data_dir, f"part-{i:04d}.parquet"), compression="snappy")
    open(marker, "w").close()


def wait(get, done):
    while True:
        value = get()
        if done(value):
            return value
        time.sleep(POLL)


class Emulator:
    def __init__(self, binary):
        self.dir = tempfile.mkdtemp(prefix="cre-athena-bench-")
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen(
            [binary, "serve", "--port", str(port), "--data-dir", self.dir, "--spark-python", sys.executable],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self.proc.stdout.readline()  # "listening on …"
        kw = dict(endpoint_url=self.url, region_name="us-east-1", aws_access_key_id=ACCOUNT, aws_secret_access_key="x")
        self.athena = boto3.client("athena", **kw)
        self.s3 = boto3.client("s3", **kw)
        self.glue = boto3.client("glue", **kw)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(30)
        shutil.rmtree(self.dir, ignore_errors=True)

    def start_session(self):
        started = time.perf_counter()
        session_id = self.athena.start_session(WorkGroup="bench", EngineConfiguration={"MaxConcurrentDpus": 2})["SessionId"]
        state = wait(
            lambda: self.athena.get_session_status(SessionId=session_id)["Status"]["State"],
            lambda s: s in ("IDLE", "FAILED", "TERMINATED"),
        )
        assert state == "IDLE", state
        return session_id, time.perf_counter() - started

    def calculate(self, session_id, code):
        started = time.perf_counter()
        calc = self.athena.start_calculation_execution(SessionId=session_id, CodeBlock=code)["CalculationExecutionId"]
        state = wait(
            lambda: self.athena.get_calculation_execution_status(CalculationExecutionId=calc)["Status"]["State"],
            lambda s: s in ("COMPLETED", "FAILED", "CANCELED"),
        )
        assert state == "COMPLETED", self.athena.get_calculation_execution(CalculationExecutionId=calc)
        return time.perf_counter() - started


def local_session():
    from pysail.spark import SparkConnectServer
    from pyspark.sql import SparkSession

    started = time.perf_counter()
    server = SparkConnectServer("127.0.0.1", 0)
    server.start(background=True)
    host, port = server.listening_address
    spark = SparkSession.builder.remote(f"sc://{host}:{port}").getOrCreate()
    spark.conf.set("spark.sql.ansi.enabled", "false")
    spark.sql("SELECT 1").collect()
    return server, spark, time.perf_counter() - started


LOCAL_SESSION = """
import sys, time
started = float(sys.argv[1])
from pysail.spark import SparkConnectServer
from pyspark.sql import SparkSession
server = SparkConnectServer("127.0.0.1", 0)
server.start(background=True)
host, port = server.listening_address
spark = SparkSession.builder.remote(f"sc://{host}:{port}").getOrCreate()
spark.sql("SELECT 1").collect()
print(time.time() - started, flush=True)
spark.stop()
server.stop()
"""


def local_session_in_new_process():
    """Seconds from starting a Python process to a local Sail session that answers (what a
    session of the emulator does, without the emulator)."""
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as script:
        script.write(LOCAL_SESSION)
    try:
        out = subprocess.run([sys.executable, script.name, repr(time.time())], capture_output=True, text=True, check=True)
        return float(out.stdout.strip().splitlines()[-1])
    finally:
        os.unlink(script.name)


def timed(fn, runs):
    values = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        values.append(time.perf_counter() - started)
    return statistics.median(values)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default="target/debug/cleanrooms-emulator")
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--files", type=int, default=4)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--dir", default="/tmp/cre-athena-bench")
    args = parser.parse_args()
    os.environ["RUST_LOG"] = "warn"
    generate(args.dir, args.rows, args.files)

    emulator = Emulator(args.bin)
    try:
        emulator.s3.create_bucket(Bucket="bench-data")
        for name in sorted(os.listdir(args.dir)):
            if name.endswith(".parquet"):
                emulator.s3.upload_file(os.path.join(args.dir, name), "bench-data", f"t/{name}")
        emulator.glue.create_database(DatabaseInput={"Name": "bench"})
        emulator.glue.create_table(
            DatabaseName="bench",
            TableInput={
                "Name": "t",
                "Parameters": {"classification": "parquet"},
                "StorageDescriptor": {
                    "Columns": [{"Name": "id", "Type": "bigint"}, {"Name": "k", "Type": "bigint"}, {"Name": "v", "Type": "double"}],
                    "Location": "s3://bench-data/t/",
                    "SerdeInfo": {"SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"},
                },
            },
        )
        emulator.athena.create_work_group(
            Name="bench",
            Configuration={
                "EngineVersion": {"SelectedEngineVersion": "PySpark engine version 3"},
                "ExecutionRole": f"arn:aws:iam::{ACCOUNT}:role/bench",
                "ResultConfiguration": {"OutputLocation": "s3://bench-data/athena/"},
            },
        )
        starts = []
        for _ in range(3):
            session_id, seconds = emulator.start_session()
            starts.append(seconds)
            emulator.athena.terminate_session(SessionId=session_id)
            wait(lambda: emulator.athena.get_session_status(SessionId=session_id)["Status"]["State"], lambda s: s == "TERMINATED")
        session_id, seconds = emulator.start_session()
        starts.append(seconds)
        emu_start = statistics.median(starts)
        local_start = statistics.median([local_session_in_new_process() for _ in range(3)])
        server, spark, _ = local_session()
        try:
            spark.read.parquet(args.dir).createOrReplaceTempView("t")
            group_by = f"spark.sql('{QUERY.format(t='bench.t')}').collect()"
            local_code = {"spark": spark}
            # Warm up both, then alternate the emulator and the floor so load on the machine
            # hits both alike; ratios are medians of paired runs.
            emulator.calculate(session_id, group_by)
            spark.sql(QUERY.format(t="t")).collect()
            trivial, groups = [], []
            for _ in range(args.runs):
                for _ in range(2):
                    emu = emulator.calculate(session_id, TRIVIAL)
                    trivial.append((emu, timed(lambda: exec(TRIVIAL, local_code), 1)))
                emu = emulator.calculate(session_id, group_by)
                groups.append((emu, timed(lambda: spark.sql(QUERY.format(t="t")).collect(), 1)))
        finally:
            spark.stop()
            server.stop()
    finally:
        emulator.stop()
    emu_trivial = statistics.median(e for e, _ in trivial)
    local_trivial = statistics.median(l for _, l in trivial)
    trivial_over = statistics.median(e - l for e, l in trivial)
    emu_group = statistics.median(e for e, _ in groups)
    local_group_s = statistics.median(l for _, l in groups)
    group_ratio = statistics.median(e / l for e, l in groups)

    print(f"rows: {args.rows:,} in {args.files} Parquet files ({sum(os.path.getsize(os.path.join(args.dir, f)) for f in os.listdir(args.dir) if f.endswith('.parquet')) / 1e6:.0f} MB)")
    print("| metric | emulator (API) | local Sail | difference | target |")
    print("| --- | ---: | ---: | ---: | --- |")
    print(f"| StartSession → IDLE, median | {emu_start:.2f} s | {local_start:.2f} s (new process) | {emu_start - local_start:+.2f} s | ≤ 2 s |")
    print(f"| trivial calculation round trip, median | {emu_trivial * 1000:.0f} ms | {local_trivial * 1000:.0f} ms | {trivial_over * 1000:+.0f} ms | ≤ 100 ms over the floor |")
    print(f"| group-by over {args.rows / 1e6:.0f} M rows, median | {emu_group:.2f} s | {local_group_s:.2f} s | {group_ratio:.2f}× | ≤ 1.2× |")


if __name__ == "__main__":
    main()
