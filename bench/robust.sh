#!/usr/bin/env bash
# Robust aggregation against one poisoned client: 1 coordinator + 8 clients,
# MLP, 1 local epoch, 20 rounds, seed 1. Client rank 3 attacks with each of
# sign-flip, scale and noise (strength S = 10, the default); each attack and
# the attack-free run are aggregated by FedAvg (weighted), the coordinate-wise
# median and the trimmed mean (beta 0.1: one value off each end of 8).
#
#   bench/robust.sh [results-dir] [partition arguments ...]
#
# Default partition: iid. For a label skew: bench/robust.sh DIR --partition dirichlet --alpha 1
# Each run's final record goes to results-dir/<aggregation>-<attack>.jsonl (stderr to .err); the
# table prints final test accuracy and its difference from the same aggregator's attack-free
# run, or "diverged (version N)" for a run the coordinator stopped when its model went non-finite.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-bench/robust-results}"
shift || true
partition=("$@")
[ ${#partition[@]} -gt 0 ] || partition=(--partition iid)
mkdir -p "$out"
swift build -c release >/dev/null
for aggregation in weighted median trimmed-mean; do
    for attack in none sign-flip scale noise; do
        poison=()
        [ "$attack" = none ] || poison=(--byzantine 3 --attack "$attack")
        echo "== $aggregation $attack" >&2
        scripts/mpirun -np 9 --oversubscribe .build/release/edgetrain federated --model mlp --rounds 20 --seed 1 \
            "${partition[@]}" --aggregation "$aggregation" "${poison[@]}" --json \
            > "$out/$aggregation-$attack.jsonl" 2> "$out/$aggregation-$attack.err" || echo "   (exit $?)" >&2
    done
done
python3 - "$out" <<'PY'
import json, re, sys
out = sys.argv[1]
def failure(name):
    """How a run without a final record ended, from its stderr."""
    try:
        text = open(f"{out}/{name}.err").read()
    except OSError:
        return "failed"
    m = re.search(r"non-finite at version (\d+)", text)
    return f"diverged (version {m.group(1)})" if m else "failed"
attacks = ["none", "sign-flip", "scale", "noise"]
print("| aggregation | " + " | ".join(attacks) + " |")
print("|---|" + "---|" * len(attacks))
for agg in ["weighted", "median", "trimmed-mean"]:
    acc = {}
    for a in attacks:
        try:
            acc[a] = json.loads(open(f"{out}/{agg}-{a}.jsonl").read().strip().splitlines()[-1])["test_accuracy"]
        except (OSError, IndexError, ValueError, KeyError):
            acc[a] = None
    cells = []
    for a in attacks:
        if acc[a] is None:
            cells.append(failure(f"{agg}-{a}"))
        elif a == "none" or acc["none"] is None:
            cells.append(f"{acc[a]:.4f}")
        else:
            cells.append(f"{acc[a]:.4f} ({100 * (acc[a] - acc['none']):+.2f})")
    print(f"| {agg} | " + " | ".join(cells) + " |")
PY
