#!/usr/bin/env python3
"""Appends JSON records to a results file, each tagged with where it came from.

    ... | python3 bench/record.py RESULTS BENCH LABEL SEED COMMIT COMMAND [METRICS]

Reads JSON Lines from standard input (other lines are ignored) or, when a
METRICS file is given, from that file (a run's --metrics output: every
round or epoch record and the final one). Each record gains "bench",
"label", "seed" (an integer, or null), "commit" and "command", and "round"
(an integer) when the environment sets ROUND, and "load_avg_1m", the
host's 1-minute load average when the run ended (other work on the host
shows there), and is appended to RESULTS, one JSON object per line. Python
standard library only.
"""
import json
import os
import sys


def main():
    results, bench, label, seed, commit, command = sys.argv[1:7]
    source = open(sys.argv[7]) if len(sys.argv) > 7 else sys.stdin
    n = 0
    with open(results, "a") as out:
        for line in source:
            line = line.strip()
            if not line.startswith("{"):
                continue
            record = json.loads(line)
            record.update({"bench": bench, "label": label, "seed": int(seed) if seed else None,
                           "commit": commit, "command": command, "load_avg_1m": round(os.getloadavg()[0], 2)})
            if os.environ.get("ROUND"):
                record["round"] = int(os.environ["ROUND"])
            out.write(json.dumps(record, sort_keys=True) + "\n")
            n += 1
    if n == 0:
        sys.exit(f"bench/record.py: no JSON records for {bench} {label} (seed {seed or '-'}); the run failed?")


if __name__ == "__main__":
    main()
