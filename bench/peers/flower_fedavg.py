#!/usr/bin/env python3
"""FedAvg in Flower's simulation engine (Ray) with PyTorch: the peer of
`edgetrain federated --clients N` in bench/flower.sh.

The same task as EdgeTrain's side: the MLP 784-256-128-10 with ReLU
(He-normal weights, std sqrt(2 / fan-in), zero biases, as EdgeTrain's
`--model mlp`), Fashion-MNIST read from Debian's IDX files (pixels / 255,
normalized with EdgeTrain's mean 0.2860 and std 0.3530), N clients of an
iid split (a seeded shuffle cut into near-equal pieces), C x N clients per
round, E local epochs of ceil(samples / B) steps of exactly B samples each
(each client draws from a seeded shuffle of its own samples that carries on
across rounds and is reshuffled after each pass, as EdgeTrain's sampler),
plain SGD (lr, no momentum, no weight decay, mean cross-entropy), FedAvg
weighted by the clients' sample counts, and the global model evaluated on
the whole test set after every round by the server (batch 1000).

Flower runs each sampled client's ClientApp in a pool of Ray actors, one
CPU and one torch thread each (`--actors` actors in all, Ray started with
that many CPUs); the ServerApp runs in this process, also on one torch
thread.

    /tmp/peer/bin/python3 bench/peers/flower_fedavg.py --rounds 30 --seed 1 --metrics FILE --json

Writes EdgeTrain's record shapes (docs/metrics.md, federated): one
{"event": "round", ...} per round (round, wall_s, round_s, eval_s,
test_accuracy, test_loss, participants, clients: [{client, compute_s,
steps, samples}]) and a final {"event": "final", ...}, as JSON Lines to
--metrics (rewritten atomically after each round) and, with --json, the
final record on stdout. round_s is the server's time from sampling the
clients to the end of aggregation (EdgeTrain's round_s: models sent to
aggregate made), eval_s the evaluation after it, wall_s the time since
this program started (Flower's and Ray's start-up included).
Optional: needs `pip install "flwr[simulation]" torch numpy`, never used by CI.
"""
import argparse
import gzip
import json
import os
import random
import sys
import time

START = time.monotonic()

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

MEAN, STD = 0.2860, 0.3530


# ---------------------------------------------------------------- data

def read_idx(path):
    """An IDX file (gzip-compressed when it ends in .gz) as a numpy uint8 array of its shape."""
    raw = (gzip.open if path.endswith(".gz") else open)(path, "rb").read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError(f"{path}: not an IDX file of unsigned bytes")
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(raw[3])]
    body = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * len(dims))
    if body.size != int(np.prod(dims)):
        raise ValueError(f"{path}: {body.size} bytes of data for dimensions {dims}")
    return body.reshape(dims)


def locate(directory, name):
    for candidate in (os.path.join(directory, name + ".gz"), os.path.join(directory, name)):
        if os.path.exists(candidate):
            return candidate
    raise FileNotFoundError(f"{os.path.join(directory, name)}.gz (nor without .gz)")


_CACHE = {}


def split(directory, prefix):
    """(images as uint8 [n, 784], labels as int64 [n]) of one split, read once per process."""
    key = (directory, prefix)
    if key not in _CACHE:
        images = read_idx(locate(directory, f"{prefix}-images-idx3-ubyte"))
        labels = read_idx(locate(directory, f"{prefix}-labels-idx1-ubyte"))
        if images.ndim != 3 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
            raise ValueError(f"{directory}: {prefix} images {images.shape} and labels {labels.shape} do not match")
        _CACHE[key] = (images.reshape(images.shape[0], -1), labels.astype(np.int64))
    return _CACHE[key]


def features(images):
    """uint8 pixels to normalized float32 features, as EdgeTrain makes them per batch."""
    return (torch.from_numpy(images.astype(np.float32)) / 255.0 - MEAN) / STD


def iid_partition(count, parts, seed):
    """A seeded shuffle cut into near-equal pieces (the first count % parts one larger)."""
    key = ("iid", count, parts, seed)
    if key not in _CACHE:
        order = np.random.default_rng([seed, 0x50415254]).permutation(count)
        base, larger = divmod(count, parts)
        pieces, start = [], 0
        for p in range(parts):
            size = base + (1 if p < larger else 0)
            pieces.append(np.sort(order[start:start + size]))
            start += size
        _CACHE[key] = pieces
    return _CACHE[key]


def batches(indices, drawn, steps, batch, seed, client):
    """The next `steps` batches of exactly `batch` indices of a client's endless seeded
    sampler, after the `drawn` indices it has already handed out: pass p visits the
    indices in the order of a permutation seeded by (seed, client, p)."""
    n = len(indices)
    out = []
    position = drawn
    for _ in range(steps):
        picked = []
        while len(picked) < batch:
            p, offset = divmod(position, n)
            order = np.random.default_rng([seed, client, p, 0x53414D50]).permutation(n)
            take = min(batch - len(picked), n - offset)
            picked.extend(indices[order[offset:offset + take]])
            position += take
        out.append(np.array(picked))
    return out


