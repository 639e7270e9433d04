#!/usr/bin/env bash
# Group-TopK against dense on Fashion-MNIST: MLP, 4 ranks (oversubscribed),
# 5 epochs, the same seed for every run. Prints one JSON line per run and a
# table of accuracy and bytes relative to the dense run.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release >/dev/null
ranks=${RANKS:-4}
out=$(mktemp)
run() {
    scripts/mpirun --oversubscribe -np "$ranks" .build/release/edgetrain train --model mlp --epochs 5 --seed 1 --json "$@" 2>/dev/null \
        | tail -1 | tee -a "$out"
}
run --compression none
for r in 0.01 0.001; do
    for policy in exact reselect; do
        run --compression group-topk --ratio "$r" --sparse-reduce "$policy"
    done
done
python3 - "$out" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
dense = rows[0]
print(f"{'run':32} {'test_acc':>9} {'vs dense':>9} {'bytes_sent':>14} {'% of dense':>10} {'wall_s':>7}")
for r in rows:
    name = "dense ring" if r["compression"] == "none" else f"group-topk r={r['ratio']} {r['sparse_reduce']}"
    print(f"{name:32} {r['test_accuracy']:9.4f} {100*(r['test_accuracy']-dense['test_accuracy']):+8.2f}p "
          f"{r['bytes_sent']:14d} {100*r['bytes_sent']/dense['bytes_sent']:9.2f}% {r['wall_s']:7.1f}")
PY
rm -f "$out"
