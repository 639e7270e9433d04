#!/usr/bin/env bash
# Federated strategies under heterogeneity: 1 coordinator + 4 clients, MLP,
# Dirichlet(0.5) partitions, 2 local epochs, client 4 four times slower, and
# in-round slowdowns (each step enters a 4x slow state for 50 steps with
# probability 0.005). Every run uses seed 1. The baselines run 20 rounds; the
# autonomy runs 30, so that the tables can show both their accuracy after
# the same 20 rounds and when they reach FedAvg's final accuracy.
#
#   bench/federated.sh [results-dir] [run ...]
#
# Runs: fedavg, fedavg-timeout (3 s rounds), fedprox (mu 0.01), fedada, async,
# autonomy (early stop + early transmit, FedNova), early-stop alone and
# early-transmit alone (both on FedAvg) (default: all). Each run's metrics go to results-dir/<run>.jsonl (default
# bench/federated-results/); bench/federated_tables.py prints accuracy against
# round and against wall seconds, and the time to 80% test accuracy.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-bench/federated-results}"
shift || true
wanted=("$@")
[ ${#wanted[@]} -gt 0 ] || wanted=(fedavg fedavg-timeout fedprox fedada async autonomy early-stop early-transmit)
mkdir -p "$out"
swift build -c release >/dev/null
common=(--model mlp --rounds 20 --partition dirichlet --alpha 0.5 --local-epochs 2 --seed 1
        --client-speed 1,1,1,4 --slowdown-prob 0.005 --slowdown-factor 4 --slowdown-steps 50)
run() {  # name, extra arguments
    local name="$1"; shift
    [[ " ${wanted[*]} " == *" $name "* ]] || return 0
    echo "== $name" >&2
    scripts/mpirun -np 5 --oversubscribe .build/release/edgetrain federated "${common[@]}" "$@" \
        --metrics "$out/$name.jsonl" --json > /dev/null 2>&1
}
run fedavg
run fedavg-timeout --round-timeout 3
run fedprox --strategy fedprox --mu 0.01
run fedada --strategy fedada
run async --async --max-staleness 4
run autonomy --strategy autonomy --rounds 30
run early-stop --early-stop --rounds 30
run early-transmit --early-transmit --rounds 30
python3 bench/federated_tables.py "$out" "${wanted[@]}"
