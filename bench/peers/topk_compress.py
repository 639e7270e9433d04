#!/usr/bin/env python3
"""Group-TopK selection + encoding with torch and numpy, one thread.

The side-by-side peer of `edgetrain bench compress`: the same inputs (a
Float32 file from `train --dump-gradients`, with its `.residual.f32` twin as
the starting error-feedback residual when present, or seeded i.i.d.
Gaussian data), the same (group size, ratio), the same work per repetition:

  plain           select the k largest magnitudes of every group, gather the
                  values, encode (Float32 values + UInt16/UInt32 positions, bytes)
  error feedback  residual += gradient, select from the residual, gather,
                  zero the sent entries, encode

torch: `abs().topk(k, dim=1)` over a (groups, G) view; numpy:
`argpartition` per row. The vector is zero-padded to whole groups once,
outside the timing (a small advantage to the peers: edgetrain handles the
short last group in the loop). Median of --iters after one warm-up.
Optional: needs torch and numpy (`python3 -m venv /tmp/peer && /tmp/peer/bin/pip install torch numpy`).

    python3 bench/peers/topk_compress.py [--input a.f32,b.f32 | --size N] [--group-size 1024] [--ratio 0.01] [--json]
"""
import argparse
import json
import os
import statistics
import time

import numpy as np


def load(args):
    if not args.input:
        rng = np.random.default_rng(1)
        yield "gaussian", rng.standard_normal(args.size, dtype=np.float32), None
        return
    for path in args.input.split(","):
        g = np.fromfile(path, dtype="<f4")
        twin = path[:-4] + ".residual.f32" if path.endswith(".f32") else path + ".residual"
        r = np.fromfile(twin, dtype="<f4") if os.path.exists(twin) else None
        yield os.path.basename(path), g, r


def padded(x, groups, size):
    out = np.zeros(groups * size, dtype=np.float32)
    out[: len(x)] = x
    return out.reshape(groups, size)


def median_seconds(fn, iters, reset=lambda: None):
    reset()
    fn()
    times = []
    for _ in range(iters):
        reset()  # untimed, as in edgetrain: every repetition starts from the same residual
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def numpy_kernels(g, r0, k, pos_type):
    r = r0.copy()

    def encode(vals, idx):
        return vals.tobytes() + idx.astype(pos_type).tobytes()

    def plain():
        idx = np.argpartition(np.abs(g), -k, axis=1)[:, -k:]
        return encode(np.take_along_axis(g, idx, 1), idx)

    def reset():
        np.copyto(r, r0)

    def feedback():
        np.add(r, g, out=r)
        idx = np.argpartition(np.abs(r), -k, axis=1)[:, -k:]
        vals = np.take_along_axis(r, idx, 1)
        np.put_along_axis(r, idx, 0, 1)
        return encode(vals, idx)

    return plain, feedback, reset


def torch_kernels(g, r0, k, pos_type):
    import torch
    gt = torch.from_numpy(g)
    r0t = torch.from_numpy(r0)
    r = r0t.clone()

    def encode(vals, idx):
        return vals.numpy().tobytes() + idx.numpy().astype(pos_type).tobytes()

    def plain():
        idx = gt.abs().topk(k, dim=1).indices
        return encode(gt.gather(1, idx), idx)

    def reset():
        r.copy_(r0t)

    def feedback():
        r.add_(gt)
        idx = r.abs().topk(k, dim=1).indices
        vals = r.gather(1, idx)
        r.scatter_(1, idx, 0.0)
        return encode(vals, idx)

    return plain, feedback, reset


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--input", help="comma-separated Float32 files")
    p.add_argument("--size", type=int, default=25_165_824, help="floats of the Gaussian vector")
    p.add_argument("--group-size", default="1024")
    p.add_argument("--ratio", default="0.01")
    p.add_argument("--iters", type=int, default=11)
    p.add_argument("--who", default="torch,numpy")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    who = args.who.split(",")
    versions = {"numpy": np.__version__}
    if "torch" in who:
        import torch
        torch.set_num_threads(1)
        versions["torch"] = torch.__version__
    for name, x, residual in load(args):
        for size in (int(s) for s in args.group_size.split(",")):
            for ratio in (float(s) for s in args.ratio.split(",")):
                k = min(size, max(1, round(ratio * size)))
                groups = (len(x) + size - 1) // size
                g = padded(x, groups, size)
                r0 = padded(residual, groups, size) if residual is not None else np.zeros_like(g)
                pos_type = "<u2" if size <= 65536 else "<u4"
                for w in who:
                    plain, feedback, reset = (torch_kernels if w == "torch" else numpy_kernels)(g, r0, k, pos_type)
                    a = median_seconds(plain, args.iters)
                    b = median_seconds(feedback, args.iters, reset)
                    rec = {"who": w, "version": versions[w], "input": name, "residual_from_run": residual is not None,
                           "size": len(x), "group_size": size, "ratio": ratio, "k": k, "iters": args.iters,
                           "seconds": a, "gbps": len(x) * 4 / a / 1e9,
                           "seconds_error_feedback": b, "gbps_error_feedback": len(x) * 4 / b / 1e9}
                    if args.json:
                        print(json.dumps(rec, sort_keys=True), flush=True)
                    else:
                        print(f"{w} {versions[w]} {name} ({len(x)} floats) G {size} r {ratio:g} (k {k}): "
                              f"select+encode {rec['gbps']:.2f} GB/s ({a * 1e3:.3f} ms); "
                              f"with error feedback {rec['gbps_error_feedback']:.2f} GB/s ({b * 1e3:.3f} ms)", flush=True)


if __name__ == "__main__":
    main()
