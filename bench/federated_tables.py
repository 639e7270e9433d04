#!/usr/bin/env python3
"""Tables for docs/benchmarks.md from bench/federated.sh metrics.

    python3 bench/federated_tables.py RESULTS_DIR RUN [RUN ...]
"""
import json
import os
import sys

directory, runs = sys.argv[1], sys.argv[2:]
data = {}
for name in runs:
    path = os.path.join(directory, name + ".jsonl")
    if not os.path.exists(path):
        continue
    records = [json.loads(line) for line in open(path)]
    data[name] = ([r for r in records if r["event"] == "round"], next(r for r in records if r["event"] == "final"))

checkpoints = [1, 5, 10, 15, 20]
print("Test accuracy against round (wall seconds in brackets)\n")
print("| run | " + " | ".join(f"round {c}" for c in checkpoints) + " | final |")
print("|---" * (len(checkpoints) + 2) + "|")
for name, (rounds, final) in data.items():
    cells = []
    for c in checkpoints:
        r = next((r for r in rounds if r["round"] == c), None)
        cells.append(f"{r['test_accuracy']:.4f} ({r['wall_s']:.0f} s)" if r else "-")
    print(f"| {name} | " + " | ".join(cells) + f" | {final['test_accuracy']:.4f} ({final['wall_s']:.0f} s) |")

reference = data.get("fedavg")
if reference:
    target = reference[1]["test_accuracy"]
    budget = reference[1]["wall_s"]
    print(f"\nAgainst FedAvg after 20 rounds (test accuracy {target:.4f}, {budget:.0f} s)\n")
    print("| run | accuracy at round 20 | vs FedAvg | seconds to reach FedAvg's final | share of FedAvg's time |")
    print("|---|---|---|---|---|")
    for name, (rounds, final) in data.items():
        r20 = next((r for r in rounds if r["round"] == 20), None)
        hit = next((r for r in rounds if r["test_accuracy"] >= target), None)
        acc = f"{r20['test_accuracy']:.4f} | {100 * (r20['test_accuracy'] - target):+.2f} points" if r20 else "- | -"
        reach = f"{hit['wall_s']:.1f} (round {hit['round']}) | {100 * hit['wall_s'] / budget:.0f}%" if hit else "not reached | -"
        print(f"| {name} | {acc} | {reach} |")

print("\nTime to 80% test accuracy, idle time and traffic\n")
print("| run | rounds to 80% | seconds to 80% | idle_s (sum) | dropped/late | MB up | MB down |")
print("|---|---|---|---|---|---|---|")
for name, (rounds, final) in data.items():
    hit = next((r for r in rounds if r["test_accuracy"] >= 0.80), None)
    idle = sum(r.get("idle_s", 0) for r in rounds)
    print(f"| {name} | {hit['round'] if hit else '-'} | {hit['wall_s']:.1f} | {idle:.1f} | "
          f"{final['dropped_updates']}/{final['late_updates']} | {final['bytes_up'] / 1e6:.1f} | {final['bytes_down'] / 1e6:.1f} |"
          if hit else f"| {name} | not reached | - | {idle:.1f} | {final['dropped_updates']}/{final['late_updates']} | "
          f"{final['bytes_up'] / 1e6:.1f} | {final['bytes_down'] / 1e6:.1f} |")
