#!/usr/bin/env python3
"""Writes the large inputs of bench/report.sh, in the record shapes of
docs/metrics.md:

    python3 bench/report-inputs.py DIR

- DIR/train-10000.jsonl: a train run of 10,000 steps with an eval record
  every step (--eval-every 1), 10 epoch records and the final record;
- DIR/federated-1000.jsonl: a federated run of 1,000 rounds of 10 clients
  with every per-client key, one dropped client in every 7th round, and the
  final record.

Seeded (random.Random(1)): the same files every time. Python standard library only.
"""
import json
import math
import os
import random
import sys


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    rng = random.Random(1)
    with open(os.path.join(out, "train-10000.jsonl"), "w") as f:
        for s in range(1, 10_001):
            acc = 0.1 + 0.8 * (1 - math.exp(-s / 1500)) + rng.gauss(0, 0.01)
            f.write(json.dumps({"event": "eval", "epoch": 1 + (s - 1) // 1000, "step": s, "wall_s": 0.05 * s,
                                "test_accuracy": acc, "test_loss": 2.3 * math.exp(-s / 2000) + 0.3 + rng.gauss(0, 0.02),
                                "bytes_sent": 40_960 * s}, sort_keys=True) + "\n")
            if s % 1000 == 0:
                f.write(json.dumps({"event": "epoch", "epoch": s // 1000, "step": s, "train_loss": 0.5, "train_accuracy": 0.85,
                                    "test_loss": 0.4, "test_accuracy": acc, "lr": 0.05, "wall_s": 0.05 * s, "epoch_s": 50.0,
                                    "bytes_sent": 40_960_000, "bytes_received": 40_960_000, "bytes_sent_per_step": 40960.0,
                                    "bytes_received_per_step": 40960.0, "density": 0.02, "compute_s": 30.0, "communicate_s": 12.0,
                                    "compress_s": 5.0, "compression": "group-topk"}, sort_keys=True) + "\n")
        f.write(json.dumps({"event": "final", "model": "mlp", "parameters": 235146, "ranks": 4, "epochs": 10, "steps": 10_000,
                            "batch": 64, "seed": 1, "data": "fashion-mnist", "partition": "iid", "test_accuracy": 0.88,
                            "test_loss": 0.35, "wall_s": 500.0, "compute_s": 300.0, "communicate_s": 120.0, "compress_s": 50.0,
                            "bytes_sent": 409_600_000, "bytes_received": 409_600_000, "samples_per_s": 5120.0, "lr_peak": 0.1,
                            "model_sha256": "0" * 64, "bytes_sent_per_step": 40960.0, "lr_scaling": "linear",
                            "max_lr_scale": 2.0, "warmup_epochs": 1.0, "compression": "group-topk"}, sort_keys=True) + "\n")
    with open(os.path.join(out, "federated-1000.jsonl"), "w") as f:
        for r in range(1, 1001):
            clients = []
            for c in range(1, 11):
                if r % 7 == 0 and c == 2:
                    clients.append({"rank": c, "dropped": True, "staleness": 0})
                    continue
                compute = 0.5 + 0.1 * c + rng.random() * 0.2
                clients.append({"rank": c, "dropped": False, "staleness": 0, "steps": 100, "compute_s": compute,
                                "wait_s": compute * 3 if c == 4 else 0.0, "seconds_per_step": compute / 100, "loss_change": 0.2,
                                "bytes_up": 940_800, "bytes_down": 940_800, "round_s": compute + 0.4, "upload_s": 0.38})
            f.write(json.dumps({"event": "round", "round": r, "wall_s": 3.0 * r, "test_accuracy": 0.5 + 0.38 * (1 - math.exp(-r / 150)),
                                "test_loss": 0.4 + math.exp(-r / 150), "bytes_up_total": 9_408_000 * r,
                                "bytes_down_total": 9_408_000 * r, "round_s": 2.9, "idle_s": 4.0, "clients": clients,
                                "participants": 10 - (r % 7 == 0), "dropped": int(r % 7 == 0), "selected": list(range(1, 11)),
                                "rejected": 0}, sort_keys=True) + "\n")
        f.write(json.dumps({"event": "final", "mode": "sync", "model": "mlp", "parameters": 235146, "ranks": 11, "clients": 10,
                            "rounds": 1000, "versions": 1000, "strategy": "fedavg", "aggregation": "weighted", "seed": 1,
                            "data": "fashion-mnist", "test_accuracy": 0.88, "test_loss": 0.4, "wall_s": 3000.0,
                            "bytes_sent": 9_408_000_000, "bytes_received": 9_408_000_000, "bytes_up": 9_408_000_000,
                            "bytes_down": 9_408_000_000, "dropped_updates": 142, "late_updates": 0, "rejected_updates": 0,
                            "model_sha256": "0" * 64, "compression": "none"}, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
