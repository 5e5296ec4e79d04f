#!/usr/bin/env python3
"""Two emulator builds side by side on the queries of bench/groupby.py (through POST
/_emulator/sql over the 40 M rows of `events40`), alternating query by query. Besides the wall
time it reads each server's CPU time (utime + stime from /proc) around every query: on a machine
shared with compilers the CPU a query costs moves far less than its wall time. Prints, per
query, each build's median wall and CPU time, the medians of the per-pair ratios NEW / OLD and
each build's least CPU time (the run the other load on the machine disturbed least).

Usage: python bench/groupby_ab.py OLD_BIN NEW_BIN [--runs 9] [--dir /tmp/cre-bench-populate]
Needs: two release builds, bench/requirements.txt, the data bench/populate.py generates. Linux.
"""
import argparse
import contextlib
import os
import statistics
import tempfile
import time

from engine import emulator_sql, serving
from groupby import QUERIES, register_events40
from populate import generate

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """User + system CPU time of process `pid` so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--runs", type=int, default=9)
    ap.add_argument("--dir", default=os.path.join(tempfile.gettempdir(), "cre-bench-populate"))
    args = ap.parse_args()
    files = generate(args.dir)["events40"]
    with contextlib.ExitStack() as stack:
        builds = {side: stack.enter_context(serving(binary))
                  for side, binary in (("old", args.old), ("new", args.new))}
        for url, _pid in builds.values():
            register_events40(url, files)

        def run(side, sql):
            url, pid = builds[side]
            cpu, wall = cpu_seconds(pid), time.perf_counter()
            emulator_sql(url, sql)
            return time.perf_counter() - wall, cpu_seconds(pid) - cpu

        print(f"machine: {os.cpu_count()} cores; runs={args.runs} per build, alternating "
              "(medians; ratios = medians of the per-pair ratios new/old)")
        print(f"{'query':<13}{'old wall':>9}{'new wall':>9}{'ratio':>7}"
              f"{'old cpu':>9}{'new cpu':>9}{'ratio':>7}{'min cpu':>15}   cpu pair ratios")
        for name, query in QUERIES.items():
            sql = query.format(t="bench.events40")
            run("old", sql), run("new", sql)
            times = {"old": [], "new": []}
            for i in range(args.runs):
                for side in (("old", "new") if i % 2 == 0 else ("new", "old")):
                    times[side].append(run(side, sql))
            wall = [n[0] / o[0] for o, n in zip(times["old"], times["new"])]
            cpu = [n[1] / o[1] for o, n in zip(times["old"], times["new"])]
            med = lambda side, k: statistics.median(t[k] for t in times[side]) * 1000
            least = lambda side: min(t[1] for t in times[side]) * 1000
            print(f"{name:<13}{med('old', 0):>7.0f}ms{med('new', 0):>7.0f}ms"
                  f"{statistics.median(wall):>6.2f}x{med('old', 1):>7.0f}ms{med('new', 1):>7.0f}ms"
                  f"{statistics.median(cpu):>6.2f}x{least('old'):>7.0f}/{least('new'):.0f}ms"
                  f"   {', '.join(f'{r:.2f}' for r in cpu)}")


if __name__ == "__main__":
    main()
