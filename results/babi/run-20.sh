#!/bin/sh
# The 20-task table: DMN+ (issue recipe: E = H = 80, 3 passes, Adam 1e-3, batch 100, dropout 0.1,
# at most 40 facts) on en-10k (qa3 from en/, whose 10k file is missing), at most 5 minutes of
# training (CPU clock, validation excluded) each, stopping at >= 99.5% validation accuracy.
# Then the lecture's DMN variant on the first 6 tasks. Validation = the last 10% of each
# training file's questions. Usage: sh results/babi/run-20.sh [DIST_DIR] (default ./dist);
# the build's commit is read from DIST_DIR/COMMIT when present; OUT=file (default tasks20.jsonl).
# An empty list needs a space: TASKS=" " runs no DMN+ task. EXTRA="--supervise 1" adds flags to every
# run and TAG=supervise1 marks the run names (the strong-supervision table of session 8:
# OUT=results/babi/supervised-s8.jsonl TAG=supervise1 EXTRA="--supervise 1"). RENAME_TASKS="2 3 14 16"
# adds $RENAME_FLAGS (default --rename-answers) to those DMN+ tasks, and RENAME_TAG (default rename)
# to their names (session 10's table). Run under nice.
DIST=${1:-dist}
OUT=${OUT:-results/babi/tasks20.jsonl}
DATA=/work/shared/data/babi
mkdir -p results/babi/logs
run() {
  variant=$1; task=$2; shift 2
  if [ "$task" = 3 ]; then set="en"; tk=""; else set="en10k"; tk="--tenk"; fi
  rename=""
  if [ "$variant" = dmn+ ]; then for r in $RENAME_TASKS; do [ "$r" = "$task" ] && rename="${RENAME_FLAGS:---rename-answers}"; done; fi
  name="$set-qa$task-$variant${rename:+-${RENAME_TAG:-rename}}${TAG:+-$TAG}"
  commit=$(cat "$DIST/COMMIT" 2>/dev/null || git rev-parse --short HEAD)
  echo "=== $(date -u +%H:%M:%S) $name ($commit)" >> results/babi/logs/$name.log
  node "$DIST/cli.js" train babi --data $DATA --task $task $tk --variant $variant --clock cpu --target 0.995 \
    --validate-every 30 --json "$@" $rename $EXTRA 2>>results/babi/logs/$name.log | sed "s/^{/{\"run\":\"$name\",\"task\":$task,\"commit\":\"$commit\",/" >> $OUT
}
# TASKS / DMN_TASKS / MINUTES override the lists and the limit (the machine is shared: the easy
# tasks first, so that a partial run still fills most rows).
MINUTES=${MINUTES:-5}
for t in ${TASKS:-1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20}; do run dmn+ $t --minutes $MINUTES; done
for t in ${DMN_TASKS:-1 2 3 4 5 6}; do run dmn $t --minutes $MINUTES; done
