#!/usr/bin/env python3
"""Two emulator builds side by side on the populate shapes of bench/populate.py: each gets its
own data dir and the same collaboration, and their populations alternate one by one, so a
machine that is slower or noisier than the last recorded run cannot pass for a regression (or
hide one). Prints, per shape, each build's median and the median of the per-pair ratios
NEW / OLD.

Usage: python bench/populate_ab.py OLD_BIN NEW_BIN [--runs 7] [--shapes large,small,groupby]
       [--dir /tmp/cre-bench-populate]
Needs: two release builds and bench/requirements.txt.
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import tempfile

from populate import generate, population_arguments, populate_once, setup


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("old")
    ap.add_argument("new")
    population_arguments(ap, runs=7, shapes="large,small,groupby")
    args = ap.parse_args()
    shapes = args.shapes.split(",")
    dirs = generate(args.dir)
    builds, started = {}, []
    try:
        for side, binary in (("old", args.old), ("new", args.new)):
            state = tempfile.mkdtemp(prefix=f"bench-ab-{side}-")
            proc = subprocess.Popen([binary, "serve", "--port", "0", "--data-dir", state],
                                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            started.append((proc, state))
            url = re.search(r"http://\S+", proc.stdout.readline()).group(0)
            builds[side] = setup(url, dirs, shapes)
        print(f"machine: {os.cpu_count()} cores; runs={args.runs} per build, alternating")
        for shape in shapes:
            times = {"old": [], "new": []}
            for i in range(args.runs):
                for side in (("old", "new") if i % 2 == 0 else ("new", "old")):
                    ca, ma, tables = builds[side]
                    times[side].append(populate_once(ca, ma, tables[shape], args.poll_ms / 1000)[0])
            ratios = [n / o for n, o in zip(times["new"], times["old"])]
            print(f"{shape:<9} old {statistics.median(times['old']):.3f}s  new {statistics.median(times['new']):.3f}s  "
                  f"new/old {statistics.median(ratios):.2f}x   {', '.join(f'{r:.2f}' for r in ratios)}")
    finally:
        for proc, state in started:
            proc.terminate()
            proc.wait(timeout=60)
            shutil.rmtree(state, ignore_errors=True)


if __name__ == "__main__":
    main()
