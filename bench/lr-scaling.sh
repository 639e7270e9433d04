#!/usr/bin/env bash
# Accuracy against the rank count at the default learning-rate schedule.
#
#   bench/lr-scaling.sh                 run every configuration, append to bench/results/lr-scaling.jsonl
#   bench/lr-scaling.sh --table         only regenerate the table in docs/benchmarks.md
#
# Configurations (the cheapest that show the rule holds; 2 cores, so more ranks
# only cost time): for N = 1, 2, 4, 8, 16, 32 and seeds 1, 2, 3,
#   fmnist:    edgetrain train --epochs 1 --seed S          (Fashion-MNIST, MLP, every other flag default)
#   synthetic: edgetrain train --synthetic --epochs 2 --seed S
#   fmnist-plain: edgetrain train --epochs 1 --max-lr-scale inf --seed S   (the uncapped rule, for contrast;
#              run it with SEEDS=1 RANKS="4 8 16 32": N = 1, 2 equal the capped rule)
# Each run appends one JSON line: the final record plus "config", "commit" and
# "command"; a run that fails appends {"event": "failed", ...} with its last
# error line instead, so a divergence shows in the table rather than vanishing.
# RANKS="1 2" SEEDS="1" CONFIGS="synthetic" narrow a run.
set -euo pipefail
cd "$(dirname "$0")/.."
results=bench/results/lr-scaling.jsonl
if [ "${1:-}" != "--table" ]; then
    swift build -c release >/dev/null
    mkdir -p bench/results
    commit=$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- Sources || echo "+dirty")
    for config in ${CONFIGS:-fmnist synthetic}; do
        case "$config" in
            fmnist) args=(--epochs 1) ;;
            synthetic) args=(--synthetic --epochs 2) ;;
            fmnist-plain) args=(--epochs 1 --max-lr-scale inf) ;;
            *) echo "unknown config $config" >&2; exit 1 ;;
        esac
        for n in ${RANKS:-1 2 4 8 16 32}; do
            for seed in ${SEEDS:-1 2 3}; do
                command="scripts/mpirun -np $n --oversubscribe .build/release/edgetrain train ${args[*]} --seed $seed --json"
                echo "== $command" >&2
                err=$(mktemp)
                if out=$(scripts/mpirun -np "$n" --oversubscribe --timeout 1800 .build/release/edgetrain train \
                        "${args[@]}" --seed "$seed" --json 2>"$err"); then
                    line=$(printf '%s\n' "$out" | tail -n 1)
                else
                    reason=$(grep -E '^(edgetrain:|\[rank [0-9]+\])' "$err" | head -n 1 || true)
                    line=$(python3 -c 'import json,sys; print(json.dumps({"event":"failed","ranks":int(sys.argv[1]),"seed":int(sys.argv[2]),"error":sys.argv[3]}))' \
                        "$n" "$seed" "${reason:-exit status non-zero}")
                fi
                rm -f "$err"
                python3 -c 'import json,sys; r=json.loads(sys.argv[1]); r.update(config=sys.argv[2], commit=sys.argv[3], command=sys.argv[4]); print(json.dumps(r, sort_keys=True))' \
                    "$line" "$config" "$commit" "$command" >> "$results"
            done
        done
    done
fi
python3 - "$results" docs/benchmarks.md <<'PY'
import json, statistics, sys
results, doc = sys.argv[1], sys.argv[2]
records = [json.loads(l) for l in open(results) if l.strip()]
lines = []
for config, title in [("fmnist", "Fashion-MNIST, MLP, 1 epoch"), ("synthetic", "synthetic data, MLP, 2 epochs"),
                      ("fmnist-plain", "For contrast, the plain (uncapped) linear rule: Fashion-MNIST, MLP, 1 epoch")]:
    rows = [r for r in records if r["config"] == config]
    if not rows:
        continue
    # The newest commit's runs only.
    commit = rows[-1]["commit"]
    rows = [r for r in rows if r["commit"] == commit]
    cmd = rows[0]["command"].replace("-np %d " % rows[0]["ranks"], "-np N ").replace("--seed %d" % rows[0]["seed"], "--seed S")
    lines += ["", f"{title} (commit {commit}): `{cmd}`, seeds S = "
              + ", ".join(str(s) for s in sorted({r['seed'] for r in rows})) + ".", "",
              "| ranks N | global batch | peak lr | warm-up epochs | steps | test accuracy, mean (min-max) | failed |",
              "|---:|---:|---:|---:|---:|---|---:|"]
    for n in sorted({r["ranks"] for r in rows}):
        done = [r for r in rows if r["ranks"] == n and r["event"] == "final"]
        failed = [r for r in rows if r["ranks"] == n and r["event"] != "final"]
        if done:
            acc = [r["test_accuracy"] for r in done]
            a = done[0]
            accuracy = f"{statistics.mean(acc):.4f} ({min(acc):.4f}-{max(acc):.4f})"
            lines.append(f"| {n} | {a['batch'] * n} | {a['lr_peak']:.4g} | {a['warmup_epochs']:.4g} | {a['steps']} | {accuracy} | {len(failed)} |")
        else:
            lines.append(f"| {n} | {64 * n} | | | | all failed: {failed[0]['error']} | {len(failed)} |")
text = open(doc).read()
begin, end = "<!-- lr-scaling:begin (bench/lr-scaling.sh) -->", "<!-- lr-scaling:end -->"
i, j = text.index(begin) + len(begin), text.index(end)
open(doc, "w").write(text[:i] + "\n".join(lines) + "\n" + text[j:])
PY
