#!/usr/bin/env bash
# EdgeTrain's virtual clients against Flower's simulation engine, side by
# side on one 2-core machine (issue 17).
#
#   bench/flower.sh [seeds]                  e.g. bench/flower.sh "1 2 3"
#   BENCH_RESULTS=/tmp/smoke ROUNDS=2 SEEDS=1 bench/flower.sh   # smoke test
#
# The same task on both sides: FedAvg over 100 clients of an iid split of
# Fashion-MNIST (read from the Debian files; a seeded shuffle cut into 100
# pieces of 600, drawn by each side's own generator), C = 0.1 (10 clients
# a round, drawn per round by each side's own seeded sampler), E = 1 local
# epoch of ceil(600 / 32) = 19 steps of B = 32 samples, the MLP
# 784-256-128-10 (He-normal weights, zero biases), plain SGD at lr 0.05
# (EdgeTrain's federated defaults: no momentum, no weight decay), FedAvg
# weighted by sample counts, 30 rounds, the global model evaluated on the
# whole test set after every round. Two clients train at a time, one
# thread each:
#   edgetrain  `federated --clients 100` on -np 3 (the coordinator and 2
#              executors), one oneDNN thread per rank;
#   flower     bench/peers/flower_fedavg.py: Flower's simulation engine
#              (Ray) with PyTorch, 2 client actors of 1 CPU and 1 torch
#              thread each, the server on 1 torch thread.
# The two run back to back for each seed (which goes first alternates with
# the seed), 3 seeds (the accuracy comparison).
#
# Memory: each side runs under `bench/rss-timeline.py --tree`, which sums
# the resident memory of its whole process tree every 0.25 s (and the
# proportional set size every 2 s): mpirun and the three ranks; Flower's driver, Ray's GCS, raylet,
# agents, monitors and the actor workers (Ray starts them in the driver's
# session, which the sampler follows). EdgeTrain's ranks also run under
# bench/rss-timeline.py each, for per-rank figures. The run's records gain
# one {"event": "rss_timeline", ...} record per timeline (rank -1: the tree).
#
# Needs Flower: `python3 -m venv /tmp/peer && /tmp/peer/bin/pip install
# torch numpy "flwr[simulation]"` (PEER_PYTHON names another interpreter).
# Records go to bench/results/flower.jsonl (bench "flower", labels
# edgetrain and flower; a rerun replaces the seeds it runs); bench/tables.py
# makes the tables. SEEDS (or the first argument), ROUNDS (smoke tests
# only: the tables assume 30) and BENCH_RESULTS (another results
# directory) override. About 5 minutes on a quiet 2-core machine (3 seeds;
# estimated from 2-round smoke runs on a loaded one: EdgeTrain about 0.35 s
# a round with its evaluation, 15 s a run; Flower about 40 s of start-up
# and first round (Ray, the actors, torch's first step, the data), then
# about 0.6 s a round, about a minute a run).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
seeds=(${1:-${SEEDS:-1 2 3}})
rounds=${ROUNDS:-30}  # smoke tests only: the tables assume 30
results=${BENCH_RESULTS:-bench/results}/flower.jsonl
peer=${PEER_PYTHON:-/tmp/peer/bin/python3}
mkdir -p "$(dirname "$results")"
"$peer" -c 'import flwr, ray, torch, numpy' 2>/dev/null || {
    echo "bench/flower.sh: $peer cannot import flwr, ray, torch and numpy; pip install torch numpy \"flwr[simulation]\" into it (or set PEER_PYTHON)" >&2
    exit 1
}
swift build -c release >/dev/null
metrics=$(mktemp)
rss=$(mktemp)
trap 'rm -f "$metrics" "$rss"' EXIT
task=(--clients 100 --fraction 0.1 --local-epochs 1 --batch 32 --lr 0.05 --rounds "$rounds")

# Runs "$@" (a command whose process tree, and each MPI rank, samples into
# "$rss"), then appends the timelines to the run's metrics as records.
with_rss() {
    : > "$rss"
    local status=0
    "$@" || status=$?
    python3 bench/rss-timeline.py --records "$rss" >> "$metrics"
    return $status
}

edgetrain() {  # seed
    : > "$metrics"
    METRICS="$metrics" record "$results" flower edgetrain "$1" \
        with_rss python3 bench/rss-timeline.py --tree "$rss" \
        scripts/mpirun -np 3 --oversubscribe --timeout 3600 python3 bench/rss-timeline.py "$rss" \
        .build/release/edgetrain federated --model mlp --partition iid "${task[@]}" --seed "$1" --metrics "$metrics" --json
}

flower() {  # seed
    : > "$metrics"
    METRICS="$metrics" record "$results" flower flower "$1" \
        with_rss python3 bench/rss-timeline.py --tree "$rss" \
        "$peer" bench/peers/flower_fedavg.py "${task[@]}" --actors 2 --seed "$1" --metrics "$metrics" --json
}

# A rerun replaces the records of the seeds it runs.
python3 - "$results" "${seeds[*]}" <<'PY'
import json, os, sys
path, seeds = sys.argv[1], {int(s) for s in sys.argv[2].split()}
if os.path.exists(path):
    keep = [l for l in open(path) if l.strip() and json.loads(l).get("seed") not in seeds]
    with open(path + ".tmp", "w") as out:
        out.writelines(keep)
    os.replace(path + ".tmp", path)
PY
for seed in "${seeds[@]}"; do
    if (( seed % 2 )); then edgetrain "$seed"; flower "$seed"; else flower "$seed"; edgetrain "$seed"; fi
done
python3 bench/tables.py --print flower
