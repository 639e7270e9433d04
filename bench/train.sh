#!/usr/bin/env bash
# Training-step throughput of one process, one BLAS thread, batch 64:
# edgetrain and (when torch is installed) PyTorch on the same models,
# alternating in one run so that their ratio is fair on a noisy machine.
# PYTHON defaults to /tmp/peer/bin/python3 when it exists.
# Records go to bench/results/train.jsonl (bench/tables.py). About 2 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
results=bench/results/train.jsonl
swift build -c release >/dev/null
python="${PYTHON:-/tmp/peer/bin/python3}"
[ -x "$python" ] || python=python3
have_torch=0
"$python" -c "import torch" 2>/dev/null && have_torch=1
: > "$results"
for round in 1 2; do
    for model in mlp cnn; do
        record "$results" train-throughput "$model" "" .build/release/edgetrain bench train --model "$model" --json
        if [ "$have_torch" = 1 ]; then
            record "$results" train-throughput "$model" "" "$python" bench/peers/torch_train.py --model "$model" --json
        fi
    done
done
python3 bench/tables.py --print train
