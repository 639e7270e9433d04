#!/usr/bin/env bash
# Takes a screenshot of an HTML page (an `edgetrain report`) in headless
# Chromium (Debian's `chromium`; installed if missing):
#
#   bench/screenshot.sh PAGE.html OUT.png [WIDTH HEIGHT]
#
# Chromium runs with no network (--host-resolver-rules maps every name to
# nothing), so a page that fetched anything would show it missing. Prints
# the seconds Chromium took to load, render and write the picture, and
# fails when Chromium fails or writes no picture.
set -euo pipefail
page="$1" out="$2" width="${3:-1150}" height="${4:-2400}"
[ -f "$page" ] || { echo "screenshot: $page: no such file" >&2; exit 1; }
command -v chromium >/dev/null || "$(dirname "$0")/../scripts/install-deps" chromium >&2
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
start=$(date +%s.%N)
chromium --headless=new --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$profile" \
    --host-resolver-rules="MAP * ~NOTFOUND" --window-size="$width,$height" \
    --screenshot="$out" "file://$(realpath "$page")" >/dev/null 2>"$profile/stderr" || {
    echo "screenshot: chromium failed:" >&2; cat "$profile/stderr" >&2; exit 1; }
end=$(date +%s.%N)
[ -s "$out" ] || { echo "screenshot: chromium wrote no picture" >&2; exit 1; }
python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$start" "$end"
