#!/usr/bin/env bash
# Cloud-edge-device split learning (issue 16) on the emulated edge network,
# against FedAvg and SplitFed, with an ablation of each piece.
#
#   bench/cloud-edge.sh [seeds] [alpha ...]        e.g. bench/cloud-edge.sh "1 2 3" 0.1 0.5
#
# 10 emulated hosts (scripts/edge-cluster, one rank each): the cloud (rank
# 0) at 1 Gbit/s, edge server 0 at 1 Gbit/s and 2 GFLOP/s, edge server 1 at
# 30 Mbit/s and 0.5 GFLOP/s (its speed emulated in wall time:
# `--emulate-edge-speed`), seven devices at 50, 50, 50, 50, 20, 20 and 20
# Mbit/s. bench/cloud-edge-topology.json tells the cost model the same: a
# device's rate to an edge server is the slower of their two links (sharing
# of the edge server's link is not modelled). Every run: the MLP
# (784-256-128-10) cut after relu1, Fashion-MNIST with Dirichlet label skew
# (alpha 0.1 and 0.5, over the seven devices), 6 of 7 devices per round in
# 2 balanced clusters of 3 (the KL walk capped at ceil(6 / 2); the matching
# decides which cluster gets the fast edge server, which matters when one
# cluster holds more fast devices), 20 local steps of batch 32 at lr 0.05,
# plain SGD, 10 rounds. Methods:
#   ours              KL clusters, optimal (Hungarian) matching, mutual distillation
#   splitfed          no clustering (dealt in turn), optimal matching, no distillation
#   random-clusters   ours with seeded random clusters
#   random-matching   ours with a seeded random matching
#   nearest-matching  ours with each cluster on the edge server of its fastest links
#   no-distill        ours without distillation (the cloud model trains on hard labels)
#   small-back        ours with a 4x smaller back half (--hidden 256,32), and the
#   small-back-no-distill  same without distillation
#   fedavg            `federated` on the cloud's host and the seven devices' hosts
#                     (-np 8): the whole model on the devices, same sampling,
#                     local steps, batch and rate
# Each rank runs under bench/peak-rss.py, which notes its peak resident
# memory; the run's record gains one "peak_rss" record with every rank's.
# Records go to bench/results/cloud-edge.jsonl (bench/tables.py); a rerun
# replaces the records of the (alpha, seed) pairs it runs. Needs root.
# About 30 s a run, 60 runs: about 30 minutes on a quiet machine.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
seeds=(${1:-1 2 3})
shift || true
alphas=("$@")
[ ${#alphas[@]} -gt 0 ] || alphas=(0.1 0.5)
rounds=${ROUNDS:-10}  # smoke tests only: the tables assume 10
results=bench/results/cloud-edge.jsonl
swift build -c release >/dev/null
metrics=$(mktemp)
rss=$(mktemp)
cleanup() { rm -f "$metrics" "$rss" hostfiles/emulated-fedavg; scripts/edge-cluster down >/dev/null 2>&1 || true; }
trap cleanup EXIT
scripts/edge-cluster up --hosts 10 --rates 1gbit,1gbit,30mbit,50mbit,50mbit,50mbit,50mbit,20mbit,20mbit,20mbit >/dev/null
grep -E '^et-node[0-9] ' hostfiles/emulated | grep -vE '^et-node[12] ' > hostfiles/emulated-fedavg
mpi=(scripts/mpirun -am hostfiles/emulated.mca --timeout 1200)
common=(--model mlp --partition dirichlet --rounds "$rounds" --clients-per-round 6 --local-steps 20 --batch 32 --lr 0.05)
ce=(--edge-servers 2 --min-cluster-size 2 --topology bench/cloud-edge-topology.json --emulate-edge-speed)

# Runs "$@" with every rank under bench/peak-rss.py, then appends the ranks'
# peak memory to the run's metrics as one record.
with_rss() {
    : > "$rss"
    local status=0
    "$@" || status=$?
    python3 -c 'import json, sys
peaks = sorted((int(r), int(b)) for r, b in (l.split() for l in open(sys.argv[1]) if l.strip()))
print(json.dumps({"event": "peak_rss", "peak_rss_bytes_by_rank": [b for _, b in peaks]}))' "$rss" >> "$metrics"
    return $status
}

run() {  # label, alpha, seed, program arguments...
    local label="$1" alpha="$2" seed="$3"; shift 3
    : > "$metrics"
    METRICS="$metrics" record "$results" cloud-edge "alpha=$alpha $label" "$seed" \
        with_rss "$@" --alpha "$alpha" --seed "$seed" --metrics "$metrics"
}

# A rerun replaces the records of the (alpha, seed) pairs it runs.
python3 - "$results" "${seeds[*]}" "${alphas[@]}" <<'PY'
import os, sys, json
path, seeds, alphas = sys.argv[1], {int(s) for s in sys.argv[2].split()}, set(sys.argv[3:])
if os.path.exists(path):
    keep = [l for l in open(path) if not (json.loads(l)["label"].split()[0].split("=")[1] in alphas
                                          and json.loads(l)["seed"] in seeds)]
    with open(path + ".tmp", "w") as out:
        out.writelines(keep)
    os.replace(path + ".tmp", path)
PY
for alpha in "${alphas[@]}"; do
    for seed in "${seeds[@]}"; do
        ce_run() {  # label, extra arguments
            local label="$1"; shift
            run "$label" "$alpha" "$seed" "${mpi[@]}" --hostfile hostfiles/emulated -np 10 \
                python3 bench/peak-rss.py "$rss" .build/release/edgetrain cloud-edge "${common[@]}" "${ce[@]}" "$@"
        }
        ce_run ours
        ce_run splitfed --clustering none --no-distill
        ce_run random-clusters --clustering random
        ce_run random-matching --matching random
        ce_run nearest-matching --matching nearest
        ce_run no-distill --no-distill
        ce_run small-back --hidden 256,32
        ce_run small-back-no-distill --hidden 256,32 --no-distill
        run fedavg "$alpha" "$seed" "${mpi[@]}" --hostfile hostfiles/emulated-fedavg -np 8 \
            python3 bench/peak-rss.py "$rss" .build/release/edgetrain federated "${common[@]}" --strategy fedavg
    done
done
python3 bench/tables.py --print cloud-edge
