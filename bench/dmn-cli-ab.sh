#!/bin/bash
# Paired `rnn-wasm train babi` runs (qa1 10k to 99%, CPU clock) of two dists/environments, alternating
# order; prints steps, training seconds, seconds at step 5, whole-run CPU, accuracy, and the A/B ratio.
#   bench/dmn-cli-ab.sh REPS distA "ENV=A" distB "ENV=B" [task] [seed]
reps=$1; dA=$2; eA=$3; dB=$4; eB=$5; task=${6:-1}; seed=${7:-0}
run() { env $2 node $1/cli.js train babi --data /work/shared/data/babi --task $task --tenk --clock cpu --minutes 1 --target 0.99 --validate-every 5 --seed $seed --json 2>/dev/null | node -e 'const j=JSON.parse(require("fs").readFileSync(0,"utf8"));const h=j.history;console.log(j.steps, j.seconds.toFixed(3), j.history[0].seconds.toFixed(3), j.cpuSeconds.toFixed(2), j.accuracy)'; }
for r in $(seq $reps); do
  if [ $((r % 2)) = 1 ]; then a=$(run $dA "$eA"); b=$(run $dB "$eB"); else b=$(run $dB "$eB"); a=$(run $dA "$eA"); fi
  echo "A: $a | B: $b | ratio A/B $(echo "$a $b" | awk '{print $2/$7}')"
done
