#!/usr/bin/env python3
"""The manifest edits a test workspace makes to run someone's driver on kmdf-sim.

usage:
  peer_workspace.py patch ROOT_MANIFEST BLOCK_FILE
      add patch.sh's [patch.crates-io] entries to the workspace root's
      manifest (appended, or merged under its own [patch.crates-io] table)
  peer_workspace.py rlib MANIFEST
      add "rlib" to the package's [lib] crate-type (a cdylib does not link
      into a test; a package without crate-type already is an rlib)
  peer_workspace.py locked ROOT_DIR
      print `name@version` of every windows-drivers-rs crate ROOT_DIR's
      Cargo.lock pins from a registry: a lock pins the exact version, and
      Cargo uses a patch of another version only after `cargo update -p` of it
  peer_workspace.py rustflags DIR
      print, separated by 0x1f (CARGO_ENCODED_RUSTFLAGS), the build.rustflags
      of the .cargo/config.toml files Cargo reads from DIR (nearest first,
      CARGO_HOME's last) without `-C target-feature=+crt-static`, which stops
      proc-macro crates on Linux; the driver's other flags (a --cfg) stay
  peer_workspace.py missing LOG...
      print the names rustc could not resolve in the build logs, with how
      many errors named each, most first: what the stand-ins lack
  peer_workspace.py root PACKAGE_DIR
      print the directory of the workspace root Cargo builds PACKAGE_DIR in
      (the nearest ancestor with a [workspace] that does not exclude it)

Edits are textual, so the driver's own formatting and comments stay; each
result is parsed again (tomllib) and checked before it is written. Nothing
else in the driver's manifests changes: not a version requirement, not a
feature. Needs python3 >= 3.11.
"""

import json
import re
import sys
import tomllib
from pathlib import Path


def fail(message):
    raise SystemExit(f"peer_workspace: {message}")


def load(path):
    try:
        return tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as e:
        fail(f"{path}: {e}")


def write_checked(path, text, check):
    """Writes `text` to `path` if it parses and `check(parsed)` holds."""
    try:
        parsed = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        fail(f"{path}: the edit would not parse ({e}); edit it by hand")
    if not check(parsed):
        fail(f"{path}: the edit did not take; edit it by hand")
    path.write_text(text)


def table_span(text, header):
    """(start, end) of the body of `[header]` in `text`, or None."""
    m = re.search(r"^\[" + re.escape(header) + r"\][ \t]*(#.*)?$", text, re.M)
    if not m:
        return None
    nxt = re.search(r"^\[", text[m.end():], re.M)
    return m.end(), (m.end() + nxt.start() if nxt else len(text))


def array_span(text, start, end, key):
    """(start, end) of `key = [ ... ]` inside text[start:end], or None."""
    m = re.search(r"^[ \t]*" + re.escape(key) + r"[ \t]*=[ \t]*\[", text[start:end], re.M)
    if not m:
        return None
    i = start + m.end()
    depth, quote = 1, None
    while i < end:
        c = text[i]
        if quote:
            if c == quote:
                quote = None
        elif c in "\"'":
            quote = c
        elif c == "#":
            i = text.index("\n", i) if "\n" in text[i:end] else end
            continue
        elif c == "[":
            depth += 1
        elif c == "]":
            depth -= 1
            if depth == 0:
                return start + m.start(), i + 1
        i += 1
    fail(f"unterminated `{key}` array")


def cmd_patch(root, block_file):
    block = Path(block_file).read_text()
    entries = [l for l in block.splitlines() if l and not l.startswith("#") and not l.startswith("[")]
    text = root.read_text()
    if "crates-io" in load(root).get("patch", {}):
        span = table_span(text, "patch.crates-io")
        if span is None:
            fail(f"{root}: its [patch.crates-io] is not a plain table header; add patch.sh's entries by hand")
        text = text[: span[0]] + "\n" + "\n".join(entries) + text[span[0]:]
    else:
        text = text.rstrip("\n") + "\n\n" + block
    names = [l.split("=", 1)[0].strip() for l in entries]
    write_checked(root, text, lambda t: all(n in t.get("patch", {}).get("crates-io", {}) for n in names))


def array_in(path, table, key):
    """The text of `path` and the span of `key = [...]` under `[table]`."""
    text = path.read_text()
    span = table_span(text, table)
    arr = span and array_span(text, span[0], span[1], key)
    if not arr:
        fail(f"{path}: {key} is not a `{key} = [...]` line under [{table}]; edit it by hand")
    return text, arr


