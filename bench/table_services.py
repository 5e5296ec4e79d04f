#!/usr/bin/env python3
"""Table-services benchmark (issue #14): COMPACT of a Delta table of many small files through
the Onehouse SDK against the running emulator (delta-rs OPTIMIZE inside the emulator) vs the
`deltalake` Python package's own `optimize.compact()` on a copy of the same table, in the same
run, alternating (emulator, package, emulator, ...). Each run starts from a fresh copy of the
table. Reports each side's median time, the median of the per-pair ratios and the emulator's
peak RSS (VmHWM).

The emulator's time runs from RUN SERVICE IN TABLE until SHOW RUNS reports the run COMPLETED
(polled every 20 ms), so it includes the API round trips; the run's own `durationMs` is shown
beside it.

Usage: python bench/table_services.py [--bin target/release/cleanrooms-emulator] [--files 2000]
       [--rows 20000000] [--runs 3] [--dir /tmp/cre-bench-compact]
Needs: a release build and the test requirements (tests/requirements.txt: onehouse SDK,
deltalake, pyarrow). Linux (reads /proc).
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import pyarrow as pa
import pyarrow.compute as pc
from deltalake import DeltaTable, write_deltalake
from onehouse_python_sdk.resources import OnehouseResources

TARGET_SIZE = 104_857_600  # the same target file size on both sides (delta-rs's default)


def generate(base, files, rows):
    """A Delta table of `files` appends of rows // files rows each (one small file each)."""
    marker = os.path.join(os.path.dirname(base), f"done-{files}-{rows}")
    if os.path.exists(marker):
        return
    shutil.rmtree(base, ignore_errors=True)
    per_file = rows // files
    for i in range(files):
        start = i * per_file
        ids = pa.array(range(start, start + per_file), pa.int64())
        table = pa.table({
            "id": ids,
            "user_id": pc.remainder(ids, 100_003),
            "amount": pc.divide(pc.cast(pc.remainder(ids, 10_007), pa.float64()), 100.0),
            "category": pa.array([f"cat_{(start + j) % 50}" for j in range(per_file)]),
        })
        write_deltalake(base, table, mode="append")
        if i % 200 == 0:
            print(f"  generated {i}/{files} files", file=sys.stderr)
    open(marker, "w").close()


def peak_rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def start_emulator(binary, data_dir):
    proc = subprocess.Popen([binary, "serve", "--port", "0", "--data-dir", data_dir],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    for line in proc.stdout:
        match = re.search(r"listening on (http://\S+)", line)
        if match:
            return proc, match.group(1).rstrip(".,;)/")
    raise RuntimeError("the emulator did not start")


def emulator_compact(client, key):
    started = time.perf_counter()
    run = client.run_service_in_table(key["table"], lake=key["lake"], database=key["database"], service="COMPACT")
    run_id = run.api_response["runServiceInTableApiResponse"]["tableServiceRunId"]
    while True:
        runs = client.show_runs_in_table_service(service="COMPACT", **key).api_response[
            "showRunsInTableServiceApiResponse"]["tableServiceRuns"]
        done = next(r for r in runs if r["tableServiceRunId"] == run_id)
        if done["status"] != "TABLE_SERVICE_RUN_STATUS_RUNNING" and done["status"] != "TABLE_SERVICE_RUN_STATUS_QUEUED":
            break
        time.sleep(0.02)
    elapsed = time.perf_counter() - started
    if done["status"] != "TABLE_SERVICE_RUN_STATUS_COMPLETED":
        raise RuntimeError(f"COMPACT ended {done['status']}: {done.get('errorMessage')}")
    return elapsed, int(done["durationMs"]) / 1000, done["metrics"]


def package_compact(path):
    started = time.perf_counter()
    metrics = DeltaTable(path).optimize.compact(target_size=TARGET_SIZE)
    return time.perf_counter() - started, metrics


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin", default="target/release/cleanrooms-emulator")
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--rows", type=int, default=20_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--dir", default=os.path.join(tempfile.gettempdir(), "cre-bench-compact"))
    args = parser.parse_args()

    base = os.path.join(args.dir, "base", "t")
    print(f"table: {args.files} files, {args.rows:,} rows", file=sys.stderr)
    generate(base, args.files, args.rows)
    lake = os.path.join(args.dir, "lake")
    package_copy = os.path.join(args.dir, "package", "t")
    emulator_copy = os.path.join(lake, "db", "t")
    data_dir = tempfile.mkdtemp(prefix="cre-bench-compact-data-")
    proc, url = start_emulator(args.bin, data_dir)
    try:
        client = OnehouseResources(
            account_uid="123456789012", project_uid="bench", api_key="k", api_secret="s", link_uid="l",
            region="us-east-1", user_uid="bench", base_url=url, credentials_file="/nonexistent",
            default_execute_timeout=600)
        os.makedirs(os.path.join(lake, "db"), exist_ok=True)
        client.create_lake("bench", lake_type="OBSERVED", bucket_path=f"file://{lake}", default_services_cluster="bench")
        client.create_database("db", lake="bench")
        key = {"lake": "bench", "database": "db", "table": "t"}
        shutil.copytree(base, emulator_copy)
        client.create_table_service(service="COMPACT", trigger_mode="ON_DEMAND",
                                    options={"compaction.max.bytes": TARGET_SIZE}, **key)
        emulator_times, run_times, package_times, ratios = [], [], [], []
        for i in range(args.runs):
            shutil.rmtree(emulator_copy, ignore_errors=True)
            shutil.copytree(base, emulator_copy)
            elapsed, in_run, metrics = emulator_compact(client, key)
            shutil.rmtree(package_copy, ignore_errors=True)
            shutil.copytree(base, package_copy)
            package_elapsed, package_metrics = package_compact(package_copy)
            emulator_times.append(elapsed)
            run_times.append(in_run)
            package_times.append(package_elapsed)
            ratios.append(elapsed / package_elapsed)
            print(f"  pair {i + 1}: emulator {elapsed:.2f} s (run {in_run:.2f} s, "
                  f"{metrics['numFilesRemoved']} -> {metrics['numFilesAdded']} files), "
                  f"deltalake {package_elapsed:.2f} s ({package_metrics['numFilesRemoved']} -> "
                  f"{package_metrics['numFilesAdded']} files)", file=sys.stderr)
        rss = peak_rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(30)
        shutil.rmtree(data_dir, ignore_errors=True)
    print(f"COMPACT {args.files} files / {args.rows:,} rows, median of {args.runs}:")
    print(f"  emulator  {statistics.median(emulator_times):.2f} s (run itself {statistics.median(run_times):.2f} s)")
    print(f"  deltalake {statistics.median(package_times):.2f} s")
    print(f"  ratio     {statistics.median(ratios):.2f}x (target <= 1.2x)")
    print(f"  emulator peak RSS {rss:.0f} MB (target <= 1024 MB)")


if __name__ == "__main__":
    main()
