#!/usr/bin/env bash
# Windows-driver-samples' C echo driver (general/echo/kmdf/driver/AutoSync and
# DriverSync), sources unchanged, compiled with the kit and run natively under
# kmdf-sim with every verifier on: installed, loaded, a root-enumerated device
# added, an application writing, reading back and sending an IOCTL through the
# device interface, disable/enable cycles, unloaded at each cycle's end.
#
#   scripts/cdriver/echo.sh --samples DIR --wdf DIR [--cycles N] [--io ROUNDS] [--out DIR]
#
#   --samples DIR  a checkout of microsoft/Windows-driver-samples (yours: nothing is fetched)
#   --wdf DIR      the KMDF 1.33 headers: a clone of microsoft/Windows-Driver-Frameworks (its
#                  src/publicinc/wdf/kmdf/1.33 is used) or a WDK's kmdf/1.33 directory
#   --cycles N     stress cycles per variant (default 100; each: start, I/O, disable, enable,
#                  I/O, disable — the last disable unloads the driver)
#   --io ROUNDS    application rounds after each start (default 5: write, read, IOCTL)
#   --out DIR      where the images go (default: a temporary directory)
#
# Exit status: 0 both variants passed, 1 a build failed or a run found something (the
# harness's report and !analyze view are printed), 2 bad arguments or a missing tool.
# Needs clang-16, lld-16 and mingw-w64 (scripts/cdriver/install-tools --mingw) and cargo.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
samples="" wdf="" cycles=100 io=5 out=""
usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
    --samples) samples=${2:?}; shift 2 ;;
    --wdf) wdf=${2:?}; shift 2 ;;
    --cycles) cycles=${2:?}; shift 2 ;;
    --io) io=${2:?}; shift 2 ;;
    --out) out=${2:?}; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "echo.sh: unexpected argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
[ -n "$samples" ] && [ -n "$wdf" ] || { echo "echo.sh: --samples and --wdf are required (see --help)" >&2; exit 2; }
echo_dir="$samples/general/echo/kmdf"
[ -d "$echo_dir/driver/AutoSync" ] || { echo "echo.sh: $echo_dir/driver/AutoSync: no such directory (is --samples a Windows-driver-samples checkout?)" >&2; exit 2; }
headers="$wdf"
[ -f "$headers/wdf.h" ] || headers="$wdf/src/publicinc/wdf/kmdf/1.33"
[ -f "$headers/wdf.h" ] || { echo "echo.sh: no wdf.h in $wdf or $wdf/src/publicinc/wdf/kmdf/1.33" >&2; exit 2; }
[ -n "$out" ] || out=$(mktemp -d)
mkdir -p "$out"

(cd "$repo" && cargo build -q -p wdfkey-harness --locked)
harness="$repo/target/debug/wdfkey-harness"
status=0
for variant in AutoSync DriverSync; do
  sys="$out/echo-$variant.sys"
  echo "== $variant: general/echo/kmdf/driver/$variant ($(cd "$samples" && git rev-parse --short HEAD 2>/dev/null || echo 'not a git checkout'))"
  if ! "$here/build" --headers "$headers" -o "$sys" -I "$echo_dir/exe" "$echo_dir/driver/$variant"/*.c; then
    status=1; continue
  fi
  "$harness" run-sys "$sys" --cycles "$cycles" --io "$io" --expect-echo --report "$out/echo-$variant.json" || status=1
done
exit $status
