#!/usr/bin/env python3
"""Summarizes an A/B file of lines {"bin","rep","workers","r":<pooltop-bench line>}: per (workers, workload,
threads), each binary's median ops/s with its repetitions, and the last binary's median over the first's."""
import json, statistics, sys
from collections import defaultdict

cells = defaultdict(lambda: defaultdict(list))
bins = []
for line in open(sys.argv[1]):
    d = json.loads(line)
    if d["bin"] not in bins:
        bins.append(d["bin"])
    r = d["r"]
    cells[(d["workers"], r["workload"], r["threads"])][d["bin"]].append(r["ops_per_sec"])

def k(v):
    return f"{v / 1e6:.2f}M" if v >= 1e6 else f"{v / 1e3:.1f}k"

for key in sorted(cells):
    row = cells[key]
    parts = []
    for b in bins:
        values = row.get(b, [])
        if values:
            parts.append(f"{b} {k(statistics.median(values))} [{' '.join(k(v) for v in values)}]")
    ratio = ""
    if len(bins) > 1 and row.get(bins[0]) and row.get(bins[-1]):
        ratio = f"  ratio {statistics.median(row[bins[-1]]) / statistics.median(row[bins[0]]):.2f}"
    print(f"{key[0]:7} {key[1]:8} {key[2]:4}  " + " | ".join(parts) + ratio)
