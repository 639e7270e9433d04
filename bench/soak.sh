#!/usr/bin/env bash
# Soak: 16 ranks on this machine (oversubscribed), 2,000 steps of Group-TopK
# training (MLP 784-256-128-10, ratio 0.01, groups of 1024, error feedback)
# on synthetic data: 32,000 samples, batch 16 per rank (the base rate 0.05
# taken as tuned for batch 64, so the peak is 0.05 x 256 / 64), 125 steps per
# epoch over 16 epochs. Every epoch record carries each rank's peak resident
# memory (getrusage ru_maxrss); the table compares epoch 1 with the end.
#
#   bench/soak.sh [metrics-file]
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-bench/soak-results/soak.jsonl}"
mkdir -p "$(dirname "$out")"
swift build -c release >/dev/null
scripts/mpirun -np 16 --oversubscribe .build/release/edgetrain train --synthetic --synthetic-train 32000 \
    --synthetic-test 1000 --epochs 16 --batch 16 --base-batch 64 --report-memory --metrics "$out" --json > /dev/null
python3 - "$out" <<'PY'
import json, sys
records = [json.loads(l) for l in open(sys.argv[1])]
epochs = [r for r in records if r.get("event") == "epoch"]
final = records[-1]
first, last = epochs[0]["rss_peak_kb_per_rank"], final["rss_peak_kb_per_rank"]
growth = [b - a for a, b in zip(first, last)]
print(f"ranks {final['ranks']}, steps {final['steps']}, wall_s {final['wall_s']:.1f}, test_accuracy {final['test_accuracy']:.4f}")
print(f"peak RSS after epoch 1: min {min(first) / 1024:.1f} MiB, max {max(first) / 1024:.1f} MiB")
print(f"peak RSS at the end:    min {min(last) / 1024:.1f} MiB, max {max(last) / 1024:.1f} MiB")
print(f"growth per rank (KiB): min {min(growth)}, max {max(growth)}; peak per epoch (MiB, max over ranks): "
      + " ".join(f"{max(e['rss_peak_kb_per_rank']) / 1024:.1f}" for e in epochs))
PY
