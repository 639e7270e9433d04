#!/usr/bin/env python3
"""PyTorch's single-thread training throughput on EdgeTrain's models.

The side-by-side peer of `edgetrain bench train`: the same models, batch 64,
SGD with momentum 0.9, one thread, random inputs (throughput does not depend
on the data). Optional: needs `pip install torch`, never used by CI.

    python3 bench/peers/torch_train.py [--model mlp|cnn|all] [--steps N] [--json]
"""
import argparse
import json
import os
import time

import torch
import torch.nn as nn


def make_model(name, padding):
    if name == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(),
                             nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))
    side = 7 if padding else 4  # after two (conv, pool) stages
    return nn.Sequential(
        nn.Conv2d(1, 32, 5, padding=2 if padding else 0), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 5, padding=2 if padding else 0), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * side * side, 128), nn.ReLU(), nn.Linear(128, 10))


def measure(name, batch, steps, padding):
    torch.manual_seed(0)
    model = make_model(name, padding)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    x = torch.randn(batch, 1, 28, 28)
    y = torch.randint(0, 10, (batch,))
    def step():
        opt.zero_grad(set_to_none=True)
        loss_fn(model(x), y).backward()
        opt.step()
    for _ in range(max(5, steps // 10)):
        step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    seconds = time.perf_counter() - start
    return {"peer": "pytorch", "torch": torch.__version__, "model": name, "padding": 2 if padding else 0,
            "batch": batch, "steps": steps, "samples_per_s": batch * steps / seconds,
            "wall_s": seconds, "threads": torch.get_num_threads(),
            "max_isa": os.environ.get("ONEDNN_MAX_CPU_ISA", "all").lower(),
            "mkl_enable_instructions": os.environ.get("MKL_ENABLE_INSTRUCTIONS", ""),
            "aten_cpu_capability": torch.backends.cpu.get_cpu_capability()}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="all", choices=["mlp", "cnn", "all"])
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--steps", type=int, default=0, help="default: 2000 (mlp), 100 (cnn)")
    p.add_argument("--cnn-padding", type=int, default=2, choices=[0, 2])
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    torch.set_num_threads(1)
    for name in (["mlp", "cnn"] if a.model == "all" else [a.model]):
        steps = a.steps or (2000 if name == "mlp" else 100)
        r = measure(name, a.batch, steps, a.cnn_padding == 2)
        if a.json:
            print(json.dumps(r, sort_keys=True))
        else:
            print(f"pytorch {r['torch']} {name}: {r['samples_per_s']:.0f} samples/s "
                  f"(batch {a.batch}, {steps} steps, 1 thread)")


if __name__ == "__main__":
    main()
