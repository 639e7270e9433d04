#!/usr/bin/env bash
# How large a report gets and how long it takes to make and to open:
# `edgetrain report` of a 10,000-step train run (an eval record every step)
# and of a 1,000-round federated run of 10 clients (bench/report-inputs.py
# writes both, seeded), then headless Chromium loads each page and takes a
# screenshot (bench/screenshot.sh), against a blank page in the same run
# (Chromium's own start-up). Three rounds each.
#
#   bench/report.sh            # -> bench/results/report.jsonl, then bench/tables.py
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
results=bench/results/report.jsonl
swift build -c release >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 bench/report-inputs.py "$work"
echo '<!DOCTYPE html><html><body></body></html>' > "$work/blank.html"
rm -f "$results"
for round in 1 2 3; do
    for input in train-10000 federated-1000; do
        start=$(date +%s.%N)
        .build/release/edgetrain report "$work/$input.jsonl" -o "$work/$input.html" 2>/dev/null
        end=$(date +%s.%N)
        open_s=$(bench/screenshot.sh "$work/$input.html" "$work/$input.png")
        blank_s=$(bench/screenshot.sh "$work/blank.html" "$work/blank.png")
        python3 -c 'import json, os, sys
a = sys.argv
print(json.dumps({"input": a[1], "records": sum(1 for _ in open(a[2])), "html_bytes": os.path.getsize(a[3]),
                  "report_s": float(a[5]) - float(a[4]), "chromium_s": float(a[6]), "chromium_blank_s": float(a[7])}))' \
            "$input" "$work/$input.jsonl" "$work/$input.html" "$start" "$end" "$open_s" "$blank_s" \
            | ROUND=$round python3 bench/record.py "$results" report "$input" "" "$commit" "bench/report.sh"
    done
done
python3 bench/tables.py
