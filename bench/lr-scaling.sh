#!/usr/bin/env bash
# Accuracy against the rank count at the default learning-rate schedule.
# Records go to bench/results/lr-scaling.jsonl (bench/tables.py makes the
# table "lr-scaling" of docs/benchmarks.md).
#
# Configurations (the cheapest that show the rule holds; 2 cores, so more ranks
# only cost time): for N = 1, 2, 4, 8, 16, 32 and seeds 1, 2, 3,
#   fmnist:       edgetrain train --epochs 1 --seed S     (Fashion-MNIST, MLP, every other flag default)
#   synthetic:    edgetrain train --synthetic --epochs 2 --seed S
#   cnn:          edgetrain train --model cnn --epochs 1 --seed S   (Fashion-MNIST, CNN)
#   fmnist-plain: edgetrain train --epochs 1 --max-lr-scale inf --seed S   (the uncapped rule, for contrast;
#                 run it with SEEDS=1 RANKS="4 8 16 32": N = 1, 2 equal the capped rule)
# A run that fails records {"event": "failed", ...} with its error line, so a
# divergence shows in the table rather than vanishing.
# RANKS="1 2" SEEDS="1" CONFIGS="synthetic" narrow a run. About 15 minutes for the MLP configurations, 30 more for the CNN.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
results=bench/results/lr-scaling.jsonl
swift build -c release >/dev/null
for config in ${CONFIGS:-fmnist synthetic cnn}; do
    case "$config" in
        fmnist) args=(--epochs 1) ;;
        synthetic) args=(--synthetic --epochs 2) ;;
        cnn) args=(--model cnn --epochs 1) ;;
        fmnist-plain) args=(--epochs 1 --max-lr-scale inf) ;;
        *) echo "lr-scaling.sh: unknown config $config" >&2; exit 1 ;;
    esac
    for n in ${RANKS:-1 2 4 8 16 32}; do
        for seed in ${SEEDS:-1 2 3}; do
            record "$results" "lr-scaling-$config" "$config $n" "$seed" \
                scripts/mpirun -np "$n" --oversubscribe --timeout 1800 .build/release/edgetrain train "${args[@]}" --seed "$seed" --json
        done
    done
done
python3 bench/tables.py --print lr-scaling
