#!/usr/bin/env bash
# What Group-TopK buys on an edge network: 4 emulated hosts (network
# namespaces, tc tbf links), OpenMPI over TCP, one rank per host.
#
#   bench/edge.sh [seeds] [scenario ...]          e.g. bench/edge.sh "1 2 3" 100mbit
#
# Scenarios (default: all three): every link at 100 Mbit/s; every link at
# 1 Gbit/s; hetero = three links at 100 Mbit/s and one at 10 Mbit/s. In each:
#   - per-step communication for a gradient the size of the CNN (454,922
#     floats) and, except hetero, one of 10M floats: dense MPI_Allreduce, the
#     dense ring, and what a Group-TopK training step does (compression with
#     error feedback, then the sparse ring; exact and reselect) at r = 0.01
#     and 0.001 (`edgetrain bench allreduce --sparse`);
#   - (100 Mbit/s only) time to 85% test accuracy for `train --model mlp`,
#     crossing rule: the first evaluation (every 25 steps) at which the mean of
#     the last 3 evaluations is >= 0.85; per seed, four optimizer/compression
#     pairs: dense and Group-TopK r = 0.01, each with momentum SGD (0.9, in
#     the optimizer) and with plain SGD at the momentum-equivalent rate (x10,
#     Group-TopK's default `--sparse-momentum fold`).
# Records go to bench/results/edge.jsonl (bench/tables.py). Needs root.
# Takes about 12 minutes with 3 seeds on a quiet machine.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
seeds=(${1:-1 2 3})
shift || true
wanted=("$@")
[ ${#wanted[@]} -gt 0 ] || wanted=(100mbit 1gbit hetero)
hosts=4
results=bench/results/edge.jsonl
swift build -c release >/dev/null
cleanup() { scripts/edge-cluster down >/dev/null 2>&1 || true; }
trap cleanup EXIT
mpi=(scripts/mpirun --hostfile hostfiles/emulated -am hostfiles/emulated.mca -np "$hosts" .build/release/edgetrain)

scenario() {  # label, iterations, sizes, edge-cluster rate arguments
    local label="$1" iters="$2" sizes="$3"; shift 3
    [[ " ${wanted[*]} " == *" $label "* ]] || return 0
    sed -i "/\"label\": \"$label /d" "$results" 2>/dev/null || true
    scripts/edge-cluster up --hosts "$hosts" "$@" >/dev/null
    local timing=(--iters "$iters" --warmup $((iters > 1 ? 1 : 0)))
    record "$results" edge-allreduce "$label r=0.01" "" \
        "${mpi[@]}" bench allreduce --sizes "$sizes" --sparse --ratio 0.01 "${timing[@]}" --json
    record "$results" edge-allreduce "$label r=0.001" "" \
        "${mpi[@]}" bench allreduce --sizes "$sizes" --sparse --ratio 0.001 --sparse-only "${timing[@]}" --json
    if [ "$label" = "100mbit" ]; then
        for seed in "${seeds[@]}"; do
            for run in "none momentum:--compression none" \
                       "none plain-x10:--compression none --momentum 0 --lr 0.5" \
                       "group-topk momentum:--compression group-topk --sparse-momentum optimizer" \
                       "group-topk plain-x10:--compression group-topk --sparse-momentum fold"; do
                local name="${run%%:*}" args="${run#*:}"
                # shellcheck disable=SC2086
                record "$results" edge-time-to-accuracy "$label $name" "$seed" \
                    "${mpi[@]}" train --model mlp --epochs 5 --seed "$seed" $args --eval-every 25 \
                    --target-accuracy 0.85 --target-window 3 --stop-at-target --json
            done
        done
    fi
    scripts/edge-cluster down >/dev/null
}

scenario 100mbit 3 454922,10000000 --rate 100mbit
scenario 1gbit 3 454922,10000000 --rate 1gbit
scenario hetero 2 454922 --rates 100mbit,100mbit,100mbit,10mbit
python3 bench/tables.py --print edge
