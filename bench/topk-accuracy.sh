#!/usr/bin/env bash
# Group-TopK against dense on Fashion-MNIST: MLP, 4 ranks (oversubscribed),
# 5 epochs, seeds 1 2 3 (or the first argument), at the defaults (Group-TopK
# folds momentum into plain SGD at x10 the rate; dense keeps momentum 0.9).
# Records go to bench/results/topk-accuracy.jsonl (bench/tables.py). About 2 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
seeds=(${1:-1 2 3})
ranks=${RANKS:-4}
results=bench/results/topk-accuracy.jsonl
swift build -c release >/dev/null
: > "$results"
for seed in "${seeds[@]}"; do
    run() {  # label, arguments
        local label="$1"; shift
        record "$results" topk-accuracy "$label" "$seed" scripts/mpirun --oversubscribe -np "$ranks" \
            .build/release/edgetrain train --model mlp --epochs 5 --seed "$seed" --json "$@"
    }
    run "dense" --compression none
    for r in 0.01 0.001; do
        for policy in exact reselect; do
            run "group-topk r=$r $policy" --compression group-topk --ratio "$r" --sparse-reduce "$policy"
        done
    done
done
python3 bench/tables.py --print topk-accuracy
