#!/bin/sh
# The lecture's DMN variant (word-GRU input, gated GRU, tied GRU memory) with the recipe on 10k qa1.
cd /work/wt/dmn
name=en10k-qa1-dmn
echo "=== $(date -u +%H:%M:%S) $name" >> results/babi/logs/$name.log
node dist/cli.js train babi --data /work/shared/data/babi --task 1 --tenk --variant dmn --minutes 2 --validate-every 15 --target 0.99 --json 2>>results/babi/logs/$name.log | sed "s/^{/{\"run\":\"$name\",/" >> results/babi/babi-runs.jsonl
