#!/usr/bin/env python3
"""Draws the benchmarks' figures from the committed raw results, with
`edgetrain report --svg` (one plotting code for reports and docs):

    python3 bench/figures.py [NAME ...]        # default: every figure set below
    python3 bench/figures.py --page NAME OUT.html   # the whole report page of one set

The README's screenshot is
    python3 bench/figures.py --page federated-ablation /tmp/page.html
    bench/screenshot.sh /tmp/page.html docs/report-screenshot.png 1150 1500

For each figure set: the runs of one bench, one seed and some labels are
taken from bench/results/<file>.jsonl, their metrics records written to a
temporary directory as <label>.jsonl (the tags record.py added removed),
`.build/release/edgetrain report` (built if missing; EDGETRAIN=path
overrides) draws them, and the
chosen figures are copied to docs/figures/<name>/<figure id>.svg, which
docs/benchmarks.md shows. Python standard library only.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TAGS = {"bench", "label", "seed", "commit", "command", "load_avg_1m"}

# name: (results file, bench tag, seed, labels (None: all), figure ids to keep)
FIGURES = {
    "federated-ablation": ("federated", "federated-ablation", 1, ["fedavg", "fednova", "early-stop", "autonomy", "deadline"],
                           ["federated-accuracy-wall", "federated-accuracy-progress", "federated-timeline-autonomy",
                            "federated-time-autonomy"]),
    "federated-async": ("federated", "federated-async", 1, None, ["federated-accuracy-wall", "federated-accuracy-bytes"]),
    "cloud-edge": ("cloud-edge", "cloud-edge", 1, ["alpha=0.1 ours", "alpha=0.1 fedavg", "alpha=0.1 splitfed", "alpha=0.1 no-distill"],
                   ["cloud-edge-accuracy-progress", "cloud-edge-accuracy-bytes", "cloud-edge-bytes-alpha-0-1-ours"]),
    "virtual-clients": ("virtual-clients", None, 1, None, ["federated-accuracy-progress", "federated-accuracy-wall"]),
    "soak": ("soak", "soak", None, None, ["train-accuracy-progress", "train-time-16-ranks"]),
}


def binary():
    if os.environ.get("EDGETRAIN"):
        return os.environ["EDGETRAIN"]
    path = os.path.join(ROOT, ".build/release/edgetrain")
    if not os.path.exists(path):
        subprocess.run(["swift", "build", "-c", "release"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return path


def draw(name, spec, edgetrain, page=None):
    results, bench, seed, labels, keep = spec
    path = os.path.join(ROOT, "bench/results", results + ".jsonl")
    if not os.path.exists(path):
        print(f"figures: {name}: {path} does not exist yet; skipped", file=sys.stderr)
        return
    runs = {}
    for line in open(path):
        r = json.loads(line)
        if (bench and r.get("bench") != bench) or (seed is not None and r.get("seed") != seed) or "event" not in r:
            continue
        if r["event"] not in ("eval", "epoch", "round", "final") or (labels and r.get("label") not in labels):
            continue
        runs.setdefault(r.get("label") or name, []).append({k: v for k, v in r.items() if k not in TAGS})
    if not runs:
        print(f"figures: {name}: no runs in {path}; skipped", file=sys.stderr)
        return
    order = [l for l in (labels or sorted(runs)) if l in runs]
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for label in order:
            safe = "".join(c if c.isalnum() or c == "-" else "-" for c in label)
            files.append(os.path.join(tmp, safe + ".jsonl"))
            with open(files[-1], "w") as f:
                for r in runs[label]:
                    f.write(json.dumps(r, sort_keys=True) + "\n")
        svg = os.path.join(tmp, "svg")
        subprocess.run([edgetrain, "report", *files, "-o", page or os.path.join(tmp, "report.html"), "--svg", svg,
                        "--title", f"EdgeTrain report: {name} (seed {seed})" if seed else f"EdgeTrain report: {name}"],
                       check=True, stderr=subprocess.DEVNULL)
        if page:
            print(page)
            return
        out = os.path.join(ROOT, "docs/figures", name)
        os.makedirs(out, exist_ok=True)
        for figure in keep:
            source = os.path.join(svg, figure + ".svg")
            if os.path.exists(source):
                shutil.copyfile(source, os.path.join(out, figure + ".svg"))
                print(f"docs/figures/{name}/{figure}.svg")
            else:
                print(f"figures: {name}: no figure {figure} (have: {', '.join(sorted(os.listdir(svg)))})", file=sys.stderr)


def main():
    if sys.argv[1:2] == ["--page"]:
        draw(sys.argv[2], FIGURES[sys.argv[2]], binary(), page=os.path.abspath(sys.argv[3]))
        return
    names = sys.argv[1:] or list(FIGURES)
    edgetrain = binary()
    for name in names:
        draw(name, FIGURES[name], edgetrain)


if __name__ == "__main__":
    main()
