#!/usr/bin/env bash
# The [patch.crates-io] block that points a test workspace at kmdf-sim's
# stand-ins for windows-drivers-rs: one entry per released line a driver may
# ask for (wdk-sys 0.3/0.4/0.5, wdk 0.3/0.4/0.5, wdk-build 0.3-0.6,
# wdk-alloc 0.3/0.4, wdk-panic 0.3/0.4/0.5), with absolute paths into the
# checkout this script lives in. Cargo takes several entries for one crate
# name through `package = "..."` and gives each dependency the line its
# version requirement matches.
#
#   kmdf-sim/compat/patch.sh                  print the block (append it to the
#                                             test workspace's root Cargo.toml)
#   kmdf-sim/compat/patch.sh --lay DIR WDR    lay in DIR/<crate> the stand-in of
#                                             the line each crate of the
#                                             windows-drivers-rs checkout WDR
#                                             carries (WDR/crates/<crate>/Cargo.toml),
#                                             for drivers that name the crates by
#                                             path (`../../crates/wdk`): copy the
#                                             driver to D/examples/NAME and lay
#                                             into D/crates
#
# README.md beside this script explains both.
set -euo pipefail

usage() {
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
    exit "${1:-2}"
}

compat=$(cd "$(dirname "$0")" && pwd -P)
case "$compat" in
    *\"* | *\\*) echo "patch.sh: the checkout's path $compat holds a quote or backslash, which a TOML string would need escaped" >&2; exit 2 ;;
esac

# "name version dir" of every line, sorted by name then version.
lines() {
    local manifest name version
    for manifest in "$compat"/lines/*/Cargo.toml; do
        name=$(sed -n 's/^name = "\(.*\)"$/\1/p' "$manifest" | head -n 1)
        version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$manifest" | head -n 1)
        if [[ -z "$name" || -z "$version" ]]; then
            echo "patch.sh: $manifest has no name or version line" >&2
            exit 1
        fi
        echo "$name $version $(dirname "$manifest")"
    done | sort -k1,1 -k2,2V
}

print_block() {
    local name version dir line
    echo "# kmdf-sim's stand-ins for windows-drivers-rs, every line (printed by $compat/patch.sh)"
    echo "[patch.crates-io]"
    while read -r name version dir; do
        line=${version%.*}
        printf '%s-%s = { package = "%s", path = "%s" } # %s %s\n' \
            "$name" "${line//./_}" "$name" "$dir" "$name" "$version"
    done < <(lines)
}

# lay DIR WDR: DIR/<crate> = the stand-in of WDR's line of <crate>, its
# relative paths made absolute so it builds from wherever it is laid.
lay() {
    local into=$1 wdr=$2 crate real version line src
    [[ -d "$wdr/crates" ]] || { echo "patch.sh: $wdr/crates is missing; pass the root of a windows-drivers-rs checkout" >&2; exit 2; }
    mkdir -p "$into"
    into=$(cd "$into" && pwd -P)
    for crate in wdk wdk-sys wdk-alloc wdk-panic wdk-build; do
        real="$wdr/crates/$crate/Cargo.toml"
        [[ -f "$real" ]] || { echo "patch.sh: $real is missing" >&2; exit 2; }
        version=$(sed -n 's/^version = "\([0-9][^"]*\)"$/\1/p' "$real" | head -n 1)
        [[ -n "$version" ]] || { echo "patch.sh: no literal version line in $real" >&2; exit 2; }
        line=${version%.*}
        src="$compat/lines/$crate-$line"
        if [[ ! -d "$src" ]]; then
            echo "patch.sh: $crate $version: no stand-in of line $line (have: $(cd "$compat/lines" && ls -d "$crate"-[0-9]* | tr '\n' ' '))" >&2
            exit 1
        fi
        rm -rf "${into:?}/$crate"
        mkdir -p "$into/$crate"
        cp -R "$src/src" "$into/$crate/src"
        sed -E "s#path = \"([^/\"][^\"]*)\"#path = \"$src/\\1\"#" "$src/Cargo.toml" >"$into/$crate/Cargo.toml"
        echo "patch.sh: $into/$crate = $crate $(sed -n 's/^version = "\(.*\)"$/\1/p' "$src/Cargo.toml" | head -n 1) stand-in (the checkout's $crate is $version)"
    done
}

case "${1:-}" in
    "") print_block ;;
    -h | --help) usage 0 ;;
    --lay)
        [[ $# -eq 3 ]] || usage
        lay "$2" "$3"
        ;;
    *) usage ;;
esac