def cmd_rlib(manifest):
    kinds = load(manifest).get("lib", {}).get("crate-type")
    if kinds is None or "rlib" in kinds or "lib" in kinds:
        return
    text, arr = array_in(manifest, "lib", "crate-type")
    text = text[: arr[0]] + "crate-type = " + json.dumps(kinds + ["rlib"]) + text[arr[1]:]
    write_checked(manifest, text, lambda t: t["lib"]["crate-type"] == kinds + ["rlib"])


STAND_INS = ("wdk", "wdk-sys", "wdk-alloc", "wdk-panic", "wdk-build")


def cmd_locked(root):
    lock = root / "Cargo.lock"
    if not lock.is_file():
        return
    for p in load(lock).get("package", []):
        if p.get("name") in STAND_INS and str(p.get("source", "")).startswith(("registry+", "sparse+")):
            print(f"{p['name']}@{p['version']}")


def config_rustflags(directory):
    """build.rustflags as Cargo merges them for a build run in `directory`."""
    import os
    files = []
    for d in [directory, *directory.parents]:
        for name in ("config.toml", "config"):
            f = d / ".cargo" / name
            if f.is_file():
                files.append(f)
                break
    home = Path(os.environ.get("CARGO_HOME", Path.home() / ".cargo"))
    for name in ("config.toml", "config"):
        if (home / name).is_file() and (home / name) not in files:
            files.append(home / name)
            break
    flags = []
    # Cargo joins arrays from deeper directories after those of shallower ones.
    for f in reversed(files):
        value = load(f).get("build", {}).get("rustflags", [])
        flags += value.split() if isinstance(value, str) else list(value)
    return flags


def cmd_rustflags(directory):
    flags = config_rustflags(directory.resolve())
    out, i = [], 0
    while i < len(flags):
        if flags[i] == "-C" and i + 1 < len(flags) and flags[i + 1] == "target-feature=+crt-static":
            i += 2
            continue
        if flags[i] in ("-Ctarget-feature=+crt-static",):
            i += 1
            continue
        out.append(flags[i])
        i += 1
    sys.stdout.write("\x1f".join(out))


def cmd_missing(logs):
    counts = {}
    pattern = re.compile(
        r"^error\[E0(?:432|425|412|422|433|531|405|423)\]: (?:unresolved imports? (?P<imports>.*)"
        r"|cannot find [a-z ,]+ `(?P<name>[^`]+)` in (?:module|crate) `(?P<scope>[^`]+)`"
        r"|cannot find [a-z ,]+ `(?P<bare>[^`]+)` in this scope"
        r"|failed to resolve: could not find `(?P<nf>[^`]+)` in `(?P<nfs>[^`]+)`)"
    )
    for log in logs:
        for line in Path(log).read_text(errors="replace").splitlines():
            m = pattern.match(line)
            if not m:
                continue
            if m["imports"]:
                names = re.findall(r"`([^`]+)`", m["imports"])
            elif m["name"]:
                names = [f"{m['scope']}::{m['name']}"]
            elif m["bare"]:
                names = [m["bare"]]
            else:
                names = [f"{m['nfs']}::{m['nf']}"]
            for n in names:
                counts[n] = counts.get(n, 0) + 1
    for n, c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"{c:4} {n}")


def cmd_root(package):
    package = package.resolve()
    if not (package / "Cargo.toml").is_file():
        fail(f"{package}: no Cargo.toml")
    for d in [package, *package.parents]:
        manifest = d / "Cargo.toml"
        if not manifest.is_file():
            continue
        ws = load(manifest).get("workspace")
        if ws is None:
            continue
        rel = package.relative_to(d).as_posix()
        if d != package and any(rel == e or rel.startswith(e.rstrip("/") + "/") for e in ws.get("exclude", [])):
            break
        print(d)
        return
    print(package)


def main():
    a = sys.argv[1:]
    if not a or a[0] in ("-h", "--help"):
        print(__doc__)
        sys.exit(0 if a else 2)
    cmd, rest = a[0], a[1:]
    if cmd == "patch" and len(rest) == 2:
        cmd_patch(Path(rest[0]), rest[1])
    elif cmd == "rlib" and len(rest) == 1:
        cmd_rlib(Path(rest[0]))
    elif cmd == "locked" and len(rest) == 1:
        cmd_locked(Path(rest[0]))
    elif cmd == "rustflags" and len(rest) == 1:
        cmd_rustflags(Path(rest[0]))
    elif cmd == "missing" and rest:
        cmd_missing(rest)
    elif cmd == "root" and len(rest) == 1:
        cmd_root(Path(rest[0]))
    else:
        fail("unknown command or wrong arguments; --help explains")


if __name__ == "__main__":
    main()
