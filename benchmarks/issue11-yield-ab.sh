#!/bin/bash
# usage: issue11-yield-ab.sh OUT BIN... — tasks select1 at 4/16/64/256 on the global and the manager's executor, 3 interleaved repetitions of each binary.
OUT=$1; shift
for rep in 1 2 3; do for t in 4 16 64 256; do for mode in "tasks" "tasks --executor manager"; do for B in "$@"; do
  line=$($B --workload select1 --threads $t --workers $mode --duration 3 --pool-size 10 2>/dev/null | tail -1)
  echo "{\"bin\":\"$(basename $B)\",\"rep\":$rep,\"workers\":\"$mode\",\"r\":$line}" >> $OUT
done; done; done; done
