#!/usr/bin/env bash
# Issue 18: every compression method side by side.
#
#   bench/compression.sh [group ...]      groups: kernels accuracy cnn fold cnn-fold edge (default: all)
#
# kernels: `edgetrain bench codecs` and PyTorch's implementation of each
#   method (bench/peers/codec_kernels.py, /tmp/peer's torch), one core each,
#   the same sizes, alternately, 3 rounds.
# accuracy: `train`, 4 ranks on this machine (oversubscribed), dense and
#   every method, the MLP 5 epochs with seeds 1 2 3. Accuracy, bytes a step,
#   compression seconds. Every method runs with momentum 0.9 in the
#   optimizer (--sparse-momentum optimizer), as dense does: one optimizer
#   on every row.
# cnn: the same for the CNN, 1 epoch, seeds 1 2 3 (a CNN epoch is about a
#   minute a run here: 5 epochs x 3 seeds x 9 methods would take hours).
# fold: Group-TopK's three forms and sign again with momentum folded into
#   the rate (their default), MLP, 3 seeds.
# cnn-fold: the same for the CNN, 1 epoch, 3 seeds.
# edge: the step time on 4 emulated hosts (scripts/edge-cluster: network
#   namespaces and tc tbf links, OpenMPI over TCP) at 100 Mbit/s and 1
#   Gbit/s, every method, MLP and CNN, one epoch of 5,120 synthetic images
#   of Fashion-MNIST's shape (20 steps of 64 a rank), compression included
#   (needs root).
# Records go to bench/results/compression.jsonl; bench/tables.py makes the tables.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
groups=("$@")
[ ${#groups[@]} -gt 0 ] || groups=(kernels accuracy cnn fold cnn-fold edge)
results=bench/results/compression.jsonl
swift build -c release >/dev/null
python="${PYTHON:-/tmp/peer/bin/python3}"
methods="none group-topk group-topk-fp16 group-topk-int8 fp16 int8 qsgd sign powersgd"
et=.build/release/edgetrain
# The same optimizer for every method: momentum 0.9 in the optimizer, on the
# averaged gradient (dense's, and the codecs' default; Group-TopK's default
# would fold it into the rate).
momentum() { [ "$1" = none ] || echo "--sparse-momentum optimizer"; }
# Every method with momentum in the optimizer, 3 seeds. MODEL EPOCHS.
method_runs() {
    for seed in 1 2 3; do
        for m in $methods; do
            record "$results" compression-accuracy "$1 $m" "$seed" \
                scripts/mpirun --oversubscribe -np 4 $et train --model "$1" --epochs "$2" --seed "$seed" --compression "$m" $(momentum "$m") --json
        done
    done
}
# The methods that fall short with optimizer momentum, again with their
# default: momentum folded into the rate (plain SGD at lr / (1 - m), the
# error-feedback residual carrying it; docs/design.md). MODEL EPOCHS.
fold_runs() {
    for seed in 1 2 3; do
        for m in group-topk group-topk-fp16 group-topk-int8 sign; do
            record "$results" compression-accuracy "$1 $m, fold" "$seed" \
                scripts/mpirun --oversubscribe -np 4 $et train --model "$1" --epochs "$2" --seed "$seed" --compression "$m" \
                --sparse-momentum fold --json
        done
    done
}
metrics=$(mktemp)
cleanup() { rm -f "$metrics"; scripts/edge-cluster down >/dev/null 2>&1 || true; }
trap cleanup EXIT
# A group's earlier records go; accuracy, cnn and fold share the bench name
# compression-accuracy and differ by label ("mlp M", "cnn M", "mlp M, fold", "cnn M, fold").
for group in "${groups[@]}"; do
    case "$group" in
    fold) sed -i "/\"label\": \"mlp [^\"]*, fold\"/d" "$results" 2>/dev/null || true ;;
    cnn-fold) sed -i "/\"label\": \"cnn [^\"]*, fold\"/d" "$results" 2>/dev/null || true ;;
    accuracy) sed -i "/\"bench\": \"compression-accuracy\"/{/\"label\": \"mlp /{/, fold\"/!d}}" "$results" 2>/dev/null || true ;;
    cnn) sed -i "/\"bench\": \"compression-accuracy\"/{/\"label\": \"cnn /{/, fold\"/!d}}" "$results" 2>/dev/null || true ;;
    *) sed -i "/\"bench\": \"compression-$group\"/d" "$results" 2>/dev/null || true ;;
    esac
done
for group in "${groups[@]}"; do
    case "$group" in
    kernels)
        for round in 1 2 3; do
            ROUND=$round record "$results" compression-kernels edgetrain "" $et bench codecs --json
            if "$python" -c "import torch" 2>/dev/null; then
                ROUND=$round record "$results" compression-kernels pytorch "" "$python" bench/peers/codec_kernels.py --json
            fi
        done
        ;;
    accuracy) method_runs mlp 5 ;;
    cnn) method_runs cnn 1 ;;
    fold) fold_runs mlp 5 ;;
    cnn-fold) fold_runs cnn 1 ;;
    edge)
        for rate in 100mbit 1gbit; do
            scripts/edge-cluster up --hosts 4 --rate "$rate" >/dev/null
            for model in mlp cnn; do
                for m in $methods; do
                    : > "$metrics"
                    METRICS="$metrics" record "$results" compression-edge "$rate $model $m" 1 \
                        scripts/mpirun --hostfile hostfiles/emulated -am hostfiles/emulated.mca -np 4 $et train --model "$model" \
                        --synthetic --synthetic-train 5120 --synthetic-test 500 --epochs 1 --batch 64 --compression "$m" $(momentum "$m") \
                        --metrics "$metrics" --json
                done
            done
            scripts/edge-cluster down >/dev/null
        done
        ;;
    *) echo "compression.sh: unknown group $group (kernels accuracy cnn fold cnn-fold edge)" >&2; exit 2 ;;
    esac
done
python3 bench/tables.py
