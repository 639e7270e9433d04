# Shared by the bench scripts (source it): the commit being measured and
# `record`, which runs one command and appends its JSON records, tagged with
# the bench, a label, the seed, the commit and the command, to a results
# file under bench/results/ (JSON Lines; bench/tables.py makes the tables
# of docs/benchmarks.md from them).
#
#   record RESULTS BENCH LABEL SEED command args...        # JSON lines on stdout
#   METRICS=FILE record RESULTS BENCH LABEL SEED command... # the run's --metrics FILE instead
#
# Progress (stderr) goes to RESULTS.log. A failing command is reported and
# the script goes on, so one diverged run does not lose the others.

commit="$(git rev-parse --short=12 HEAD)"
git diff --quiet HEAD -- Sources Package.swift CMPI bench/peers 'bench/*.sh' 'bench/*.py' || commit="$commit-dirty"
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1

record() {
    local results="$1" bench="$2" label="$3" seed="$4"; shift 4
    local printed="${*//.build\/release\/edgetrain/edgetrain}"
    echo "== $bench $label ${seed:+seed $seed}" >&2
    local out err status=0
    out=$(mktemp)
    err=$(mktemp)
    "$@" > "$out" 2> "$err" || status=$?
    cat "$err" >> "$results.log"
    if [ "$status" != 0 ]; then
        echo "   (exit $status; see $results.log)" >&2
        # The run's own one-line error, for the tables (e.g. "non-finite at version 7").
        python3 -c 'import json, re, sys
lines = [l.strip() for l in open(sys.argv[2], errors="replace") if l.strip()]
mine = [l for l in lines if re.match(r"(\[rank \d+\] |edgetrain: )", l)]
print(json.dumps({"event": "failed", "exit_status": int(sys.argv[1]), "error": (mine or lines or [""])[0]}))' \
            "$status" "$err" >> "$out"
    fi
    if [ -n "${METRICS:-}" ] && [ -s "$METRICS" ]; then
        python3 bench/record.py "$results" "$bench" "$label" "$seed" "$commit" "$printed" "$METRICS" || true
        [ "$status" = 0 ] || grep '"failed"' "$out" | python3 bench/record.py "$results" "$bench" "$label" "$seed" "$commit" "$printed"
    else
        python3 bench/record.py "$results" "$bench" "$label" "$seed" "$commit" "$printed" < "$out" || true
    fi
    rm -f "$out" "$err"
}
