#!/usr/bin/env bash
# Robust aggregation against one poisoned client: 1 coordinator + 8 clients,
# MLP, 1 local epoch, 10 rounds, seeds 1 2 3 (or the first argument). Client
# rank 3 attacks with each of sign-flip, scale and noise (strength S = 10);
# each attack and the attack-free run are aggregated by FedAvg (weighted),
# the coordinate-wise median and the trimmed mean (beta 0.1: one value off
# each end of 8).
#
#   bench/robust.sh [seeds] [partition arguments ...]
#
# Default partition: iid (label "iid"); e.g. bench/robust.sh "1 2 3" --partition dirichlet --alpha 1
# Records go to bench/results/robust.jsonl (bench/tables.py): each run's
# final record, or a "failed" record with the exit status and, for a run
# the coordinator stopped when its model went non-finite, the version.
# About 12 minutes per partition with 3 seeds.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
seeds=(${1:-1 2 3})
shift || true
partition=("$@")
[ ${#partition[@]} -gt 0 ] || partition=(--partition iid)
name=$(echo "${partition[*]}" | sed 's/--partition //; s/ --alpha /(/; s/$/)/; s/^iid)$/iid/')
results=bench/results/robust.jsonl
swift build -c release >/dev/null
sed -i "/\"label\": \"$name /d" "$results" 2>/dev/null || true
for seed in "${seeds[@]}"; do
    for aggregation in weighted median trimmed-mean; do
        for attack in none sign-flip scale noise; do
            poison=()
            [ "$attack" = none ] || poison=(--byzantine 3 --attack "$attack")
            record "$results" robust "$name $aggregation $attack" "$seed" scripts/mpirun -np 9 --oversubscribe \
                .build/release/edgetrain federated --model mlp --rounds 10 --seed "$seed" "${partition[@]}" \
                --aggregation "$aggregation" "${poison[@]}" --json
        done
    done
done
grep -h "non-finite at version" "$results.log" >&2 || true
python3 bench/tables.py --print robust
