#!/bin/sh
# Sequential bAbI trainings (one at a time: the machine's 2 cores are shared).
# Each run appends one JSON line to results/babi/babi-runs.jsonl and its log to results/babi/logs/.
cd /work/wt/dmn
mkdir -p results/babi/logs
run() {
  name=$1; shift
  echo "=== $(date -u +%H:%M:%S) $name: $*" >> results/babi/logs/$name.log
  node dist/cli.js train babi "$@" --json 2>>results/babi/logs/$name.log | sed "s/^{/{\"run\":\"$name\",/" >> results/babi/babi-runs.jsonl
}
for t in 1 2 3 6; do
  run "en1k-qa$t-dmn+" --data /work/shared/data/babi --task $t --minutes 4 --batch 32 --lr 3e-3 --validate-every 28 --target 1.01
done
