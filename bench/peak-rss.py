#!/usr/bin/env python3
"""Runs one MPI rank's command and notes its peak resident memory.

    mpirun ... python3 bench/peak-rss.py FILE command args...

Runs the command as a child (it inherits the launcher's environment, so it
joins the job as this rank) and, when it ends, appends one line
"RANK PEAK_RSS_BYTES" to FILE: the child's ru_maxrss (Linux: kilobytes) x
1024, the same yardstick for every program it wraps. Exits with the child's
status. Python standard library only.
"""
import os
import resource
import subprocess
import sys


def main():
    path, command = sys.argv[1], sys.argv[2:]
    status = subprocess.call(command)
    rank = os.environ.get("OMPI_COMM_WORLD_RANK", os.environ.get("PMIX_RANK", "-1"))
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    with open(path, "a") as out:
        out.write(f"{rank} {peak}\n")
    sys.exit(status)


if __name__ == "__main__":
    main()
