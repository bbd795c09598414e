#!/bin/bash
# usage: issue11-executor-ab.sh OUT BIN — one binary, 3 interleaved repetitions of threads, tasks on the global
# executor and tasks preferring manager.taskExecutor (--executor manager), select1 and checkout, 4/16/64/256.
OUT=$1; B=$2
for rep in 1 2 3; do for wl in select1 checkout; do for t in 4 16 64 256; do
  for mode in "threads" "tasks" "tasks --executor manager"; do
    [ "$mode" = threads ] && [ $t = 256 ] && continue
    line=$($B --workload $wl --threads $t --workers $mode --duration 3 --pool-size 10 2>/dev/null | tail -1)
    echo "{\"bin\":\"$mode\",\"rep\":$rep,\"workers\":\"x\",\"r\":$line}" >> $OUT
  done
done; done; done
