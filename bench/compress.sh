#!/usr/bin/env bash
# Group-TopK selection + encoding on one core, with and without error
# feedback, edgetrain against torch.topk per group and numpy's argpartition
# (bench/peers/topk_compress.py, same inputs, run alternately):
#   - 25,165,824 seeded i.i.d. Gaussian floats (the selector's easy case);
#   - real gradients: the MLP's and the CNN's, each dumped by rank 0 of a
#     one-rank `train` run at the defaults at steps 1, 100 and 1000, with the
#     error-feedback residual of that moment (the timing starts from it).
# PYTHON (default /tmp/peer/bin/python3 when it has torch, else python3)
# runs the peers; without torch only numpy is measured.
# Records go to bench/results/compress.jsonl (bench/tables.py). About 5 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
results=bench/results/compress.jsonl
swift build -c release >/dev/null
python="${PYTHON:-/tmp/peer/bin/python3}"
[ -x "$python" ] || python=python3
who=numpy
"$python" -c "import torch" 2>/dev/null && who=torch,numpy
dumps="${TMPDIR:-/tmp}/edgetrain-gradients"
rm -rf "$dumps"
: > "$results"
for model in mlp cnn; do
    record "$results" compress-dump "$model" 1 scripts/mpirun -np 1 .build/release/edgetrain train --model "$model" \
        --epochs 2 --dump-gradients "$dumps" --dump-steps 1,100,1000 --json
done
et=.build/release/edgetrain
record "$results" compress gaussian "" $et bench compress --group-size 256,1024,4096 --ratio 0.01,0.001 --json
record "$results" compress gaussian "" "$python" bench/peers/topk_compress.py --who "$who" \
    --group-size 1024 --ratio 0.01 --iters 5 --json
for model in mlp cnn; do
    for step in 1 100 1000; do
        file="$dumps/$model-step$step.f32"
        record "$results" compress "$model step $step" "" $et bench compress --input "$file" \
            --group-size 1024 --ratio 0.01,0.001 --iters 51 --json
        record "$results" compress "$model step $step" "" "$python" bench/peers/topk_compress.py --who "$who" \
            --input "$file" --group-size 1024 --ratio 0.01,0.001 --iters 21 --json
    done
done
python3 bench/tables.py --print compress
