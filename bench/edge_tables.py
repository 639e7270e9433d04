#!/usr/bin/env python3
"""Tables for docs/benchmarks.md from bench/edge.sh results (JSON Lines files)."""
import json
import sys

rows = [json.loads(l) for f in sys.argv[1:] for l in open(f)]
print("Per-step communication (median of 3, slowest rank; bytes sent per rank)\n")
print("| links | floats | method | seconds | bytes sent | vs MPI_Allreduce |")
print("|---|---|---|---|---|---|")
dense = {}
for r in rows:
    if "size" not in r:
        continue
    key = (r["scenario"], r["size"])
    if r.get("mpi_s", 0) > 0:
        dense[key] = r
for r in rows:
    if "size" not in r:
        continue
    key = (r["scenario"], r["size"])
    d = dense[key]
    if r.get("mpi_s", 0) > 0:
        print(f"| {r['scenario']} | {r['size']} | MPI_Allreduce | {r['mpi_s']:.4f} | - | 1 |")
        print(f"| {r['scenario']} | {r['size']} | dense ring | {r['ring_s']:.4f} | {r['bytes_sent']} | {d['mpi_s']/r['ring_s']:.1f}x faster |")
    for p in ("exact", "reselect"):
        print(f"| {r['scenario']} | {r['size']} | group-topk r={r['ratio']} {p} | {r[p+'_s']:.4f} | {r[p+'_bytes_sent']} "
              f"| {d['mpi_s']/r[p+'_s']:.1f}x faster |")
print("\nTime to 85% test accuracy, MLP, 4 hosts at 100 Mbit/s\n")
print("| compression | time_to_target_s | steps | bytes sent (rank 0) | final test_accuracy |")
print("|---|---|---|---|---|")
train = [r for r in rows if r.get("event") == "final"]
for r in train:
    print(f"| {r['compression']} | {r['time_to_target_s']:.1f} | {r['steps']} | {r['bytes_sent']} | {r['test_accuracy']:.4f} |")
if len(train) == 2:
    print(f"\nratio dense / group-topk: {train[0]['time_to_target_s'] / train[1]['time_to_target_s']:.1f}x")
