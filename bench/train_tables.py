#!/usr/bin/env python3
"""Tables for docs/benchmarks.md from bench/train.sh's JSON Lines.

    python3 bench/train_tables.py bench/results/train.jsonl [--update docs/benchmarks.md]

With --update, the tables replace what lies between the markers
<!-- train-tables begin --> and <!-- train-tables end --> in that file.

Records with "peer": "pytorch" are PyTorch's; the others edgetrain's. Each
edgetrain record of a (model, cap) pairs with the PyTorch record that follows
it in the file (train.sh alternates them), and the ratio is taken per pair.
"""
import json
import os
import sys
from statistics import median

records = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
target = sys.argv[3] if len(sys.argv) == 4 and sys.argv[2] == "--update" else None
lines = []


def out(text=""):
    lines.append(text)


def who(r):
    return "pytorch" if r.get("peer") == "pytorch" else "edgetrain"

out("Side by side, one thread, batch 64 (samples/s; ratio = edgetrain / PyTorch of the adjacent pair)\n")
out("| model | cap | edgetrain isa | edgetrain | pytorch | ratio |")
out("|---|---|---|---|---|---|")
ratios = {}
for i, r in enumerate(records):
    if who(r) != "edgetrain" or r.get("threads") != 1 or "profile" in r:
        continue
    peer = records[i + 1] if i + 1 < len(records) else None
    if not peer or who(peer) != "pytorch" or peer["model"] != r["model"]:
        continue
    ratio = r["samples_per_s"] / peer["samples_per_s"]
    ratios.setdefault((r["model"], r["max_isa"]), []).append(ratio)
    out(f"| {r['model']} | {r['max_isa']} | {r['isa']} | {r['samples_per_s']:.0f} | "
          f"{peer['samples_per_s']:.0f} ({peer['torch']}, aten {peer.get('aten_cpu_capability', '?')}) | {ratio:.2f} |")

if ratios:
    out("\n| model | cap | pairs | ratio min | median | max |")
    out("|---|---|---|---|---|---|")
    for (model, cap), rs in ratios.items():
        out(f"| {model} | {cap} | {len(rs)} | {min(rs):.2f} | {median(rs):.2f} | {max(rs):.2f} |")

scaling = {}
for r in records:
    if who(r) == "edgetrain" and r.get("max_isa") == "all" and "profile" not in r:
        scaling.setdefault((r["model"], r["threads"]), []).append(r["samples_per_s"])
if any(t == 2 for (_, t) in scaling):
    out("\nThreads per process (edgetrain, own ISA; median samples/s over all its runs)\n")
    out("| model | 1 thread | 2 threads | speedup |")
    out("|---|---|---|---|")
    for model in ["mlp", "cnn"]:
        one, two = scaling.get((model, 1)), scaling.get((model, 2))
        if one and two:
            out(f"| {model} | {median(one):.0f} | {median(two):.0f} | {median(two) / median(one):.2f} |")

for r in records:
    if "profile" in r:
        profile = {p["pass"]: p["ms_per_step"] for p in r["profile"]}
        step = r["wall_s"] * 1000 / r["steps"]
        out(f"\nWhere a CNN step goes ({r['isa']}, batch {r['batch']}, {step:.1f} ms per step, "
              f"{r['samples_per_s']:.0f} samples/s; ReLUs after conv and fc run fused in their forward)\n")
        out("| layer pass | ms per step | share |")
        out("|---|---|---|")
        for name, ms in profile.items():
            out(f"| {name} | {ms:.2f} | {100 * ms / step:.1f}% |")
        other = step - sum(profile.values())
        out(f"| other (batch set-up, clock reads) | {other:.2f} | {100 * other / step:.1f}% |")
        impl = r.get("implementations", {})
        if impl:
            out("\noneDNN implementations (forward, backward): " +
                  "; ".join(f"{k} {', '.join(v)}" for k, v in impl.items()))

tables = "\n".join(lines) + "\n"
print(tables, end="")
if target:
    begin, end = "<!-- train-tables begin -->\n", "<!-- train-tables end -->"
    text = open(target).read()
    i, j = text.index(begin) + len(begin), text.index(end)
    updated = text[:i] + tables.strip() + "\n" + text[j:]
    with open(target + ".tmp", "w") as f:
        f.write(updated)
    os.replace(target + ".tmp", target)
