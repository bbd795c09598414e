#!/bin/bash
# usage: ab.sh OUT bin1 bin2 ...  — interleaved reps
OUT=$1; shift
for rep in 1 2 3; do
 for w in threads tasks; do for wl in checkout select1; do for t in 4 16 64; do
  for bin in "$@"; do
   line=$($bin --workload $wl --threads $t --workers $w --duration 3 --pool-size 10 2>/dev/null | tail -1)
   echo "{\"bin\":\"$(basename $bin)\",\"rep\":$rep,\"workers\":\"$w\",\"r\":$line}" >> $OUT
  done
 done; done; done
done
