#!/bin/sh
# Time-to-accuracy rows (DMN+, issue recipe, CPU clock, validation excluded from the time):
# stops at the first validation >= the target. Usage: [SEED=N] sh results/babi/run-tta.sh TASK TARGET MINUTES VALIDATE_EVERY [DIST_DIR]
task=$1; target=$2; minutes=$3; every=$4; DIST=${5:-dist}
commit=$(cat "$DIST/COMMIT" 2>/dev/null || git rev-parse --short HEAD)
seed=${SEED:-0}
name="tta-en10k-qa$task-dmn+"
mkdir -p results/babi/logs
echo "=== $(date -u +%H:%M:%S) $name ($commit)" >> results/babi/logs/$name.log
node "$DIST/cli.js" train babi --data /work/shared/data/babi --task $task --tenk --clock cpu --minutes $minutes --target $target \
  --validate-every $every --seed $seed --json 2>>results/babi/logs/$name.log | sed "s/^{/{\"run\":\"$name\",\"task\":$task,\"commit\":\"$commit\",/" >> results/babi/tta.jsonl
