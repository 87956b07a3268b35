#!/usr/bin/env bash
# Measures `wdfkey-diag scan` on a driver tree it has never seen (for
# example a checkout of microsoft/Windows-driver-samples): parse coverage
# (files with no skipped region, functions analysed in full), findings, and
# the time for the whole tree on one core. Not run in CI: CI never fetches
# other people's code.
#
# Usage: diag/scripts/peer-scan.sh TREE [--instructions]
#   TREE            the tree's path (a checkout or an extracted archive)
#   --instructions  also count instructions with valgrind's callgrind
#                   (slow: tens of minutes; the figure does not depend on load)
#
# Uses target/release/wdfkey-diag, building it first if it is missing or
# older than the sources (cargo build -p wdfkey-diag --release). Needs
# python3; taskset and valgrind when available.
set -euo pipefail

tree=${1:-}
if [[ -z "$tree" || ! -d "$tree" ]]; then
    echo "usage: $0 TREE [--instructions]   (TREE: a directory of driver sources)" >&2
    exit 2
fi
here=$(cd "$(dirname "$0")/../.." && pwd)
bin="$here/target/release/wdfkey-diag"
cargo build --quiet --manifest-path "$here/Cargo.toml" -p wdfkey-diag --release

one_core=()
if command -v taskset >/dev/null; then one_core=(taskset -c 0); fi
report=$(mktemp)
trap 'rm -f "$report" "$report.time"' EXIT

# The exit code is 1 when there are findings: the figures still count.
start=$(date +%s.%N)
/usr/bin/env time -f "%U %S %M" -o "$report.time" "${one_core[@]}" "$bin" scan --format json "$tree" >"$report" || true
end=$(date +%s.%N)

python3 - "$report" "$report.time" "$start" "$end" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
user, system, rss = open(sys.argv[2]).read().split()[-3:]
wall = float(sys.argv[4]) - float(sys.argv[3])
files = report["files_scanned"]
full = report["files_in_full"]
fns_full = report["functions_in_full"]
fns = fns_full + report["functions_in_part"]
pct = lambda a, b: 100.0 * a / b if b else 0.0
print(f"files scanned:              {files}")
print(f"files with no skipped region: {full} ({pct(full, files):.1f}%)")
print(f"functions analysed in full: {fns_full} of {fns} ({pct(fns_full, fns):.2f}%)")
print(f"programs:                   {report['programs']}")
print(f"findings:                   {len(report['findings'])}")
for f in report["findings"]:
    print(f"  {f['file']}:{f['line']}:{f['col']}: {f['code']}: {f['message']}")
print(f"skipped paths:              {len(report['skipped'])}")
print(f"time on one core:           {wall:.2f} s wall, {float(user):.2f} s user, {float(system):.2f} s system, {int(rss) // 1024} MiB peak")
print(f"machine:                    {sys.argv[5]} core(s), load average {sys.argv[6]} (wall-clock swings with load)")
PY

if [[ "${2:-}" == "--instructions" ]]; then
    if command -v valgrind >/dev/null; then
        valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" scan "$tree" 2>&1 >/dev/null |
            sed -n 's/.*Collected : \([0-9]*\).*/instructions:               \1 (callgrind)/p'
    else
        echo "instructions:               valgrind not installed" >&2
    fi
fi
