#!/usr/bin/env python3
"""PyTorch's implementation of each compression method, timed on one core,
as the peer of `edgetrain bench codecs` (bench/codecs.sh runs both):

    python3 bench/peers/codec_kernels.py [--size N] [--bucket-size B] [--levels S]
        [--powersgd-shape MxN] [--rank R] [--iters K] --json

Per method, the same work as edgetrain's codec: encode a seeded Gaussian
vector into its message and decode-add a message into a sum (median of
--iters after a warm-up), torch.set_num_threads(1):

- fp16: x.half() / acc += h.float()
- int8: torch.quantize_per_tensor per bucket is not available, so the
  bucketed form is written in torch (scale = max|x| / 127 per bucket,
  torch.round, int8), and `int8-per-tensor` times torch.quantize_per_tensor
  (one scale) and its dequantize, as the issue asks;
- qsgd: QSGD written in torch (per-bucket norms, stochastic rounding with
  torch.rand, sign and level as int8; no bit packing, which torch lacks);
- sign: torch.sign with a per-group mean |x| scale (packing by
  torch.packbits is not in torch: the signs stay int8);
- powersgd: the DDP PowerSGD hook's path for one layer: P = M Q (matmul),
  torch.linalg.qr(P), Q = M^T P, then M_hat = P Q^T.

Prints one JSON object per method ({"who": "pytorch", "codec", "size",
"encode_s", "decode_s", ...}). Needs torch (the /tmp/peer venv).
"""
import argparse
import warnings
import json
import statistics
import time

import torch


def median_time(fn, iters):
    fn()
    times = []
    for _ in range(iters):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--size", type=int, default=4_194_304)
    p.add_argument("--bucket-size", type=int, default=512)
    p.add_argument("--levels", type=int, default=127)
    p.add_argument("--powersgd-shape", default="256x784")
    p.add_argument("--rank", type=int, default=2)
    p.add_argument("--iters", type=int, default=11)
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", category=UserWarning)  # quantize_per_tensor is deprecated
    g = torch.Generator().manual_seed(1)
    x = torch.randn(a.size, generator=g)
    acc = torch.zeros(a.size)
    n, b, s = a.size, a.bucket_size, a.levels
    pad = (-n) % b
    records = []

    def emit(codec, encode_s, decode_s, **extra):
        r = {"who": "pytorch", "codec": codec, "size": extra.pop("size", n), "encode_s": encode_s, "decode_s": decode_s,
             "iters": a.iters, "torch": torch.__version__}
        r.update(extra)
        records.append(r)

    # fp16
    h = x.half()
    emit("fp16", median_time(lambda: x.half(), a.iters), median_time(lambda: acc.add_(h.float()), a.iters))

    # int8 per bucket, written in torch
    def int8_encode():
        v = torch.nn.functional.pad(x, (0, pad)).view(-1, b)
        scale = v.abs().amax(dim=1, keepdim=True) / 127
        return torch.round(v / scale.clamp_min(1e-30)).to(torch.int8), scale
    q8, sc = int8_encode()
    emit("int8", median_time(int8_encode, a.iters),
         median_time(lambda: acc.add_((q8.float() * sc).view(-1)[:n]), a.iters))

    # int8 per tensor: torch.quantize_per_tensor
    scale = float(x.abs().max()) / 127
    qt = torch.quantize_per_tensor(x, scale, 0, torch.qint8)
    emit("int8-per-tensor", median_time(lambda: torch.quantize_per_tensor(x, float(x.abs().max()) / 127, 0, torch.qint8), a.iters),
         median_time(lambda: acc.add_(qt.dequantize()), a.iters))

    # QSGD in torch
    def qsgd_encode():
        v = torch.nn.functional.pad(x, (0, pad)).view(-1, b)
        norm = v.norm(dim=1, keepdim=True)
        level = v.abs() / norm.clamp_min(1e-30) * s
        low = level.floor()
        level = low + (torch.rand(level.shape, generator=g) < (level - low)).float()
        return (torch.sign(v) * level).to(torch.int16), norm
    qq, nq = qsgd_encode()
    emit("qsgd", median_time(qsgd_encode, a.iters),
         median_time(lambda: acc.add_((qq.float() * nq / s).view(-1)[:n]), a.iters))

    # scaled sign
    def sign_encode():
        v = torch.nn.functional.pad(x, (0, pad)).view(-1, b)
        return torch.sign(v).to(torch.int8), v.abs().mean(dim=1, keepdim=True)
    sg, ss = sign_encode()
    emit("sign", median_time(sign_encode, a.iters), median_time(lambda: acc.add_((sg.float() * ss).view(-1)[:n]), a.iters))

    # PowerSGD, one layer, the DDP hook's matmul + QR path
    m, k = map(int, a.powersgd_shape.split("x"))
    M = torch.randn(m, k, generator=g)
    Q = torch.randn(k, a.rank, generator=g)

    def power_encode():
        P = M @ Q
        P, _ = torch.linalg.qr(P)
        return P, M.t() @ P
    P, Q2 = power_encode()
    emit("powersgd", median_time(power_encode, a.iters), median_time(lambda: P @ Q2.t(), a.iters),
         size=m * k, powersgd_rank=a.rank)

    for r in records:
        print(json.dumps(r, sort_keys=True))


if __name__ == "__main__":
    main()
