#!/usr/bin/env bash
# Issue 11 matrix: 3 interleaved repetitions of 3 s cells, pool 10, PG15 on 127.0.0.1:55432 (shared/bench/scripts/pg-start.sh).
# NEW = this branch's release pooltop-bench, BASE = a release build of main at 957f0d4 (always prefills).
set -u
NEW=${NEW:-/work/wt-tasks/.build/release/pooltop-bench}
BASE=${BASE:-/work/wt-base/.build/release/pooltop-bench}
OUT=${OUT:-benchmarks/issue11-$(date -u +%Y%m%dT%H%M%SZ).jsonl}
C="--duration 3 --pool-size 10 --url postgresql://bench@127.0.0.1:55432/bench"
for rep in 1 2 3; do
  for w in checkout select1; do
    for n in 16 64 256; do
      for p in off on; do
        $NEW --workers tasks --workload $w --threads $n --prefill $p --impl pooltop-tasks-prefill-$p $C >> "$OUT"
        $NEW --workers threads --workload $w --threads $n --prefill $p --impl pooltop-prefill-$p $C >> "$OUT"
      done
    done
    for n in 4 16 64; do
      $BASE --workload $w --threads $n --impl pooltop-main $C >> "$OUT"
      $NEW --workload $w --threads $n --prefill on --impl pooltop-branch-prefill-on $C >> "$OUT"
    done
  done
done
echo "$OUT"
