#!/usr/bin/env bash
# Training-step throughput of one process, one thread, batch 64: edgetrain
# and PyTorch (bench/peers/torch_train.py) on the same models, alternating in
# one run so that their ratio is fair on a noisy machine. Each round runs both
# at the CPU's own instruction set and both capped at AVX2 (edgetrain
# --max-isa avx2; PyTorch ONEDNN_MAX_CPU_ISA=AVX2 for its oneDNN kernels,
# MKL_ENABLE_INSTRUCTIONS=AVX2 for MKL, which runs its Linear layers, and
# ATEN_CPU_CAPABILITY=avx2 for its own kernels). Then edgetrain with 1 and 2
# threads, and one profiled CNN run. Records go to bench/results/train.jsonl
# (bench/tables.py makes the tables).
#
#     bench/train.sh      # ROUNDS=3 by default; PYTHON=/tmp/peer/bin/python3 when it exists
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
rounds=${ROUNDS:-3}
results=bench/results/train.jsonl
python=${PYTHON:-$( [ -x /tmp/peer/bin/python3 ] && echo /tmp/peer/bin/python3 || echo python3 )}
swift build -c release >/dev/null
unset OPENBLAS_CORETYPE ONEDNN_MAX_CPU_ISA DNNL_MAX_CPU_ISA ATEN_CPU_CAPABILITY MKL_ENABLE_INSTRUCTIONS
have_torch=0
"$python" -c "import torch" 2>/dev/null && have_torch=1
[ "$have_torch" = 1 ] || echo "train.sh: no torch for $python; edgetrain only" >&2
et=.build/release/edgetrain
: > "$results"
for round in $(seq "$rounds"); do
    export ROUND=$round  # bench/record.py tags each record: tables.py pairs within a round
    for model in mlp cnn; do
        record "$results" train-throughput "$model all edgetrain" "" "$et" bench train --model "$model" --json
        [ "$have_torch" = 0 ] || record "$results" train-throughput "$model all pytorch" "" \
            "$python" bench/peers/torch_train.py --model "$model" --json
        record "$results" train-throughput "$model avx2 edgetrain" "" "$et" bench train --model "$model" --max-isa avx2 --json
        [ "$have_torch" = 0 ] || record "$results" train-throughput "$model avx2 pytorch" "" \
            env ONEDNN_MAX_CPU_ISA=AVX2 ATEN_CPU_CAPABILITY=avx2 MKL_ENABLE_INSTRUCTIONS=AVX2 \
            "$python" bench/peers/torch_train.py --model "$model" --json
    done
done
unset ROUND
# Threads per rank on this machine's cores.
for round in $(seq "$rounds"); do
    for threads in 1 2; do
        for model in mlp cnn; do
            record "$results" train-threads "$model $threads threads" "" "$et" bench train --model "$model" --threads "$threads" --json
        done
    done
done
# Where a CNN step goes.
record "$results" train-profile "cnn profile" "" "$et" bench train --model cnn --profile --json
python3 bench/tables.py --print train
