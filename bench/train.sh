#!/usr/bin/env bash
# Training-step throughput of one process, one thread, batch 64: edgetrain
# and PyTorch (bench/peers/torch_train.py) on the same models, alternating in
# one run so that their ratio is fair on a noisy machine. Each round runs both
# at the CPU's own instruction set and both capped at AVX2 (edgetrain
# --max-isa avx2; PyTorch ONEDNN_MAX_CPU_ISA=AVX2 for its oneDNN kernels,
# MKL_ENABLE_INSTRUCTIONS=AVX2 for MKL, which runs its Linear layers, and
# ATEN_CPU_CAPABILITY=avx2 for its own kernels). Then edgetrain with 1 and 2 threads
# and one profiled CNN run. Raw JSON Lines go to $OUT
# (bench/results/train.jsonl); bench/train_tables.py writes the tables into
# docs/benchmarks.md.
#
#     bench/train.sh            # ROUNDS=3 by default; PYTHON=/tmp/peer/bin/python when it exists
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${ROUNDS:-3}
out=${OUT:-bench/results/train.jsonl}
python=${PYTHON:-$( [ -x /tmp/peer/bin/python ] && echo /tmp/peer/bin/python || echo python3 )}
swift build -c release >/dev/null
unset OPENBLAS_CORETYPE ONEDNN_MAX_CPU_ISA DNNL_MAX_CPU_ISA ATEN_CPU_CAPABILITY MKL_ENABLE_INSTRUCTIONS
have_torch=0
"$python" -c "import torch" 2>/dev/null && have_torch=1
[ "$have_torch" = 1 ] || echo "train.sh: no torch for $python; edgetrain only" >&2
mkdir -p "$(dirname "$out")"
tmp="$out.tmp"
: >"$tmp"
et=.build/release/edgetrain
for round in $(seq "$rounds"); do
    for model in mlp cnn; do
        for cap in all avx2; do
            if [ "$cap" = all ]; then
                "$et" bench train --model "$model" --json | tee -a "$tmp"
                [ "$have_torch" = 0 ] || OMP_NUM_THREADS=1 "$python" bench/peers/torch_train.py --model "$model" --json | tee -a "$tmp"
            else
                "$et" bench train --model "$model" --max-isa avx2 --json | tee -a "$tmp"
                [ "$have_torch" = 0 ] || OMP_NUM_THREADS=1 ONEDNN_MAX_CPU_ISA=AVX2 ATEN_CPU_CAPABILITY=avx2 MKL_ENABLE_INSTRUCTIONS=AVX2 \
                    "$python" bench/peers/torch_train.py --model "$model" --json | tee -a "$tmp"
            fi
        done
    done
done
# Threads per rank on this machine's cores.
for round in $(seq "$rounds"); do
    for threads in 1 2; do
        for model in mlp cnn; do
            "$et" bench train --model "$model" --threads "$threads" --json | tee -a "$tmp"
        done
    done
done
"$et" bench train --model cnn --profile --json | tee -a "$tmp"
mv "$tmp" "$out"
python3 bench/train_tables.py "$out" --update docs/benchmarks.md
