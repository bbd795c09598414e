#!/bin/bash
# Ran against a prototype build whose yieldRounds read POOLTOP_YIELD_ROUNDS (the landed code has 2, fixed).
# usage: issue11-yield-rounds-ab.sh OUT BIN — tasks select1 at 4/16/64/256, 0/2/4/8 yields, 3 interleaved repetitions.
OUT=$1; B=$2
for rep in 1 2 3; do for t in 4 16 64 256; do for y in 0 2 4 8; do
  line=$(POOLTOP_YIELD_ROUNDS=$y $B --workload select1 --threads $t --workers tasks --duration 3 --pool-size 10 2>/dev/null | tail -1)
  echo "{\"bin\":\"y$y\",\"rep\":$rep,\"workers\":\"tasks\",\"r\":$line}" >> $OUT
done; done; done
