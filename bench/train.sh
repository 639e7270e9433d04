#!/usr/bin/env bash
# Training-step throughput of one process, one BLAS thread, batch 64:
# edgetrain and (when torch is installed) PyTorch on the same models,
# alternating in one run so that their ratio is fair on a noisy machine.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release >/dev/null
have_torch=0
python3 -c "import torch" 2>/dev/null && have_torch=1
for round in 1 2; do
    for model in mlp cnn; do
        OPENBLAS_NUM_THREADS=1 .build/release/edgetrain bench train --model "$model" --json
        if [ "$have_torch" = 1 ]; then
            OMP_NUM_THREADS=1 python3 bench/peers/torch_train.py --model "$model" --json
        fi
    done
done
