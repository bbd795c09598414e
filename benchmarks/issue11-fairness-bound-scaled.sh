#!/bin/bash
OUT=$1; shift
for rep in 1 2 3; do
 for cell in "threads select1 16" "threads select1 64" "threads select1 256" "threads checkout 64" "threads checkout 256" "tasks select1 64" "tasks checkout 256"; do
  set -- $cell; w=$1; wl=$2; t=$3
  for bin in /tmp/pooltop-bench-a434d01 /tmp/pooltop-bench-bound5; do
   line=$($bin --workload $wl --threads $t --workers $w --duration 3 --pool-size 10 2>/dev/null | tail -1)
   echo "{\"bin\":\"$(basename $bin)\",\"rep\":$rep,\"workers\":\"$w\",\"r\":$line}" >> $OUT
  done
 done
done
