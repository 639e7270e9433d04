#!/usr/bin/env python3
"""Checks a --trace file against the Chrome Trace Event format, as the
viewers read it (the JSON object form, "Trace Event Format" document, and
what Perfetto's JSON importer refuses):

    python3 scripts/check-trace.py TRACE.json [--ranks N]

- a JSON object with a "traceEvents" array;
- every event an object with a known "ph"; "X" (complete) events with a
  string name and cat, integer pid and tid, and numbers ts >= 0 and dur >= 0
  (microseconds); "M" (metadata) events naming a process or its sort index;
- on each (pid, tid) track the complete events nest: sorted by start, each
  one ends before its enclosing one ends or starts after it (Perfetto
  drops slices that overlap without nesting); 1 ns of rounding allowed;
- with --ranks N: processes 0..N-1, each named "rank R (host)" and each with
  at least one slice.

Prints one line per problem and exits 1, or prints a summary and exits 0.
Python standard library only.
"""
import json
import sys


def check(path, ranks=None):
    problems = []
    try:
        with open(path) as f:
            trace = json.load(f)
    except (OSError, ValueError) as e:
        return [f"{path}: not readable JSON: {e}"], ""
    if not isinstance(trace, dict) or not isinstance(trace.get("traceEvents"), list):
        return [f"{path}: not a JSON object with a traceEvents array"], ""
    tracks, names = {}, {}
    for k, e in enumerate(trace["traceEvents"]):
        where = f"{path}: event {k}"
        if not isinstance(e, dict) or e.get("ph") not in ("X", "M", "B", "E", "i", "C"):
            problems.append(f"{where}: no known ph")
            continue
        if not isinstance(e.get("pid"), int) or not isinstance(e.get("tid"), int):
            problems.append(f"{where}: pid and tid must be integers")
            continue
        if e["ph"] == "M":
            if e.get("name") not in ("process_name", "process_sort_index", "thread_name", "thread_sort_index") \
                    or not isinstance(e.get("args"), dict):
                problems.append(f"{where}: a metadata event must name process_name/_sort_index and carry args")
            elif e["name"] == "process_name":
                names[e["pid"]] = e["args"].get("name")
            continue
        if e["ph"] != "X":
            continue
        ok = isinstance(e.get("name"), str) and isinstance(e.get("cat"), str)
        ok = ok and all(isinstance(e.get(key), (int, float)) and not isinstance(e.get(key), bool) and e[key] >= 0
                        for key in ("ts", "dur"))
        if not ok:
            problems.append(f"{where}: a complete event needs name, cat, ts >= 0 and dur >= 0")
            continue
        tracks.setdefault((e["pid"], e["tid"]), []).append((e["ts"], e["ts"] + e["dur"], e["name"]))
    for (pid, tid), slices in sorted(tracks.items()):
        stack = []
        for start, end, name in sorted(slices, key=lambda s: (s[0], -s[1])):
            while stack and start >= stack[-1][1] - 1e-3:
                stack.pop()
            if stack and end > stack[-1][1] + 1e-3:
                problems.append(f"{path}: pid {pid} tid {tid}: '{name}' [{start}, {end}] overlaps '{stack[-1][2]}' "
                                f"ending at {stack[-1][1]} without nesting")
            stack.append((start, end, name))
    if ranks is not None:
        for r in range(ranks):
            if not str(names.get(r, "")).startswith(f"rank {r} ("):
                problems.append(f"{path}: process {r} is not named 'rank {r} (host)'")
            if not any(pid == r for pid, _ in tracks):
                problems.append(f"{path}: rank {r} has no slices")
    count = sum(len(s) for s in tracks.values())
    return problems, f"{path}: {count} slices on {len(tracks)} tracks, well formed"


def main():
    args = sys.argv[1:]
    ranks = None
    if "--ranks" in args:
        i = args.index("--ranks")
        if i + 1 >= len(args) or not args[i + 1].isdigit():
            print("check-trace: --ranks needs a whole number", file=sys.stderr)
            sys.exit(2)
        ranks = int(args[i + 1])
        del args[i:i + 2]
    if len(args) != 1:
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        sys.exit(2)
    problems, summary = check(args[0], ranks)
    for p in problems:
        print(p)
    if problems:
        sys.exit(1)
    print(summary)


if __name__ == "__main__":
    main()
