#!/usr/bin/env bash
# Federated learning under heterogeneity, 3 seeds per run: the client-autonomy
# ablation and synchronous against asynchronous rounds.
#
#   bench/federated.sh [seeds] [group ...]        e.g. bench/federated.sh "1 2 3" ablation async
#
# Every run: 1 coordinator + 4 clients (-np 5, oversubscribed on 2 cores),
# MLP, Fashion-MNIST, Dirichlet(0.5) partitions, 1 local epoch of plain SGD
# at 0.05 (batch 64), client 4 four times slower, in-round slowdowns (each
# step enters a 4x slow state for 50 steps with probability 0.005), and an
# emulated 20 Mbit/s link per client (--client-bandwidth 20: every transfer,
# early-sent layers included, waits bytes x 8 / rate), 15 rounds, sampling
# rounds every 3rd round (autonomy runs need two sampled curves before early
# transmission starts: from round 7).
#
# ablation: fedavg; fednova (FedNova aggregation alone); early-stop +
#   FedNova; early-transmit + FedNova; autonomy (both + FedNova); deadline
#   (every client stops at the reference round time, the one early stopping
#   uses, and its partial work is FedNova-normalized); fedprox-partial
#   (FedProx, mu 0.01, with the same deadline's partial work, weighted as in
#   its paper).
# async: 2 of the 4 clients train at a time. sync-2 (2 clients drawn per
#   round, 15 rounds = 30 client updates) against async FedAsync (30 versions
#   of 1 update) and FedBuff (buffer 2, 15 versions of 2 updates): the same
#   number of client updates; each new async client is drawn from all idle
#   clients.
#
# Every round record goes to bench/results/federated.jsonl (bench/tables.py).
# Takes about 25 minutes on a quiet 2-core machine (3 seeds).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
seeds=(${1:-1 2 3})
shift || true
groups=("$@")
[ ${#groups[@]} -gt 0 ] || groups=(ablation async)
results=bench/results/federated.jsonl
rounds=${ROUNDS:-15}  # smoke tests only: the tables assume 15
swift build -c release >/dev/null
common=(--model mlp --partition dirichlet --alpha 0.5 --local-epochs 1 --client-speed 1,1,1,4
        --slowdown-prob 0.005 --slowdown-factor 4 --slowdown-steps 50 --client-bandwidth 20 --sample-every 3)
metrics=$(mktemp)
trap 'rm -f "$metrics"' EXIT
run() {  # group, label, seed, extra arguments
    local group="$1" label="$2" seed="$3"; shift 3
    : > "$metrics"
    local rounds_args=(--rounds "$rounds")
    [[ " $* " == *" --async "* ]] && rounds_args=()  # async runs give their own version count
    METRICS="$metrics" record "$results" "federated-$group" "$label" "$seed" \
        scripts/mpirun -np 5 --oversubscribe .build/release/edgetrain federated "${common[@]}" "${rounds_args[@]}" \
        --seed "$seed" "$@" \
        --metrics "$metrics" --json
}
for group in "${groups[@]}"; do
    sed -i "/\"bench\": \"federated-$group\"/d" "$results" 2>/dev/null || true
done
for seed in "${seeds[@]}"; do
    for group in "${groups[@]}"; do
        case "$group" in
        ablation)
            run ablation fedavg "$seed"
            run ablation fednova "$seed" --aggregation fednova
            run ablation early-stop "$seed" --early-stop --aggregation fednova
            run ablation early-transmit "$seed" --early-transmit --aggregation fednova
            run ablation autonomy "$seed" --strategy autonomy
            run ablation deadline "$seed" --partial-work --aggregation fednova
            run ablation fedprox-partial "$seed" --strategy fedprox --mu 0.01 --partial-work
            ;;
        async)
            run async sync-2 "$seed" --clients-per-round 2
            run async fedasync "$seed" --async --clients-per-round 2 --rounds $((2 * rounds)) --max-staleness 4
            run async fedbuff "$seed" --async --clients-per-round 2 --rounds "$rounds" --buffer 2 --max-staleness 4
            ;;
        *) echo "unknown group $group (ablation, async)" >&2; exit 2 ;;
        esac
    done
done
python3 bench/tables.py --print federated
