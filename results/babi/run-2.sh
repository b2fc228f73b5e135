#!/bin/sh
# Second batch (sequential): the recipe on 10k (E = H = 80, batch 100, Adam 1e-3,
# dropout 0.1, 3 passes, at most 40 facts), and 1k runs with gate supervision by supporting facts.
cd /work/wt/dmn
mkdir -p results/babi/logs
run() {
  name=$1; shift
  echo "=== $(date -u +%H:%M:%S) $name: $*" >> results/babi/logs/$name.log
  node dist/cli.js train babi "$@" --json 2>>results/babi/logs/$name.log | sed "s/^{/{\"run\":\"$name\",/" >> results/babi/babi-runs.jsonl
}
run "en10k-qa1-dmn+" --data /work/shared/data/babi --task 1 --tenk --minutes 2 --validate-every 15 --target 0.99
run "en10k-qa6-dmn+" --data /work/shared/data/babi --task 6 --tenk --minutes 4 --validate-every 30 --target 0.99
run "en1k-qa2-dmn+-supervised" --data /work/shared/data/babi --task 2 --minutes 3 --batch 32 --lr 3e-3 --supervise 1 --validate-every 28
run "en1k-qa6-dmn+-supervised" --data /work/shared/data/babi --task 6 --minutes 3 --batch 32 --lr 3e-3 --supervise 1 --validate-every 28
