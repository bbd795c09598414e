#!/bin/bash
# usage: [WORKLOADS="select1 checkout"] [EXTRA="--executor manager"] issue11-tasks-ab.sh OUT bin1 bin2 ...
# Tasks only, at 4/16/64/256, 3 interleaved repetitions (every binary runs a cell before the next cell starts).
OUT=$1; shift
WORKLOADS=${WORKLOADS:-select1 checkout}
for rep in 1 2 3; do
 for wl in $WORKLOADS; do for t in 4 16 64 256; do
  for bin in "$@"; do
   line=$($bin --workload $wl --threads $t --workers tasks $EXTRA --duration 3 --pool-size 10 2>/dev/null | tail -1)
   echo "{\"bin\":\"$(basename $bin)\",\"rep\":$rep,\"workers\":\"tasks${EXTRA:+ $EXTRA}\",\"r\":$line}" >> $OUT
  done
 done; done
done
