#!/usr/bin/env bash
# The trace pictures of docs/report.md: a 4-rank `train` (MLP, Group-TopK,
# one epoch of 5,120 synthetic images) and a 4-rank `federated` run (6
# virtual clients on 3 executors, 3 rounds) with --trace, each drawn by
# `edgetrain report --trace` whole and zoomed into three steps (rounds) of
# rank 0, into docs/figures/trace/, and screenshots of both in the Perfetto UI
# (scripts/check-trace-perfetto.py).
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
et=.build/release/edgetrain
out=docs/figures/trace
mkdir -p "$out"
scripts/mpirun -np 4 --oversubscribe $et train --model mlp --synthetic --synthetic-train 5120 --synthetic-test 500 \
    --epochs 1 --batch 32 --trace "$work/train.json" --json >/dev/null
scripts/mpirun -np 4 --oversubscribe $et federated --model mlp --synthetic --synthetic-train 1200 --synthetic-test 500 \
    --clients 6 --rounds 3 --local-steps 20 --batch 16 --trace "$work/federated.json" --json >/dev/null
python3 scripts/check-trace.py "$work/train.json" --ranks 4
python3 scripts/check-trace.py "$work/federated.json" --ranks 4
# Both open in the Perfetto UI (headless Chromium, offline) with no import error; a screenshot of each.
command -v chromium >/dev/null || scripts/install-deps chromium >&2
python3 scripts/check-trace-perfetto.py "$work/train.json" --ranks 4 --screenshot "$out/perfetto-train.png"
python3 scripts/check-trace-perfetto.py "$work/federated.json" --ranks 4 --screenshot "$out/perfetto-federated.png"
# Three steps of rank 0 (train: forward/backward 10 to 13; federated: rounds 2 and 3), in seconds from the trace's start.
window() {
    python3 - "$1" "$2" <<'PY'
import json, sys
events = [e for e in json.load(open(sys.argv[1]))["traceEvents"] if e["ph"] == "X"]
origin = min(e["ts"] for e in events)
marks = sorted(e["ts"] for e in events if e["pid"] == 0 and e["name"].startswith(sys.argv[2]))
a, b = (marks[9], marks[12]) if sys.argv[2] == "forward" else (marks[1], max(e["ts"] + e["dur"] for e in events))
print(f"{(a - origin) / 1e6:.6f}:{(b - origin) / 1e6:.6f}")
PY
}
for run in train federated; do
    prefix=$([ "$run" = train ] && echo forward || echo "round ")
    $et report --trace "$work/$run.json" -o "$work/$run.html" --svg "$work/$run-all" 2>/dev/null
    $et report --trace "$work/$run.json" --trace-window "$(window "$work/$run.json" "$prefix")" -o "$work/$run-zoom.html" \
        --svg "$work/$run-zoom" 2>/dev/null
    cp "$work/$run-all/trace-$run.svg" "$out/$run.svg"
    cp "$work/$run-zoom/trace-$run.svg" "$out/$run-zoom.svg"
    echo "$out/$run.svg $out/$run-zoom.svg"
done
