#!/usr/bin/env bash
# What Group-TopK buys on an edge network: 4 emulated hosts (network
# namespaces, tc tbf links), OpenMPI over TCP, one rank per host.
#
#   bench/edge.sh [results.jsonl] [scenario ...]
#
# Scenarios: 100mbit, 1gbit, hetero (default: all three).
# Scenarios: every link at 100 Mbit/s; every link at 1 Gbit/s; three links
# at 100 Mbit/s and one at 10 Mbit/s. In each:
#   - per-step communication time and bytes for a gradient the size of the
#     CNN (454,922 floats) and one of 10M floats: dense MPI_Allreduce, the
#     dense ring, and the Group-TopK sparse ring (exact and reselect) at
#     r = 0.01 and 0.001 (`edgetrain bench allreduce --sparse`);
#   - (100 Mbit/s only) time to 85% test accuracy for `train --model mlp`,
#     dense against Group-TopK r = 0.01 (`--eval-every 25 --stop-at-target`).
# Writes every JSON record to the results file (default bench/edge-results.jsonl)
# and prints the tables for docs/benchmarks.md. Needs root. Takes ~20 minutes;
# on the 10 Mbit/s link every dense all-reduce of 10M floats takes ~1 minute,
# so that scenario times one iteration per method.
set -euo pipefail
cd "$(dirname "$0")/.."
results="${1:-bench/edge-results.jsonl}"
shift || true
wanted=("$@")
[ ${#wanted[@]} -gt 0 ] || wanted=(100mbit 1gbit hetero)
hosts=4
swift build -c release >/dev/null
: > "$results"
cleanup() { scripts/edge-cluster down >/dev/null 2>&1 || true; }
trap cleanup EXIT

run() {  # scenario label, then edgetrain arguments
    local label="$1"; shift
    scripts/mpirun --hostfile hostfiles/emulated -am hostfiles/emulated.mca -np "$hosts" \
        .build/release/edgetrain "$@" 2>/dev/null \
        | grep '^{' | python3 -c "
import json, sys
for line in sys.stdin:
    r = json.loads(line); r['scenario'] = '$label'; r['command'] = 'edgetrain $*'
    print(json.dumps(r, sort_keys=True))" >> "$results"
}

scenario() {  # label, iterations, edge-cluster rate arguments
    local label="$1" iters="$2"; shift 2
    [[ " ${wanted[*]} " == *" $label "* ]] || return 0
    scripts/edge-cluster up --hosts "$hosts" "$@" >/dev/null
    echo "== $label" >&2
    local timing=(--iters "$iters" --warmup $((iters > 1 ? 1 : 0)))
    run "$label" bench allreduce --sizes 454922,10000000 --sparse --ratio 0.01 "${timing[@]}" --json
    run "$label" bench allreduce --sizes 454922,10000000 --sparse --ratio 0.001 --sparse-only "${timing[@]}" --json
    if [ "$label" = "100mbit" ]; then
        for compression in none group-topk; do
            run "$label" train --model mlp --epochs 5 --compression "$compression" --ratio 0.01 \
                --eval-every 25 --target-accuracy 0.85 --stop-at-target --json
        done
    fi
    scripts/edge-cluster down >/dev/null
}

scenario 100mbit 3 --rate 100mbit
scenario 1gbit 3 --rate 1gbit
scenario hetero 1 --rates 100mbit,100mbit,100mbit,10mbit

python3 bench/edge_tables.py "$results"
