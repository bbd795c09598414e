#!/bin/bash
B=/tmp/pooltop-bench-a434d01; OUT=/tmp/b/costs.jsonl; rm -f $OUT
for rep in 1 2 3 4 5; do
 for l in off on; do echo "{\"cell\":\"leak-$l-select1-4\",\"rep\":$rep,\"r\":$($B --workload select1 --threads 4 --duration 3 --pool-size 10 --leak-detection $l)}" >> $OUT; done
 for l in off on; do echo "{\"cell\":\"leak-$l-checkout-4\",\"rep\":$rep,\"r\":$($B --workload checkout --threads 4 --duration 3 --pool-size 10 --leak-detection $l)}" >> $OUT; done
 for s in 0 10; do echo "{\"cell\":\"snap-$s-select1-64\",\"rep\":$rep,\"r\":$($B --workload select1 --threads 64 --duration 3 --pool-size 10 --snapshot-rate $s)}" >> $OUT; done
done
