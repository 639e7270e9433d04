#!/usr/bin/env bash
# All-reduce on this machine (shared memory, oversubscribed on 2 cores):
#   - the dense ring against MPI_Allreduce, 2 and 4 ranks, timed interleaved
#     on the same data so that their ratio is fair on a noisy machine;
#   - 4 ranks, 454,922 floats (the CNN) and 10M: what a Group-TopK training
#     step does (compression with error feedback + sparse ring, exact and
#     reselect, r = 0.01) against MPI_Allreduce of the dense vector.
# Records go to bench/results/allreduce.jsonl (bench/tables.py). About 2 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
results=bench/results/allreduce.jsonl
swift build -c release >/dev/null
: > "$results"
for ranks in 2 4; do
    record "$results" allreduce-dense "$ranks ranks" "" scripts/mpirun --oversubscribe -np "$ranks" \
        .build/release/edgetrain bench allreduce --sizes 1,7,1000,1048576,16777216 --iters 20 --json
done
record "$results" allreduce-sparse "4 ranks r=0.01" "" scripts/mpirun --oversubscribe -np 4 \
    .build/release/edgetrain bench allreduce --sparse --ratio 0.01 --sizes 454922,10000000 --iters 10 --json
python3 bench/tables.py --print allreduce
