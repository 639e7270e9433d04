#!/usr/bin/env python3
"""Runs one command and samples its resident memory over time.

    mpirun ... python3 bench/rss-timeline.py FILE command args...          # one MPI rank
    python3 bench/rss-timeline.py --tree FILE command args...              # a whole process tree
    python3 bench/rss-timeline.py --records FILE                           # FILE as one record per rank

Runs the command as a child (it inherits the launcher's environment, so
under mpirun it joins the job as this rank) and every 0.25 s appends one
JSON line to FILE:

    {"rank": R, "t_s": seconds since the child started, "rss_bytes": VmRSS}

and, when the child has ended, one summary line:

    {"rank": R, "peak_rss_bytes": ..., "peak_sampled_rss_bytes": ..., "samples": n,
     "lifetime_s": ..., "exit_status": ...}

R is the MPI rank (OMPI_COMM_WORLD_RANK or PMIX_RANK; -1 outside mpirun).
peak_rss_bytes is the child's ru_maxrss (Linux: KiB) x 1024, the kernel's
high-water mark, the same yardstick as bench/peak-rss.py (the child starts
as a copy of this Python process, so a child smaller than that, about 15
MB, shows its size); the sampled peak can miss a spike shorter than the
interval.

--tree (for programs that start helper processes, such as Ray's workers):
the child runs in a new session, and each sample sums over every process of
that session and every descendant of the child (found through /proc, so a
process that leaves the tree by daemonizing but keeps the session still
counts), except Pythons running this script (their children count). A
sample then also has "processes" and, every 2 s (every 8th sample),
"pss_bytes": the summed proportional set size (/proc/PID/smaps_rollup; a
page shared by k processes counts 1/k in each, so libraries and shared
memory mapped by many processes of the tree count once). The summary has
"peak_pss_bytes" and "tree": true; its peak_rss_bytes is the largest summed
sample (the kernel keeps no high-water mark of a sum).

Sampling reads VmRSS from /proc/PID/status (a counter, no page walk) 4
times a second and sleeps in between, so the child loses almost nothing;
--tree also reads the stat file of every process each time, and the PSS
page walk (milliseconds per GB mapped, more on a loaded machine) is why
PSS is sampled only every 2 s. Lines are written in batches (one write
each, O_APPEND, so ranks sharing FILE do not interleave within a line).
SIGTERM and SIGINT are passed on to the child. Exits with the child's
status.

--records FILE (FILE holding one run) prints, for each rank in it (a --tree
one as rank -1, first), one JSON line {"event": "rss_timeline", "rank": R,
"interval_s", "t_s": [...], "rss_bytes": [...] (and "processes": [...]
and "pss_bytes": [...], null where not sampled, for a tree), then the
rank's summary fields}: the form
in which the bench scripts keep a timeline with a run's records. Python
standard library only.
"""
import json
import os
import resource
import signal
import subprocess
import sys
import time

INTERVAL_S = 0.25
PSS_EVERY = 8  # samples (--tree)
FLUSH_EVERY_S = 10.0


def rss_bytes(pid):
    """VmRSS of pid in bytes, or None when it is gone (or a zombie, which has none)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return None


def pss_bytes(pid):
    """Proportional set size of pid in bytes, or None."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return None


def processes():
    """{pid: (ppid, session id)} of every process now running."""
    table = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        # Fields after the command (which may hold spaces and parentheses): state ppid pgrp session ...
        fields = stat[stat.rfind(")") + 2:].split()
        table[int(name)] = (int(fields[1]), int(fields[3]))
    return table


