#!/usr/bin/env bash
# Dense ring all-reduce against MPI_Allreduce on this machine, 2 and 4 ranks.
# Both are timed in the same run, interleaved, so their ratio is fair even on
# a noisy machine. Results go to docs/benchmarks.md by hand.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release >/dev/null
for ranks in 2 4; do
    scripts/mpirun --oversubscribe -np "$ranks" .build/release/edgetrain bench allreduce \
        --sizes 1,7,1000,1048576,16777216 --iters 20 "$@"
done
