#!/usr/bin/env bash
# Soak: 16 ranks on this machine (oversubscribed), 2,000 steps of Group-TopK
# training (MLP 784-256-128-10, ratio 0.01, groups of 1024, error feedback)
# on synthetic data: 32,000 samples, batch 16 per rank (the base rate 0.05
# taken as tuned for batch 64), 125 steps per epoch over 16 epochs. Every
# epoch record carries each rank's peak resident memory (getrusage
# ru_maxrss); the table compares epoch 1 with the end.
# Records go to bench/results/soak.jsonl (bench/tables.py). About 1 minute.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
results=bench/results/soak.jsonl
swift build -c release >/dev/null
: > "$results"
metrics=$(mktemp)
trap 'rm -f "$metrics"' EXIT
METRICS="$metrics" record "$results" soak "16 ranks" 1 scripts/mpirun -np 16 --oversubscribe .build/release/edgetrain \
    train --synthetic --synthetic-train 32000 --synthetic-test 1000 --epochs 16 --batch 16 --base-batch 64 \
    --report-memory --metrics "$metrics" --json
python3 bench/tables.py --print soak