def is_sampler(pid):
    """Whether pid is a Python running this script (not, say, an mpirun given it as an argument)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = f.read().split(b"\0")
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return True
    return (len(argv) > 1 and b"python" in os.path.basename(argv[0])
            and os.path.basename(argv[1]) == os.path.basename(__file__).encode())


def tree(root, session):
    """The pids of root's session and of root's descendants, without samplers."""
    table = processes()
    children = {}
    for pid, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    found, todo = set(), [root]
    while todo:
        pid = todo.pop()
        if pid in found or pid not in table:
            continue
        found.add(pid)
        todo += children.get(pid, [])
    found |= {pid for pid, (_, sid) in table.items() if sid == session}
    return sorted(pid for pid in found if pid != os.getpid() and not is_sampler(pid))


def timeline_records(path):
    """The timelines of FILE, one record per rank (ranks ascending, so a tree's -1 first)."""
    ranks = {}
    for line in open(path):
        if not line.strip():
            continue
        sample = json.loads(line)
        r = ranks.setdefault(sample["rank"], {"event": "rss_timeline", "rank": sample["rank"], "interval_s": INTERVAL_S,
                                              "t_s": [], "rss_bytes": []})
        if "t_s" in sample:
            r["t_s"].append(sample["t_s"])
            r["rss_bytes"].append(sample["rss_bytes"])
            if "processes" in sample:
                r.setdefault("processes", []).append(sample["processes"])
                r.setdefault("pss_bytes", []).append(sample.get("pss_bytes"))
        else:
            r.update({k: v for k, v in sample.items() if k != "rank"})
    return [ranks[k] for k in sorted(ranks)]


def main():
    args = sys.argv[1:]
    if len(args) == 2 and args[0] == "--records":
        for record in timeline_records(args[1]):
            print(json.dumps(record))
        return
    whole_tree = bool(args) and args[0] == "--tree"
    if whole_tree:
        args = args[1:]
    if len(args) < 2:
        sys.exit(__doc__)
    path, command = args[0], args[1:]
    rank = int(os.environ.get("OMPI_COMM_WORLD_RANK", os.environ.get("PMIX_RANK", "-1")))
    out = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    pending = []

    def flush():
        if pending:
            os.write(out, "".join(pending).encode())
            pending.clear()

    start = time.monotonic()
    child = subprocess.Popen(command, start_new_session=whole_tree)
    session = os.getsid(child.pid) if whole_tree else None
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda s, _: child.send_signal(s))
    peak_sampled = peak_pss = 0
    samples = ticks = 0
    last_flush = start
    status = None
    while status is None:
        t = time.monotonic() - start
        if whole_tree:
            pids = tree(child.pid, session)
            rss = [rss_bytes(p) for p in pids]
            record = {"rank": rank, "t_s": round(t, 3), "rss_bytes": sum(r for r in rss if r),
                      "processes": sum(1 for r in rss if r)}
            if samples % PSS_EVERY == 0:
                record["pss_bytes"] = sum(p for p in map(pss_bytes, pids) if p)
                peak_pss = max(peak_pss, record["pss_bytes"])
        else:
            rss = rss_bytes(child.pid)
            record = {"rank": rank, "t_s": round(t, 3), "rss_bytes": rss}
        if record["rss_bytes"]:
            samples += 1
            peak_sampled = max(peak_sampled, record["rss_bytes"])
            pending.append(json.dumps(record) + "\n")
        if time.monotonic() - last_flush >= FLUSH_EVERY_S:
            flush()
            last_flush = time.monotonic()
        ticks += 1
        try:
            status = child.wait(timeout=max(0.0, start + ticks * INTERVAL_S - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
    lifetime = time.monotonic() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    summary = {"rank": rank, "peak_rss_bytes": peak_sampled if whole_tree else peak,
               "peak_sampled_rss_bytes": peak_sampled, "samples": samples,
               "lifetime_s": round(lifetime, 3), "exit_status": status}
    if whole_tree:
        summary.update({"peak_pss_bytes": peak_pss, "tree": True})
    pending.append(json.dumps(summary) + "\n")
    flush()
    os.close(out)
    sys.exit(status if status >= 0 else 128 - status)


if __name__ == "__main__":
    main()
