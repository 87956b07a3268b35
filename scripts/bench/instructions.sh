#!/usr/bin/env bash
# The simulator's speed in figures the machine's load cannot move.
#
#   scripts/bench/instructions.sh            # build, then measure
#   scripts/bench/instructions.sh --no-build # measure the binaries already built
#
# Builds `wdfkey-harness` and the `p1_instructions` example with the harness
# profile, then prints:
#
# * instructions per stress cycle: `valgrind --tool=callgrind` counts the
#   user-space instructions of `wdfkey-harness stress --cycles 300` (a) and
#   `--cycles 600` (b) — every verifier on, as stress always runs — and the
#   script prints (b - a) / 300, so start-up and exit cancel out;
# * P1 as an instruction ratio: the same open/assign/query/close sequence
#   `wdfkey-harness bench` times, run 1000 and 2000 times under callgrind for
#   RegKey and for the raw DDIs; per-sequence cost = difference / 1000; the
#   ratio is RegKey over raw (raw ending in WdfObjectDelete, the DDIs RegKey
#   calls; and raw ending in WdfRegistryClose);
# * system calls per cycle: `strace -f` records every call of the same two
#   stress runs up to the verdict each prints (the process's exit is left
#   out: see `syscalls`); every call, and the page-protection ones
#   (mprotect, madvise, process_madvise) apart, (b - a) / 300. Special pool uses
#   MADV_GUARD_INSTALL/REMOVE where the host kernel has them (Linux >= 6.13),
#   mprotect otherwise; frees are sealed in one process_madvise per return
#   to driver code where the host takes guard advice through it, and an
#   unload's last frees wait for the next seal (docs/facts.md#f85).
#
# Targets: <= 120,000 instructions per cycle; P1 ratio <= 1.05; <= 2 system
# calls per cycle.
# Needs valgrind and strace (apt-get install valgrind strace).
set -euo pipefail
cd "$(dirname "$0")/../.."

for tool in valgrind strace; do
  command -v "$tool" >/dev/null || { echo "instructions.sh: $tool is not installed (apt-get install $tool)" >&2; exit 2; }
done

if [[ "${1:-}" != "--no-build" ]]; then
  cargo build -p wdfkey-harness --profile harness --locked --bin wdfkey-harness --example p1_instructions
fi
target="${CARGO_TARGET_DIR:-target}/harness"
harness="$target/wdfkey-harness"
p1="$target/examples/p1_instructions"
for bin in "$harness" "$p1"; do
  [[ -x "$bin" ]] || { echo "instructions.sh: $bin is missing; run without --no-build" >&2; exit 2; }
done

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Instructions callgrind counted for a command (its "Collected" line).
instructions() {
  valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" "$@" >"$work/stdout" 2>"$work/stderr" || {
    echo "instructions.sh: '$*' failed under valgrind:" >&2
    tail -20 "$work/stderr" >&2
    exit 1
  }
  sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$work/stderr"
}

# Traces a stress run with strace into $work/strace.$1 (every thread).
trace() {
  local out="$work/strace.$1"
  shift
  strace -f -o "$out" "$@" >/dev/null 2>&1 || {
    echo "instructions.sh: '$*' failed under strace" >&2
    exit 1
  }
  grep -q 'write(1, "wdfkey-harness stress:' "$out" || {
    echo "instructions.sh: '$*' printed no verdict; cannot tell its cycles from its exit" >&2
    exit 1
  }
}

# Calls of one syscall ("total": every call) in a trace, up to the run's
# verdict line: what the process does after it (the allocator returning the
# heap at exit) happens once per process, in a number that follows the
# heap's layout rather than the cycles, so it is left out of both runs.
syscalls() {
  awk -v n="$1" '
    { line = $0; sub(/^[0-9]+ +/, "", line) }
    line ~ /^<\.\.\. / || line ~ /^(\+\+\+|---)/ { next }
    { call = line; sub(/\(.*/, "", call); if (n == "total" || call == n) count++ }
    line ~ /^write\(1, "wdfkey-harness stress:/ { exit }
    END { print count + 0 }' "$work/strace.$2"
}

per() { awk -v a="$1" -v b="$2" -v n="$3" 'BEGIN { printf "%.0f", (b - a) / n }'; }

echo "host: $(uname -sr), $(nproc) cores (instruction counts do not depend on load)"

a=$(instructions "$harness" stress --cycles 300)
b=$(instructions "$harness" stress --cycles 600)
cycle=$(per "$a" "$b" 300)
echo "stress: $a Ir for 300 cycles, $b Ir for 600 cycles"
echo "stress: $cycle instructions per cycle (target <= 120000)"

declare -A seq
for s in raw-delete raw-close regkey; do
  x=$(instructions "$p1" "$s" 1000)
  y=$(instructions "$p1" "$s" 2000)
  seq[$s]=$(awk -v a="$x" -v b="$y" 'BEGIN { printf "%.1f", (b - a) / 1000 }')
done
echo "P1: open+assign+query+close: raw ${seq[raw-delete]} instructions, RegKey ${seq[regkey]}," \
  "ratio $(awk -v r="${seq[regkey]}" -v d="${seq[raw-delete]}" 'BEGIN { printf "%.3f", r / d }')" \
  "(target <= 1.05; the same DDIs: RegKey closes with WdfObjectDelete)"
echo "P1: raw ending in WdfRegistryClose instead: ${seq[raw-close]} instructions" \
  "(RegKey / that: $(awk -v r="${seq[regkey]}" -v c="${seq[raw-close]}" 'BEGIN { printf "%.3f", r / c }'))"

trace a "$harness" stress --cycles 300
trace b "$harness" stress --cycles 600
for call in mprotect madvise process_madvise total; do
  x=$(syscalls "$call" a)
  y=$(syscalls "$call" b)
  what="$call calls"
  [[ "$call" == total ]] && what="system calls in all (target <= 2)"
  echo "system calls: $(awk -v a="$x" -v b="$y" 'BEGIN { printf "%.2f", (b - a) / 300 }') $what per cycle"
done