# ---------------------------------------------------------------- model

def make_model(seed):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))
    for layer in model:
        if isinstance(layer, nn.Linear):
            nn.init.normal_(layer.weight, std=(2.0 / layer.in_features) ** 0.5)
            nn.init.zeros_(layer.bias)
    return model


def evaluate(model, images, labels, batch=1000):
    model.eval()
    correct, loss = 0, 0.0
    with torch.no_grad():
        for s in range(0, len(labels), batch):
            x, y = features(images[s:s + batch]), torch.from_numpy(labels[s:s + batch])
            logits = model(x)
            loss += nn.functional.cross_entropy(logits, y, reduction="sum").item()
            correct += (logits.argmax(1) == y).sum().item()
    return correct / len(labels), loss / len(labels)


# ---------------------------------------------------------------- Flower apps

def client_app():
    from flwr.app import ArrayRecord, ConfigRecord, Context, Message, MetricRecord, RecordDict
    from flwr.clientapp import ClientApp

    app = ClientApp()

    @app.train()
    def train(msg: Message, context: Context):
        torch.set_num_threads(1)
        config = msg.content["config"]
        client = int(context.node_config["partition-id"])
        parts = int(context.node_config["num-partitions"])
        seed, batch = int(config["seed"]), int(config["batch"])
        images, labels = split(config["data-dir"], "train")
        indices = iid_partition(len(labels), parts, seed)[client]
        steps = int(config["local-epochs"]) * -(-len(indices) // batch)
        drawn = int(context.state["sampler"]["drawn"]) if "sampler" in context.state else 0
        model = make_model(seed)
        model.load_state_dict(msg.content["arrays"].to_torch_state_dict())
        model.train()
        sgd = torch.optim.SGD(model.parameters(), lr=float(config["lr"]), momentum=0.0, weight_decay=0.0)
        t0 = time.perf_counter()
        losses = []
        for b in batches(indices, drawn, steps, batch, seed, client):
            x, y = features(images[b]), torch.from_numpy(labels[b])
            sgd.zero_grad(set_to_none=True)
            loss = nn.functional.cross_entropy(model(x), y)
            loss.backward()
            sgd.step()
            losses.append(loss.item())
        compute = time.perf_counter() - t0
        context.state["sampler"] = ConfigRecord({"drawn": drawn + steps * batch})
        window = max(1, min(5, len(losses)))
        metrics = MetricRecord({"num-examples": len(indices), "compute_s": compute, "steps": steps, "client": client + 1,
                                "loss_change": sum(losses[:window]) / window - sum(losses[-window:]) / window})
        return Message(content=RecordDict({"arrays": ArrayRecord(model.state_dict()), "metrics": metrics}), reply_to=msg)

    return app


def server_app(args, records):
    from flwr.app import ArrayRecord, ConfigRecord, Context, MetricRecord
    from flwr.serverapp import Grid, ServerApp
    from flwr.serverapp.strategy import FedAvg

    app = ServerApp()
    test_images, test_labels = split(args.data_dir, "t10k")

    class TimedFedAvg(FedAvg):
        """FedAvg that notes when a round starts, when its aggregate is made and what each client reported."""

        def configure_train(self, server_round, arrays, config, grid):
            self.round_start = time.monotonic()
            return super().configure_train(server_round, arrays, config, grid)

        def aggregate_train(self, server_round, replies):
            replies = list(replies)
            self.clients = []
            for reply in replies:
                if reply.has_error():
                    self.clients.append({"dropped": True, "error": str(reply.error)})
                    continue
                m = reply.content["metrics"]
                self.clients.append({"client": int(m["client"]), "compute_s": float(m["compute_s"]),
                                     "steps": int(m["steps"]), "samples": int(m["num-examples"]),
                                     "loss_change": float(m["loss_change"]), "dropped": False})
            result = super().aggregate_train(server_round, replies)
            self.round_s = time.monotonic() - self.round_start
            return result

    strategy = TimedFedAvg(fraction_train=args.fraction, fraction_evaluate=0.0, min_train_nodes=1,
                           min_available_nodes=args.clients)
    model = make_model(args.seed)
    torch.set_num_threads(1)

    def central_evaluate(server_round, arrays):
        if server_round == 0:
            return None  # EdgeTrain does not evaluate the initial model either
        t0 = time.monotonic()
        model.load_state_dict(arrays.to_torch_state_dict())
        accuracy, loss = evaluate(model, test_images, test_labels)
        now = time.monotonic()
        clients = sorted(strategy.clients, key=lambda c: c.get("client", 0))
        records.append({"event": "round", "round": server_round, "wall_s": now - START, "round_s": strategy.round_s,
                        "eval_s": now - t0, "test_accuracy": accuracy, "test_loss": loss,
                        "participants": sum(1 for c in clients if not c["dropped"]),
                        "dropped": sum(1 for c in clients if c["dropped"]), "clients": clients})
        write_metrics(args.metrics, records)
        print(f"round {server_round}/{args.rounds}  test acc {accuracy:.4f}  loss {loss:.4f}  "
              f"round {strategy.round_s:.2f}s  wall {now - START:.1f}s", file=sys.stderr, flush=True)
        return MetricRecord({"accuracy": accuracy, "loss": loss})

    @app.main()
    def main(grid: Grid, context: Context):
        random.seed(args.seed)  # Flower samples the round's nodes with random.sample
        config = ConfigRecord({"seed": args.seed, "batch": args.batch, "lr": args.lr,
                               "local-epochs": args.local_epochs, "data-dir": args.data_dir})
        strategy.start(grid=grid, initial_arrays=ArrayRecord(model.state_dict()), num_rounds=args.rounds,
                       train_config=config, evaluate_fn=central_evaluate)

    return app


def write_metrics(path, records):
    if not path:
        return
    tmp = path + ".tmp"
    with open(tmp, "w") as out:
        for r in records:
            out.write(json.dumps(r, sort_keys=True) + "\n")
    os.replace(tmp, path)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clients", type=int, default=100)
    p.add_argument("--fraction", type=float, default=0.1)
    p.add_argument("--rounds", type=int, default=30)
    p.add_argument("--local-epochs", type=int, default=1)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--actors", type=int, default=2, help="concurrent client actors (one CPU each)")
    p.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--metrics", help="JSON Lines: one record per round and a final one")
    p.add_argument("--json", action="store_true", help="print the final record on stdout")
    args = p.parse_args()
    problems = [f"--{k} must be at least 1, got {v}" for k, v in
                [("clients", args.clients), ("rounds", args.rounds), ("local-epochs", args.local_epochs),
                 ("batch", args.batch), ("actors", args.actors)] if v < 1]
    if not 0 < args.fraction <= 1:
        problems.append(f"--fraction must be in (0, 1], got {args.fraction}")
    if not args.lr > 0:
        problems.append(f"--lr must be > 0, got {args.lr}")
    if problems:
        sys.exit(f"flower_fedavg.py: {problems[0]}")
    split(args.data_dir, "train")  # fail here, once, on missing or bad files
    smallest = len(split(args.data_dir, "train")[1]) // args.clients
    if args.batch > smallest:
        sys.exit(f"flower_fedavg.py: --batch {args.batch} is larger than the smallest client's {smallest} samples")
    _CACHE.clear()  # the driver needs only the test set; each actor reads the training set itself

    os.environ.setdefault("OMP_NUM_THREADS", "1")  # Ray's workers inherit it (Ray also sets it from num_cpus)
    import flwr
    import ray
    from flwr.simulation import run_simulation

    # Ray pickles a function of __main__ by value, module globals included, so every
    # client call would start with an empty _CACHE and read the data again; the
    # functions of the imported module travel by reference instead, and each actor
    # keeps its cache across calls (Flower loads its apps from modules the same way).
    # flwr puts this directory (sys.path[0]) on the actors' PYTHONPATH.
    import flower_fedavg as this
    records = []
    run_simulation(server_app=server_app(args, records), client_app=this.client_app(), num_supernodes=args.clients,
                   backend_config={"client_resources": {"num_cpus": 1, "num_gpus": 0.0},
                                   "init_args": {"num_cpus": args.actors, "num_gpus": 0}})
    rounds = [r for r in records if r["event"] == "round"]
    if len(rounds) != args.rounds:
        sys.exit(f"flower_fedavg.py: the simulation ended after {len(rounds)} of {args.rounds} rounds")
    last = rounds[-1]
    final = {"event": "final", "peer": "flower", "flwr": flwr.__version__, "ray": ray.__version__,
             "torch": torch.__version__, "model": "mlp", "parameters": sum(p.numel() for p in make_model(0).parameters()),
             "clients": args.clients, "fraction": args.fraction, "per_round": max(1, int(args.clients * args.fraction)),
             "rounds": args.rounds, "local_epochs": args.local_epochs, "batch": args.batch, "lr": args.lr,
             "partition": "iid", "actors": args.actors, "seed": args.seed, "test_accuracy": last["test_accuracy"],
             "test_loss": last["test_loss"], "wall_s": time.monotonic() - START}
    records.append(final)
    write_metrics(args.metrics, records)
    if args.json:
        print(json.dumps(final, sort_keys=True))


if __name__ == "__main__":
    main()
