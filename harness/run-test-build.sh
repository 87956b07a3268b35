#!/usr/bin/env bash
# Runs wdfkey-harness from the build `cargo test --workspace --locked` made:
# the binary's own test build (target/debug/deps/wdfkey_harness-*), the same
# `main`, arguments, output and exit codes as `cargo run -p wdfkey-harness`,
# unoptimised and with the unwinding panics the simulator needs (see the top
# of harness/src/cli_tests.rs). After the test command it builds nothing;
# otherwise cargo builds what is missing first, with its usual progress.
#
#   harness/run-test-build.sh stress --cycles 1000
#   harness/run-test-build.sh replay-crash
#
# Paths in the arguments are relative to the current directory, as with the
# binary. For long runs and `bench`, use the optimised build:
# `cargo run -p wdfkey-harness --profile harness -- ...` (docs/performance.md).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# --workspace: the feature set of README's test command, so the artifacts it
# made are the ones found (any other selection may resolve features apart).
messages="$(mktemp)"
trap 'rm -f "$messages"' EXIT
if ! cargo test --manifest-path "$root/Cargo.toml" --workspace --locked --bin wdfkey-harness --no-run \
  --message-format=json-render-diagnostics >"$messages" 2> >(grep -v -E '^ +(Finished|Executable) ' >&2); then
  echo "harness/run-test-build.sh: cargo could not build the harness's test executable (above)" >&2
  exit 2
fi
exe="$(grep '"reason":"compiler-artifact"' "$messages" | grep '"name":"wdfkey-harness"' | grep '"test":true' |
  sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1 || true)"
if [ -z "$exe" ] || [ ! -x "$exe" ]; then
  echo "harness/run-test-build.sh: cargo reported no test executable for wdfkey-harness" >&2
  exit 2
fi
rm -f "$messages"
trap - EXIT
# WDFKEY_HARNESS_AS_CLI: the test build runs as the CLI instead of its tests.
WDFKEY_HARNESS_AS_CLI=1 exec "$exe" "$@"
