#!/usr/bin/env python3
"""Type-check and lint the driver crates for x86_64-pc-windows-msvc, on Linux.

Runs `cargo check` and `cargo clippy -- -D warnings` on the two driver crates, `wdfkey-guard`
and `wdfkey`, for the real Windows target and WITHOUT the `sim` feature, so `crate::sys` is the
real `wdk_sys` and every `cfg(windows)` line is compiled. Dependencies are the crates.io
releases Cargo.lock pins (wdk, wdk-sys, wdk-macros, wdk-alloc, wdk-panic); the toolchain is
Debian's `rustc-web` with `rust-web-src`, `-Zbuild-std=core,alloc` (RUSTC_BOOTSTRAP=1).

wdk-build, the build-dependency that configures wdk-sys, only builds on a Windows host. The
check uses a copy of it with exactly three changes: the Windows-registry lookup of the kit is
compiled only on Windows (the kit is found through WDKContentRoot, wdk-build's first choice),
the two non-Windows `compile_error!` bodies of set_var/remove_var become panics, and its
`windows` dependency is made Windows-only. Bindgen setup, Config, headers and cfgs are as
released.

Modes (where wdk-sys's bindings come from):
  bindings  (default) pre-generated wdk-sys 0.5.2 bindings (constants.rs, types.rs, ntddk.rs,
            wdf.rs), by default ci/windows-check/wdk-sys-0.5.2-bindings.tar.xz. wdk-sys is a
            copy whose build script copies them into OUT_DIR instead of running bindgen; the
            rest of its build script (cfgs, the WDF function table macro, function count,
            test stubs) runs as released. Needs only rustc-web, cargo-web, rust-web-src.
  headers   wdk-sys's own build script runs bindgen (libclang 16) over a stand-in WDK: the
            KMDF 1.33 headers of microsoft/Windows-Driver-Frameworks plus mingw-w64's DDK
            headers for the NT half, and compiles its wdf.c with clang. The most faithful
            mode; picked when --wdf-git, --kmdf or $WDF_GIT names the headers.

All work happens in a copy of the checkout (WORK/proj, files synced with their mtimes so a
re-run is incremental); the checkout, its target/ and its Cargo.lock are only read.

Output: every error and warning in the project's code as file:line:col (relative to the
repository), the same in WORK/report.json, diagnostics of other crates as counts, and the time
of each step.

Exit status: 0 clean; 1 an error or warning in the project's code, or a failed self-test;
2 bad arguments or a setup problem (missing tool or input, a step that could not complete).
"""

import argparse
import fcntl
import hashlib
import inspect
import io
import json
import lzma
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
import tomllib
from pathlib import Path

TARGET = "x86_64-pc-windows-msvc"
PACKAGES = ["wdfkey-guard", "wdfkey"]
# The versions the source edits below are written against.
WDK_BUILD_VERSION = "0.6.0"
WDK_SYS_VERSION = "0.5.2"
BINDING_FILES = ["constants.rs", "types.rs", "ntddk.rs", "wdf.rs"]
SDK_VERSION = "10.0.26100.0"
LLVM = Path("/usr/lib/llvm-16")
MINGW = Path("/usr/x86_64-w64-mingw32")
# The toolchain's binaries, set by select_toolchain(): Debian's by default.
RUSTC = Path("/usr/bin/rustc")
CARGO = Path("/usr/bin/cargo")
CARGO_CLIPPY = Path("/usr/bin/cargo-clippy")
RUSTDOC = Path("/usr/bin/rustdoc")
BASE_PACKAGES = ["rustc-web", "cargo-web", "rust-web-src"]
CLIPPY_PACKAGES = ["rust-web-clippy"]
HEADERS_PACKAGES = ["mingw-w64-x86-64-dev", "libclang-16-dev", "clang-16", "llvm-16"]
LINK_PACKAGES = ["mingw-w64-x86-64-dev", "clang-16", "llvm-16", "lld-16"]
# Environment that would change what cargo builds or which toolchain runs.
SCRUBBED_ENV = [
    "RUSTFLAGS", "CARGO_ENCODED_RUSTFLAGS", "CARGO_BUILD_RUSTFLAGS", "RUSTDOCFLAGS",
    "CARGO_TARGET_DIR", "CARGO_BUILD_TARGET_DIR", "CARGO_BUILD_TARGET", "RUSTC_WRAPPER",
    "RUSTC_WORKSPACE_WRAPPER", "RUSTUP_TOOLCHAIN", "CARGO_INCREMENTAL", "CARGO_PROFILE_DEV_PANIC",
]
HERE = Path(__file__).resolve().parent
DEFAULT_BINDINGS = HERE / "windows-check" / f"wdk-sys-{WDK_SYS_VERSION}-bindings.tar.xz"
EXPECTED_IMPORTS = HERE / "windows-check" / "expected-imports.txt"


class Setup(Exception):
    """A problem that stops the check before it can say anything about the code (exit 2)."""


def say(msg):
    print(f"windows-check: {msg}", flush=True)


class Steps:
    """Wall-clock time of each step, printed at the end."""

    def __init__(self):
        self.t0 = self.last = time.monotonic()
        self.rows = []

    def done(self, name):
        now = time.monotonic()
        self.rows.append((name, now - self.last))
        self.last = now

    def total(self):
        return time.monotonic() - self.t0


# ---------------------------------------------------------------- arguments


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="ci/windows-check.py",
        description=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=(
            "examples:\n"
            "  CI (what .ci/run runs):      ci/windows-check.py --install --self-test\n"
            "  from a Windows-Driver-Frameworks clone:\n"
            "    git clone https://github.com/microsoft/Windows-Driver-Frameworks ~/wdf\n"
            "    ci/windows-check.py --install --wdf-git ~/wdf\n"
            "  regenerate the shipped bindings (after Cargo.lock moves wdk-sys/wdk-build/bindgen):\n"
            "    ci/windows-check.py --wdf-git ~/wdf --save-bindings ci/windows-check\n"
        ),
    )
    p.add_argument("--mode", choices=["bindings", "headers"],
                   help="where wdk-sys's bindings come from (default: headers when KMDF headers are "
                        "given by --wdf-git/--kmdf/$WDF_GIT, else bindings)")
    p.add_argument("--bindings", metavar="FILE|DIR", type=Path,
                   help="pre-generated bindings: a .tar.xz made by --save-bindings or a directory with "
                        f"the four .rs files and MANIFEST (default: {DEFAULT_BINDINGS.relative_to(HERE.parent)})")
    p.add_argument("--wdf-git", metavar="DIR", type=Path, default=os.environ.get("WDF_GIT") or None,
                   help="a clone of microsoft/Windows-Driver-Frameworks; its committed "
                        "src/publicinc/wdf/kmdf/1.33 headers are used (default: $WDF_GIT)")
    p.add_argument("--kmdf", metavar="DIR", type=Path,
                   help="a directory holding the KMDF 1.33 headers (wdf.h and the rest)")
    p.add_argument("--work", metavar="DIR", type=Path,
                   default=Path(os.environ.get("WINCHECK_WORK") or "/tmp/wdfkey-windows-check"),
                   help="build directory, outside the checkout (default: $WINCHECK_WORK or "
                        "/tmp/wdfkey-windows-check)")
    p.add_argument("--project", metavar="DIR", type=Path, default=HERE.parent,
                   help="the checkout to check (default: the one this script is in)")
    p.add_argument("--install", action="store_true",
                   help="apt-get install the Debian packages the mode needs that are missing "
                        "(as root, else through sudo -n)")
    p.add_argument("--toolchain", choices=["auto", "debian", "rustup"], default="auto",
                   help="debian: Debian's rustc-web + rust-web-src (the one CI uses); rustup: the rustup "
                        "toolchain active in the checkout, with its rust-src component (default auto: "
                        "debian where /usr/bin/rustc exists or apt offers rustc-web, else rustup)")
    p.add_argument("--no-clippy", action="store_true", help="cargo check only")
    p.add_argument("--self-test", action="store_true",
                   help="after the check, plant a Windows-only type error and an unused import in the "
                        "work copy and assert both are reported at their file:line with exit 1")
    p.add_argument("--link", action="store_true",
                   help="after a clean check, also build the driver (and scripts/emulate's seed-bug driver) "
                        "in WORK/proj/target/link and link it with lld-link against mingw-w64's import "
                        "libraries, then assert the reference image imports exactly the "
                        f"routines listed in {EXPECTED_IMPORTS.relative_to(HERE.parent)} (ntoskrnl.exe, and "
                        "WDFLDR.SYS's WdfVersionBind/WdfVersionUnbind). WdfDriverEntry.lib is the project's "
                        f"STAND-IN ({WDF_DRIVER_ENTRY_STAND_IN.relative_to(HERE.parent)}: FxDriverEntry, the "
                        "bind, the table pointer, the globals), not the WDK's: the image runs under an "
                        "emulator (scripts/emulate/); Windows' loader accepting it is unproven")
    p.add_argument("--save-bindings", metavar="DIR", type=Path,
                   help="headers mode: after a clean check, write the generated bindings to "
                        f"DIR/wdk-sys-{WDK_SYS_VERSION}-bindings.tar.xz and its .MANIFEST")
    p.add_argument("--report", metavar="FILE", type=Path, help="JSON report (default: WORK/report.json)")
    a = p.parse_args(argv)
    if a.mode is None:
        a.mode = "headers" if (a.wdf_git or a.kmdf) else "bindings"
    return a


def validate(a):
    """Every input is checked before any work starts."""
    a.project = a.project.resolve()
    for f in ("Cargo.toml", "Cargo.lock"):
        if not (a.project / f).is_file():
            raise Setup(f"{a.project} has no {f}: --project must be the repository root")
    a.work = a.work.resolve()
    if a.work == a.project or a.project in a.work.parents:
        raise Setup(f"--work {a.work} lies inside the checkout; the check must not write there")
    if a.mode == "headers":
        if a.bindings:
            raise Setup("--bindings is for --mode bindings")
        if a.kmdf:
            if not (a.kmdf / "wdf.h").is_file():
                raise Setup(f"--kmdf {a.kmdf} has no wdf.h (want the KMDF 1.33 header directory)")
        elif a.wdf_git:
            r = subprocess.run(["git", "-C", str(a.wdf_git), "cat-file", "-e",
                                "HEAD:src/publicinc/wdf/kmdf/1.33/wdf.h"], capture_output=True)
            if r.returncode != 0:
                raise Setup(f"--wdf-git {a.wdf_git}: not a clone of microsoft/Windows-Driver-Frameworks "
                            "(no src/publicinc/wdf/kmdf/1.33/wdf.h at HEAD)")
        else:
            raise Setup("--mode headers needs --wdf-git DIR, --kmdf DIR or $WDF_GIT")
    else:
        if a.save_bindings:
            raise Setup("--save-bindings needs the headers mode (--wdf-git or --kmdf)")
        a.bindings = (a.bindings or DEFAULT_BINDINGS).resolve()
        if not a.bindings.exists():
            raise Setup(f"bindings {a.bindings} not found")
    if a.report is None:
        a.report = a.work / "report.json"


# ---------------------------------------------------------------- packages and toolchain


def apt_install(packages, log):
    def installed(p):
        r = subprocess.run(["dpkg-query", "-W", "-f", "${Status}", p], capture_output=True, text=True)
        return r.returncode == 0 and r.stdout.endswith("installed") and "not-installed" not in r.stdout

    missing = [p for p in packages if not installed(p)]
    if not missing:
        say(f"Debian packages present: {' '.join(packages)}")
        return
    if not shutil.which("apt-get"):
        raise Setup(f"no apt-get: install {' '.join(missing)} by hand")
    prefix = []
    if os.geteuid() != 0:
        if not shutil.which("sudo"):
            raise Setup(f"not root and no sudo: install {' '.join(missing)} as root")
        prefix = ["sudo", "-n"]
    say(f"apt-get install {' '.join(missing)} (log {log})")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    with open(log, "a") as fh:
        for cmd in (["apt-get", "update", "-qq"],
                    ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing]):
            full = prefix + (["env", "DEBIAN_FRONTEND=noninteractive"] if prefix else []) + cmd
            if subprocess.run(full, stdout=fh, stderr=subprocess.STDOUT, env=env).returncode != 0:
                raise Setup(f"`{' '.join(full)}` failed; see {log}")


def debian_has_rustc_web():
    if not shutil.which("apt-cache"):
        return False
    r = subprocess.run(["apt-cache", "policy", "rustc-web"], capture_output=True, text=True)
    return "Candidate:" in r.stdout and "Candidate: (none)" not in r.stdout


def pick_toolchain(a):
    """debian: /usr/bin's rustc-web; rustup: the rustup toolchain active in the checkout, with
    its rust-src component (for hosts without Debian's packages, e.g. Ubuntu CI runners)."""
    if a.toolchain != "auto":
        return a.toolchain
    if RUSTC.exists() or (a.install and debian_has_rustc_web()):
        return "debian"
    if shutil.which("rustup"):
        return "rustup"
    return "debian"


def rustup_install(a, clippy, log):
    comps = ["rust-src"] + (["clippy"] if clippy else [])
    say(f"rustup component add {' '.join(comps)} (log {log})")
    with open(log, "a") as fh:
        if subprocess.run(["rustup", "component", "add", *comps], cwd=a.project, stdout=fh,
                          stderr=subprocess.STDOUT).returncode != 0:
            raise Setup(f"rustup component add {' '.join(comps)} failed; see {log}")


def select_toolchain(a):
    global RUSTC, CARGO, CARGO_CLIPPY, RUSTDOC
    if a.toolchain == "rustup":
        def which(tool):
            r = subprocess.run(["rustup", "which", tool], cwd=a.project, capture_output=True, text=True)
            return Path(r.stdout.strip()) if r.returncode == 0 else Path(f"(rustup has no {tool})")
        RUSTC, CARGO, CARGO_CLIPPY, RUSTDOC = (which(t) for t in ("rustc", "cargo", "cargo-clippy", "rustdoc"))


def check_toolchain(a, clippy):
    select_toolchain(a)
    debian = a.toolchain == "debian"
    for tool, pkg in ((RUSTC, "rustc-web"), (CARGO, "cargo-web")):
        if not os.access(tool, os.X_OK):
            raise Setup(f"no {tool}: " + (f"apt-get install {pkg} (or pass --install)" if debian else "install rustup"))
    if clippy and not os.access(CARGO_CLIPPY, os.X_OK):
        raise Setup(f"no {CARGO_CLIPPY}: " + ("apt-get install rust-web-clippy" if debian else "rustup component add clippy")
                    + " (or --install, or --no-clippy)")
    sysroot = subprocess.run([str(RUSTC), "--print", "sysroot"], capture_output=True, text=True).stdout.strip()
    if not (Path(sysroot) / "lib/rustlib/src/rust/library/Cargo.lock").is_file():
        raise Setup(f"no core/alloc sources in {sysroot}/lib/rustlib/src: "
                    + ("apt-get install rust-web-src" if debian else "rustup component add rust-src") + " (or --install)")
    version = subprocess.run([str(RUSTC), "-V"], capture_output=True, text=True).stdout.strip()
    want = tomllib.loads((a.project / "Cargo.toml").read_text()).get("workspace", {}) \
        .get("package", {}).get("rust-version")
    have = re.match(r"rustc (\d+)\.(\d+)", version)
    if want and have and tuple(map(int, have.groups())) < tuple(map(int, want.split(".")[:2])):
        raise Setup(f"{version} is older than the project's rust-version {want}: "
                    "apt-get update && apt-get install rustc-web (bookworm-updates carries newer ones)")
    if a.mode == "headers":
        for f, pkg in ((LLVM / "lib/libclang.so", "libclang-16-dev"), (LLVM / "bin/clang", "clang-16"),
                       (LLVM / "bin/llvm-lib", "llvm-16"), (MINGW / "include/ddk/ntddk.h", "mingw-w64-x86-64-dev")):
            if not f.exists():
                raise Setup(f"headers mode needs {f}: apt-get install {pkg} (or --install)")
    return version


def cargo_env():
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED_ENV and not k.startswith("CARGO_TARGET_X86_64_PC_WINDOWS")}
    # The selected toolchain's binaries only: rustup's proxies in ~/.cargo/bin must not be
    # found first (cargo looks for subcommands there too).
    env["PATH"] = f"{LLVM}/bin:{RUSTC.parent}:/usr/bin:/bin:/usr/sbin:/sbin"
    env.update(RUSTC_BOOTSTRAP="1", RUSTC=str(RUSTC), CARGO=str(CARGO), RUSTDOC=str(RUSTDOC))
    return env


# ---------------------------------------------------------------- the work copy


def lock_versions(lock_text):
    out = {}
    for pkg in tomllib.loads(lock_text).get("package", []):
        out.setdefault(pkg["name"], []).append(pkg["version"])
    return out


def tracked_files(src):
    r = subprocess.run(["git", "-C", str(src), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                       capture_output=True)
    if r.returncode == 0 and (src / ".git").exists():
        return sorted({f for f in r.stdout.decode().split("\0") if f and (src / f).is_file()})
    files = []
    for root, dirs, names in os.walk(src):
        if Path(root) == src:
            dirs[:] = [d for d in dirs if d not in (".git", "target")]
        files += [os.path.relpath(os.path.join(root, n), src) for n in names]
    return sorted(files)


def sync_copy(src, dst, patch_lines):
    """Mirrors src's files into dst; a file is written only when its bytes differ, with src's
    mtime, so cargo's fingerprints of unchanged files stay valid (wdk-build makes wdk-sys's
    build script rerun on any workspace Cargo.toml change, which is the slow bindgen pass)."""
    dst.mkdir(parents=True, exist_ok=True)
    files = tracked_files(src)
    special = {"Cargo.toml", "Cargo.lock"}
    written = removed = 0
    for rel in files:
        if rel in special:
            continue
        s, d = src / rel, dst / rel
        data = s.read_bytes()
        if d.is_file() and not d.is_symlink() and d.read_bytes() == data:
            continue
        d.parent.mkdir(parents=True, exist_ok=True)
        if d.is_symlink():
            d.unlink()
        d.write_bytes(data)
        shutil.copymode(s, d)
        st = s.stat()
        os.utime(d, ns=(st.st_atime_ns, st.st_mtime_ns))
        written += 1
    keep = set(files) | special
    for root, dirs, names in os.walk(dst):
        if Path(root) == dst:
            dirs[:] = [d for d in dirs if d != "target"]
        for n in names:
            rel = os.path.relpath(os.path.join(root, n), dst)
            if rel not in keep:
                os.remove(os.path.join(root, n))
                removed += 1
    # Cargo.toml: the checkout's, with the stand-in crates under [patch.crates-io].
    manifest = (src / "Cargo.toml").read_text()
    block = "# windows-check (work copy only): Linux stand-ins for wdk-build/wdk-sys\n" + "".join(
        f'{name} = {{ path = "{path}" }}\n' for name, path in patch_lines)
    if re.search(r"^\[patch\.crates-io\]\s*$", manifest, flags=re.M):
        manifest = re.sub(r"^\[patch\.crates-io\]\s*$\n?", lambda m: m.group(0).rstrip("\n") + "\n" + block,
                          manifest, count=1, flags=re.M)
    else:
        manifest = manifest.rstrip("\n") + "\n\n[patch.crates-io]\n" + block
    d = dst / "Cargo.toml"
    if not d.is_file() or d.read_text() != manifest:
        d.write_text(manifest)
        written += 1
    # Cargo.lock: cargo rewrites the copy's for the path crates; take the checkout's only when
    # it changed since the last sync.
    seen = dst / "target" / "windows-check" / "Cargo.lock.checkout"
    seen.parent.mkdir(parents=True, exist_ok=True)
    lock = (src / "Cargo.lock").read_bytes()
    if not seen.is_file() or seen.read_bytes() != lock or not (dst / "Cargo.lock").is_file():
        (dst / "Cargo.lock").write_bytes(lock)
        seen.write_bytes(lock)
        written += 1
    say(f"work copy {dst}: {len(files)} files, {written} written, {removed} removed")


def registry_sources(work, project, env):
    """Source directories of the locked wdk-build and wdk-sys (downloaded and checksum-verified by
    cargo), found through a throwaway manifest resolved against the project's Cargo.lock."""
    versions = lock_versions((project / "Cargo.lock").read_text())
    for name, want in (("wdk-build", WDK_BUILD_VERSION), ("wdk-sys", WDK_SYS_VERSION)):
        if versions.get(name) != [want]:
            raise Setup(f"Cargo.lock has {name} {versions.get(name)}; the stand-in edits in this script are "
                        f"written for {want}: check them against the new source and update the script")
    d = work / "locate"
    (d / "src").mkdir(parents=True, exist_ok=True)
    (d / "src/lib.rs").write_text("")
    (d / "Cargo.toml").write_text(
        '[workspace]\n[package]\nname = "windows-check-locate"\nversion = "0.0.0"\nedition = "2021"\n'
        f'[dependencies]\nwdk-build = "={WDK_BUILD_VERSION}"\nwdk-sys = "={WDK_SYS_VERSION}"\n')
    shutil.copyfile(project / "Cargo.lock", d / "Cargo.lock")
    r = subprocess.run([str(CARGO), "metadata", "--format-version", "1"], cwd=d, env=env,
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise Setup(f"cargo metadata (to download wdk-build/wdk-sys) failed:\n{r.stderr.strip()}")
    meta = json.loads(r.stdout)
    found = {p["name"]: Path(p["manifest_path"]).parent for p in meta["packages"]
             if p["name"] in ("wdk-build", "wdk-sys") and p["source"]}
    return found["wdk-build"], found["wdk-sys"]


# ---------------------------------------------------------------- stand-in crates


def edit_file(path, edits):
    """Applies (old, new, count) replacements; each `old` must occur exactly `count` times, so a
    changed upstream source stops the check instead of being patched wrongly. Line endings are
    kept as found (the crates ship CRLF sources)."""
    raw = path.read_bytes()
    crlf = b"\r\n" in raw
    text = raw.decode().replace("\r\n", "\n")
    for old, new, count in edits:
        n = text.count(old)
        if n != count:
            raise Setup(f"{path}: expected {count} occurrence(s) of {old[:60]!r}, found {n}; "
                        "the upstream source is not the one these edits were written for")
        text = text.replace(old, new)
    path.write_bytes((text.replace("\n", "\r\n") if crlf else text).encode())


def patch_wdk_build(d):
    """wdk-build, buildable on a Linux host; nothing a build script of wdk-sys uses changes."""
    no_registry = (
        "// windows-check: the registry exists only on Windows; elsewhere the kit is found\n"
        "// through WDKContentRoot alone.\n"
        "#[cfg(not(windows))]\n"
        "#[allow(non_camel_case_types, clippy::upper_case_acronyms)]\n"
        "#[derive(Clone, Copy, Default)]\n"
        "struct HKEY;\n"
        "#[cfg(not(windows))]\n"
        "const HKEY_LOCAL_MACHINE: HKEY = HKEY;\n"
        "#[cfg(not(windows))]\n"
        "type PCSTR = &'static str;\n"
        "#[cfg(not(windows))]\n"
        "macro_rules! s {\n    ($text:expr) => {\n        $text\n    };\n}\n"
        "#[cfg(not(windows))]\n"
        "fn read_registry_key_string_value(_key: HKEY, _sub_key: PCSTR, _value: PCSTR) -> Option<String> {\n"
        "    None\n}\n\n"
    )
    host_only = ('"windows-drivers-rs is designed to be run on a Windows host machine in a WDK environment. \\\n'
                 '         Please build using a Windows target."\n    );')
    edit_file(d / "src/utils.rs", [
        # (macro_rules! scope is textual: the stand-ins go before the first use)
        ("\nuse windows::{", "\n" + no_registry + "#[cfg(windows)]\nuse windows::{", 1),
        ("/// Read a string value from a registry key\n", "/// Read a string value from a registry key\n#[cfg(windows)]\n", 1),
        # set_var / remove_var: a compile_error! on non-Windows hosts even when never called.
        ("    compile_error!(\n        " + host_only,
         '    unimplemented!("windows-check: wdk-build stand-in, environment not writable on this host")', 2),
    ])
    edit_file(d / "src/cargo_make.rs", [
        ("std::os::windows::fs::symlink_file(", "std::os::unix::fs::symlink(", 2),
    ])
    edit_file(d / "Cargo.toml", [
        ("\n[dependencies.windows]\n", "\n[target.'cfg(windows)'.dependencies.windows]\n", 1),
        ("\n[dev-dependencies.windows]\n", "\n[target.'cfg(windows)'.dev-dependencies.windows]\n", 1),
    ])


def patch_wdk_sys(d):
    """wdk-sys whose build script takes pre-generated bindings when WDFKEY_WINCHECK_BINDINGS names
    a directory: the four files bindgen would write are copied into OUT_DIR and wdf.c (which only
    matters for linking) is not compiled. Without the variable the build script is the released one."""
    helper = (
        "/// windows-check: copies pre-generated bindings into `OUT_DIR` when\n"
        "/// `WDFKEY_WINCHECK_BINDINGS` is set; returns whether it did.\n"
        "fn windows_check_bindings(out_path: &Path) -> anyhow::Result<bool> {\n"
        '    println!("cargo::rerun-if-env-changed=WDFKEY_WINCHECK_BINDINGS");\n'
        '    let Some(dir) = env::var_os("WDFKEY_WINCHECK_BINDINGS").map(PathBuf::from) else {\n'
        "        return Ok(false);\n"
        "    };\n"
        f"    for name in {json.dumps(BINDING_FILES)} {{\n"
        "        let from = dir.join(name);\n"
        '        println!("cargo::rerun-if-changed={}", from.display());\n'
        "        std::fs::copy(&from, out_path.join(name))\n"
        '            .with_context(|| format!("windows-check: copying {}", from.display()))?;\n'
        "    }\n"
        "    Ok(true)\n"
        "}\n\n"
    )
    edit_file(d / "build.rs", [
        ("\nfn main() -> anyhow::Result<()> {\n", "\n" + helper + "fn main() -> anyhow::Result<()> {\n", 1),
        ("            start_bindgen_tasks(thread_scope, &out_path, &config, &mut thread_join_handles);\n",
         "            if !windows_check_bindings(&out_path)? {\n"
         "                start_bindgen_tasks(thread_scope, &out_path, &config, &mut thread_join_handles);\n"
         "            }\n", 1),
        ("        start_wdf_symbol_export_tasks(thread_scope, out_path, config, thread_join_handles);\n",
         '        if env::var_os("WDFKEY_WINCHECK_BINDINGS").is_none() {\n'
         "            start_wdf_symbol_export_tasks(thread_scope, out_path, config, thread_join_handles);\n"
         "        }\n", 1),
    ])


def stand_in_crate(src, dst, patch):
    """dst = src with `patch` applied, redone only when the source or the edits change (a fresh
    copy makes cargo rebuild the crate and everything above it)."""
    stamp = dst.with_name(dst.name + ".stamp")
    want = f"{src}\n{hashlib.sha256(inspect.getsource(patch).encode()).hexdigest()}\n"
    if stamp.is_file() and stamp.read_text() == want and dst.is_dir():
        return
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns(".cargo-ok", ".cargo_vcs_info.json", "target"))
    patch(dst)
    stamp.write_text(want)
    say(f"stand-in {dst.name} from {src}")


# ---------------------------------------------------------------- the WDK stand-in


def safe_extract(tar, dest):
    """Extracts regular files and directories only, each inside dest (PEP 706's "data" filter
    where this Python has it)."""
    if hasattr(tarfile, "data_filter"):
        tar.extractall(dest, filter="data")
        return
    root = Path(dest).resolve()
    for m in tar.getmembers():
        target = (root / m.name).resolve()
        if not (m.isfile() or m.isdir()) or root not in (target, *target.parents):
            raise Setup(f"refusing archive member {m.name!r}")
    tar.extractall(dest)


def kmdf_headers(a, work):
    if a.kmdf:
        return a.kmdf.resolve(), f"--kmdf {a.kmdf}"
    out = work / "in" / "wdf-git"
    rev = subprocess.run(["git", "-C", str(a.wdf_git), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    stamp = out / "REV"
    if not stamp.is_file() or stamp.read_text() != rev:
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        arch = subprocess.run(["git", "-C", str(a.wdf_git), "archive", "HEAD", "src/publicinc/wdf/kmdf/1.33"],
                              capture_output=True, check=True).stdout
        safe_extract(tarfile.open(fileobj=io.BytesIO(arch)), out)
        stamp.write_text(rev)
    return out / "src/publicinc/wdf/kmdf/1.33", f"{a.wdf_git} @ {rev[:12]}"


def make_kit(kit, kmdf):
    """A WDKContentRoot in the layout wdk-build's Config reads: mingw-w64's DDK headers for the NT
    half, the KMDF 1.33 headers for the framework. Each shim below stands for one place where
    mingw-w64 differs from the WDK's own headers."""
    inc = MINGW / "include"
    km = kit / "Include" / SDK_VERSION / "km"
    shutil.rmtree(kit, ignore_errors=True)
    for sub in ("crt", "ufx/1.1"):
        (km / sub).mkdir(parents=True)
    (kit / "Include" / SDK_VERSION / "shared").mkdir()
    for f in sorted((inc / "ddk").iterdir()):
        (km / f.name).symlink_to(f)
    for f in sorted(inc.iterdir()):
        (km / "crt" / f.name).symlink_to(f)
    wdf = kit / "Include" / "wdf" / "kmdf" / "1.33"
    shutil.copytree(kmdf, wdf)
    # The headers include each other in mixed case (<WdfWMI.h> for wdfwmi.h); Linux is case-sensitive.
    names = set()
    for h in wdf.glob("*.h"):
        names |= set(re.findall(r'#include\s*[<"]([^>"/]+)[>"]', h.read_text(errors="replace")))
    for n in sorted(names):
        if not (wdf / n).exists() and (wdf / n.lower()).exists():
            (wdf / n).symlink_to(n.lower())
    # ntdef.h: the WDK defines STRICT, so DECLARE_HANDLE(n) gives `struct n__ { int unused; } *n`
    # (wdk_sys::WDFKEY = *mut WDFKEY__); mingw-w64 would make each WDF handle a bare HANDLE. And
    # mingw-w64's C_ASSERT does not parse under clang.
    text = (inc / "ntdef.h").read_text()
    text, n1 = re.subn(r"^#define DECLARE_HANDLE\(n\) .*$",
                       "#define DECLARE_HANDLE(n) struct n##__{int unused;}; typedef struct n##__ *n", text, flags=re.M)
    text, n2 = re.subn(r"^#define C_ASSERT\(expr\) .*$", "#define C_ASSERT(e) typedef char __C_ASSERT__[(e)?1:-1]",
                       text, flags=re.M)
    if n1 < 1 or n2 != 1:
        raise Setup(f"{inc}/ntdef.h: DECLARE_HANDLE/C_ASSERT definitions not found (mingw-w64 changed?)")
    (km / "crt" / "ntdef.h").unlink()
    (km / "crt" / "ntdef.h").write_text(text)
    # ntddk.h: POOL_FLAGS and ExAllocatePool2 (WDK 10.0.19041 and later), which wdk-sys's
    # constants.rs and wdk-alloc use, are missing from mingw-w64 10.
    (km / "ntddk.h").unlink()
    (km / "ntddk.h").write_text(
        "/* windows-check stand-in: mingw-w64's ntddk.h plus what the WDK has and it lacks */\n"
        f'#include "{inc}/ddk/ntddk.h"\n#ifndef WINDOWS_CHECK_NTDDK\n#define WINDOWS_CHECK_NTDDK\n'
        "typedef ULONG64 POOL_FLAGS;\n"
        "NTKERNELAPI PVOID NTAPI ExAllocatePool2(POOL_FLAGS Flags, SIZE_T NumberOfBytes, ULONG Tag);\n#endif\n")
    # Force-included: mingw-w64 defines __attribute__ away when it sees MSVC mode, which breaks
    # clang's own intrinsic headers.
    (kit / "pre.h").write_text(
        "/* windows-check: undo mingw-w64 GCC-isms that break clang in MSVC mode */\n#include <_mingw.h>\n"
        "#undef __attribute__\n#undef __MINGW_ATTRIB_NORETURN\n#define __MINGW_ATTRIB_NORETURN\n"
        "#undef __MINGW_ATTRIB_DEPRECATED\n#define __MINGW_ATTRIB_DEPRECATED\n")


def bindings_dir(path, work):
    """The pre-generated bindings as a directory, every file verified against its MANIFEST."""
    if path.is_dir():
        d = path
    else:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        d = work / "in" / "bindings"
        stamp = work / "in" / "bindings.sha256"
        if not stamp.is_file() or stamp.read_text() != digest or not d.is_dir():
            shutil.rmtree(d, ignore_errors=True)
            d.mkdir(parents=True)
            with tarfile.open(path) as t:
                safe_extract(t, d)
            stamp.write_text(digest)
        inner = [p.parent for p in d.rglob("types.rs")]
        if len(inner) != 1:
            raise Setup(f"{path}: expected one directory with types.rs inside, found {len(inner)}")
        d = inner[0]
    manifest = d / "MANIFEST"
    if not manifest.is_file():
        raise Setup(f"{d}: no MANIFEST (bindings are made by --save-bindings)")
    text = manifest.read_text()
    sums = dict((name, h) for h, name in re.findall(r"^([0-9a-f]{64})  (\S+)$", text, flags=re.M))
    for f in BINDING_FILES:
        if f not in sums:
            raise Setup(f"{manifest}: no sha256 for {f}")
        if hashlib.sha256((d / f).read_bytes()).hexdigest() != sums[f]:
            raise Setup(f"{d / f} does not match its sha256 in {manifest}")
    return d, text


def check_bindings_versions(manifest_text, project):
    """The bindings are bindgen's output for one wdk-sys/wdk-build/bindgen; refuse others."""
    locked = lock_versions((project / "Cargo.lock").read_text())
    for name, ver in re.findall(r'^name = "([^"]+)" version = "([^"]+)"$', manifest_text, flags=re.M):
        if name in ("bindgen", "wdk-build", "wdk-sys") and locked.get(name) != [ver]:
            raise Setup(f"the pre-generated bindings were made with {name} {ver}, Cargo.lock has "
                        f"{name} {locked.get(name)}: regenerate them (--wdf-git DIR --save-bindings ci/windows-check)")


# ---------------------------------------------------------------- cargo and its diagnostics


def project_span(msg, root):
    """The first span of a diagnostic that lies in the project's files (following macro
    expansions back to the call site), as (relative path, line, column)."""
    def local(span):
        f = Path(span["file_name"])
        f = f if f.is_absolute() else root / f
        try:
            rel = f.resolve().relative_to(root)
        except ValueError:
            return None
        return None if rel.parts[:1] == ("target",) else rel.as_posix()

    spans = sorted(msg.get("spans", []), key=lambda s: not s.get("is_primary"))
    for span in spans:
        s = span
        while s is not None:
            rel = local(s)
            if rel:
                return rel, s["line_start"], s["column_start"]
            s = (s.get("expansion") or {}).get("span")
    return None


def run_cargo(name, cmd, cwd, env, logs):
    log = logs / f"{name}.json"
    err = logs / f"{name}.stderr"
    say(f"{name}: {' '.join(cmd)}")
    t0 = time.monotonic()
    with open(log, "w") as out, open(err, "w") as fh:
        rc = subprocess.run(["nice", *cmd], cwd=cwd, env=env, stdout=out, stderr=fh).returncode
    seconds = time.monotonic() - t0
    root = cwd.resolve()
    own, other, foreign_errors = [], {}, []
    for line in open(log, errors="replace"):
        if not line.startswith("{"):
            continue
        try:
            m = json.loads(line)
        except ValueError:
            continue
        if m.get("reason") != "compiler-message":
            continue
        msg = m["message"]
        level = msg.get("level")
        text = msg.get("message", "")
        if level not in ("error", "warning") or re.match(
                r"aborting due to|could not compile|\d+ warnings? emitted|.* generated \d+ warnings?", text):
            continue
        manifest = Path(m.get("manifest_path", "/"))
        mine = root in manifest.parents and "target" not in manifest.relative_to(root).parts
        if not mine:
            counts = other.setdefault(m.get("package_id", "?"), {"error": 0, "warning": 0})
            counts[level] += 1
            if level == "error" and len(foreign_errors) < 5:
                foreign_errors.append(msg.get("rendered") or text)
            continue
        where = project_span(msg, root)
        own.append({
            "file": where[0] if where else None, "line": where[1] if where else None,
            "column": where[2] if where else None, "level": level,
            "code": (msg.get("code") or {}).get("code"), "message": text,
            "rendered": (msg.get("rendered") or text).replace(str(root) + "/", ""),
        })
    return {"step": name, "command": cmd, "exit": rc, "seconds": round(seconds, 1), "log": str(log), "stderr": str(err),
            "diagnostics": own, "outside_project": other, "foreign_errors": foreign_errors}


def package_label(package_id):
    # "path+file:///x/wdk-sys#0.5.2" or "registry+https://...#wdk-sys@0.5.2"
    base, _, frag = package_id.partition("#")
    return frag if "@" in frag else f"{base.rstrip('/').rsplit('/', 1)[-1]}@{frag}"


def run_checks(a, proj, env, logs):
    common = ["--target", TARGET, "-Zbuild-std=core,alloc", "--lib", "--message-format=json"]
    pk = [x for p in PACKAGES for x in ("-p", p)]
    steps = [run_cargo("check", [str(CARGO), "check", *pk, *common], proj, env, logs)]
    if not a.no_clippy and not incomplete(steps):
        # cargo looks for subcommands in $CARGO_HOME/bin first (rustup's proxy), so the
        # toolchain's cargo-clippy is called directly.
        steps.append(run_cargo("clippy", [str(CARGO_CLIPPY), "clippy", *pk, *common, "--", "-D", "warnings"],
                               proj, env, logs))
    return steps


def merge(steps):
    """Unique project diagnostics across the steps, with the steps that reported each."""
    seen = {}
    for st in steps:
        for d in st["diagnostics"]:
            key = (d["file"], d["line"], d["column"], d["code"], d["message"])
            if key in seen:
                seen[key]["steps"].append(st["step"])
            else:
                seen[key] = dict(d, steps=[st["step"]])
    return list(seen.values())


def incomplete(steps):
    """Steps that failed without any error in the project's code: the check did not complete."""
    return [st for st in steps if st["exit"] != 0 and not any(d["level"] == "error" for d in st["diagnostics"])]


def show(steps, diags):
    for d in diags:
        print(d["rendered"].rstrip())
        print()
    for st in steps:
        for pid, c in sorted(st["outside_project"].items()):
            say(f"{st['step']}: outside the project ({package_label(pid)}): "
                f"{c['error']} error(s), {c['warning']} warning(s), not counted")
    for st in incomplete(steps):
        for text in st["foreign_errors"]:
            print(text.rstrip())
            print()
        tail = [l for l in Path(st["stderr"]).read_text(errors="replace").splitlines()
                if not l.lstrip().startswith(("Compiling", "Checking", "Downloaded", "Downloading"))]
        print("\n".join(tail[-25:]))
        say(f"{st['step']} exited {st['exit']} without an error in the project's code: "
            f"the check did not complete (log {st['stderr']})")
    for d in diags:
        where = f"{d['file']}:{d['line']}:{d['column']}" if d["file"] else "(no project location)"
        code = f"[{d['code']}]" if d["code"] else ""
        say(f"{where}: {d['level']}{code}: {d['message']}  ({', '.join(d['steps'])})")


# ---------------------------------------------------------------- self-test

SELF_TEST_FILE = "src/driver.rs"
SELF_TEST_BLOCK = """
// windows-check self-test: planted in the work copy only.
#[cfg(all(windows, not(feature = "sim")))]
mod windows_check_self_test {
    use core::ptr::null_mut; // PLANTED: unused import
    #[allow(dead_code)]
    fn remove(_key: crate::sys::WDFKEY) -> crate::sys::NTSTATUS {
        // SAFETY: never called; only type-checked.
        unsafe { crate::sys::call_unsafe_wdf_function_binding!(WdfRegistryRemoveKey, 0u8) } // PLANTED: E0308
    }
}
"""


def self_test(a, proj, env, logs, before):
    """Plants a Windows-only type error and an unused import (inside a cfg(windows) block, which
    the Linux build never compiles) and asserts the check reports each at its file:line."""
    f = proj / SELF_TEST_FILE
    original = f.read_bytes()
    base = original.decode().count("\n") + 1   # file line of the block's first line
    lines = SELF_TEST_BLOCK.split("\n")
    want = {
        "unused_imports": base + next(i for i, l in enumerate(lines) if "unused import" in l),
        "E0308": base + next(i for i, l in enumerate(lines) if "E0308" in l),
    }
    say(f"self-test: planting a cfg(windows) block in {SELF_TEST_FILE} of the work copy "
        f"(expect E0308 at line {want['E0308']}, unused import at line {want['unused_imports']})")
    try:
        f.write_bytes(original + SELF_TEST_BLOCK.encode())
        steps = run_checks(a, proj, env, logs / "self-test")
    finally:
        f.write_bytes(original)
        # a newer mtime than any build output, so the next run recompiles the restored file
        now = time.time() + 2
        os.utime(f, (now, now))
    diags = merge(steps)
    show(steps, diags)
    problems = []
    for code, line in want.items():
        hits = [d for d in diags if d["code"] == code and d["file"] == SELF_TEST_FILE and d["line"] == line]
        if not hits:
            problems.append(f"no {code} reported at {SELF_TEST_FILE}:{line}")
    if steps[0]["exit"] == 0:
        problems.append("cargo check exited 0 with the planted errors")
    # what the unplanted check reported is no concern of the self-test (the planted block is
    # appended, so earlier lines keep their numbers)
    known = {(d["file"], d["line"], d["code"]) for d in before}
    planted = {(SELF_TEST_FILE, l) for l in want.values()}
    extra = [d for d in diags if (d["file"], d["line"]) not in planted and (d["file"], d["line"], d["code"]) not in known]
    if extra:
        problems.append(f"{len(extra)} new diagnostic(s) elsewhere than the planted lines")
    if incomplete(steps):
        problems.append("a step did not complete")
    return {"file": SELF_TEST_FILE, "expected": want, "diagnostics": diags,
            "steps": [{k: st[k] for k in ("step", "exit", "seconds", "log")} for st in steps],
            "passed": not problems, "problems": problems}


# ---------------------------------------------------------------- link smoke test

# A STAND-IN for the WDK's WdfDriverEntry.lib: FxDriverEntry, the bind to the framework through
# WDFLDR.SYS (WdfVersionBind / WdfVersionUnbind), the function table pointer and the globals the
# driver's code references — own code following the loader contract of KMDF's source, cited in
# the file. A Windows build links the WDK's library instead.
WDF_DRIVER_ENTRY_STAND_IN = HERE / "windows-check" / "wdf-driver-entry-stand-in.c"
# What the stand-in's FxDriverEntry imports from the framework's loader (fxldr.h).
WDFLDR_EXPORTS = ["WdfVersionBind", "WdfVersionUnbind"]
# The driver packages --link builds: the reference driver (whose imports are checked) and the seed
# bug's driver of scripts/emulate/ (ZwCloses its WDFKEY's handle; emulated, never shipped).
LINK_PACKAGES_BUILT = ["wdfkey-guard", "wdfkey-raw-variant"]
# Where --link builds, relative to the work copy: the images are in LINK_TARGET_DIR/<target>/debug.
LINK_TARGET_DIR = Path("target") / "link"
# Kernel exports mingw-w64 10's libntoskrnl.a lacks (the WDK's ntoskrnl.lib has them).
NTOSKRNL_EXTRA_EXPORTS = ["ExAllocatePool2"]
# The KMDF link arguments wdk-build 0.6.0's Config::configure_binary_build emits (src/lib.rs,
# the KMDF arm); the project's build.rs calls it only on a Windows host, so they are given here.
KMDF_LINK_ARGS = ["/DRIVER", "/NODEFAULTLIB", "/SUBSYSTEM:NATIVE", "/KERNEL", "/ENTRY:FxDriverEntry",
                  "/IGNORE:4257", "/NXCOMPAT", "/DYNAMICBASE", "/MAP", "/MAPINFO:EXPORTS", "/OPT:REF,ICF",
                  "/INTEGRITYCHECK", "/MANIFEST:NO"]


def expected_imports():
    """(dll, symbol) -> who uses it, from ci/windows-check/expected-imports.txt."""
    out = {}
    for n, line in enumerate(EXPECTED_IMPORTS.read_text().splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        m = re.match(r"^(\S+)!(\S+)\s+(.+)$", line)
        if not m:
            raise Setup(f"{EXPECTED_IMPORTS}:{n}: want `dll!symbol  who uses it`, got {line!r}")
        if m.group(1).lower() not in ("ntoskrnl.exe", "wdfldr.sys"):
            raise Setup(f"{EXPECTED_IMPORTS}:{n}: only ntoskrnl.exe and WDFLDR.SYS exports belong in the list, "
                        f"not {m.group(1)}")
        if m.group(1).lower() == "wdfldr.sys" and m.group(2) not in WDFLDR_EXPORTS:
            raise Setup(f"{EXPECTED_IMPORTS}:{n}: WDFLDR.SYS!{m.group(2)} is not a loader export the "
                        f"stand-in binds through ({', '.join(WDFLDR_EXPORTS)})")
        out[(m.group(1).lower(), m.group(2))] = m.group(3)
    return out


def wdf_function_count(proj):
    """WdfFunctionTableNumEntries of the bindings the driver is built against (wdk-sys's OUT_DIR)."""
    outs = [p for p in (proj / "target" / TARGET / "debug" / "build").glob("wdk-sys-*/out/types.rs")]
    if not outs:
        raise Setup("no wdk-sys OUT_DIR with types.rs: the check did not build wdk-sys")
    text = max(outs, key=lambda p: p.stat().st_mtime).read_text()
    m = re.search(r"\bWdfFunctionTableNumEntries: Type = (\d+);", text)
    if not m:
        raise Setup("wdk-sys's types.rs has no _WDFFUNCENUM::WdfFunctionTableNumEntries")
    return int(m.group(1))


def coff_imports(readobj, image):
    text = subprocess.run([str(readobj), "--coff-imports", str(image)], capture_output=True, text=True,
                          check=True).stdout
    dll, out = None, set()
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("Name:"):
            dll = line.split(None, 1)[1].lower()
        elif line.startswith("Symbol:") and dll:
            out.add((dll, line.split()[1]))
    return out


def link_smoke(a, proj, env, logs):
    bin_ = LLVM / "bin"
    tools = {t: bin_ / t for t in ("lld-link", "llvm-dlltool", "llvm-lib", "llvm-readobj", "clang")}
    for t, f in tools.items():
        if not f.exists():
            raise Setup(f"--link needs {f}: apt-get install {' '.join(LINK_PACKAGES)} (or --install)")
    mingw_lib = MINGW / "lib"
    count = wdf_function_count(proj)
    # The libraries' directory is named by what goes into them, so a changed stand-in changes
    # the link arguments and cargo relinks (it does not track the linker's inputs itself).
    inputs = hashlib.sha256(repr((WDF_DRIVER_ENTRY_STAND_IN.read_bytes(), count, WDFLDR_EXPORTS,
                                  NTOSKRNL_EXTRA_EXPORTS)).encode()).hexdigest()[:16]
    libs = a.work / f"link-libs-{inputs}"
    for old in a.work.glob("link-libs*"):
        shutil.rmtree(old, ignore_errors=True)
    libs.mkdir(parents=True)
    for n in ("ntoskrnl", "hal", "wmilib"):   # lld-link reads mingw-w64's import archives as they are
        (libs / f"{n}.lib").symlink_to(mingw_lib / f"lib{n}.a")
    (libs / "ntoskrnl_extra.def").write_text("LIBRARY ntoskrnl.exe\nEXPORTS\n" + "".join(f"{e}\n" for e in NTOSKRNL_EXTRA_EXPORTS))
    run = lambda *cmd: subprocess.run([str(c) for c in cmd], check=True, capture_output=True)
    run(tools["llvm-dlltool"], "-m", "i386:x86-64", "-d", libs / "ntoskrnl_extra.def", "-l", libs / "ntoskrnl_extra.lib")
    run(tools["llvm-lib"], "/llvmlibempty", f"/out:{libs / 'BufferOverflowFastFailK.lib'}")   # nothing needs it
    # WDFLDR.SYS's import library: the two loader exports the stand-in's FxDriverEntry calls.
    (libs / "WdfLdr.def").write_text("LIBRARY WDFLDR.SYS\nEXPORTS\n" + "".join(f"{e}\n" for e in WDFLDR_EXPORTS))
    run(tools["llvm-dlltool"], "-m", "i386:x86-64", "-d", libs / "WdfLdr.def", "-l", libs / "WdfLdr.lib")
    run(tools["clang"], f"--target={TARGET}", "-O2", "-std=c11", "-Wall", "-Werror", "-ffreestanding",
        "-fno-builtin", f"-DWDF_FUNCTION_COUNT={count}", "-c", WDF_DRIVER_ENTRY_STAND_IN,
        "-o", libs / "wdf_driver_entry_stand_in.obj")
    run(tools["llvm-lib"], f"/out:{libs / 'WdfDriverEntry.lib'}", libs / "wdf_driver_entry_stand_in.obj")
    link_env = dict(env)
    link_env["CARGO_TARGET_X86_64_PC_WINDOWS_MSVC_LINKER"] = str(tools["lld-link"])
    # The link arguments go to the driver crate alone (`cargo rustc ... -- ARGS`), so a changed
    # stand-in relinks the driver without rebuilding its dependencies.
    link_args = [f"-Clink-arg={x}" for x in [f"/LIBPATH:{libs}", *KMDF_LINK_ARGS, "ntoskrnl_extra.lib"]]
    # -Zbuild-std's compiler_builtins in the dev profile puts its libm helpers in few codegen
    # units, which drags in fma/fmaf (no CRT under /NODEFAULTLIB); one unit per function, as in
    # the prebuilt std, keeps them out. That profile setting differs from the check's, and cargo
    # would rebuild core for each in turn in a shared target directory: the link has its own.
    log = logs / "link.log"
    rc = 0
    with open(log, "w") as fh:
        for package in LINK_PACKAGES_BUILT:
            cmd = [str(CARGO), "rustc", "-p", package, "--lib", "--target", TARGET, "-Zbuild-std=core,alloc",
                   "--target-dir", str(LINK_TARGET_DIR), "--config",
                   "profile.dev.package.compiler_builtins.codegen-units=10000", "--", *link_args]
            say(f"link: {' '.join(cmd[:cmd.index('--')])} -- <KMDF link arguments> (linker lld-link)")
            rc = rc or subprocess.run(["nice", *cmd], cwd=proj, env=link_env, stdout=fh,
                                      stderr=subprocess.STDOUT).returncode
    image = proj / LINK_TARGET_DIR / TARGET / "debug" / "wdfkey_guard.dll"
    problems = []
    result = {"image": str(image), "log": str(log), "exit": rc,
              "wdf_driver_entry": f"stand-in {WDF_DRIVER_ENTRY_STAND_IN.relative_to(HERE.parent)} "
                                  f"(WdfFunctionCount {count}), not the WDK's WdfDriverEntry.lib"}
    if rc != 0 or not image.is_file():
        lines = [l for l in log.read_text(errors="replace").splitlines()
                 if re.search(r"lld-link: error|undefined symbol|^error", l)]
        print("\n".join(lines[:30]))
        problems.append(f"cargo build exited {rc} (log {log})")
        return dict(result, passed=False, problems=problems)
    got = coff_imports(tools["llvm-readobj"], image)
    want = expected_imports()
    headers = subprocess.run([str(tools["llvm-readobj"]), "--file-headers", str(image)], capture_output=True,
                             text=True).stdout
    if "IMAGE_SUBSYSTEM_NATIVE" not in headers:
        problems.append("the image's subsystem is not NATIVE")
    for dll, sym in sorted(got - set(want)):
        problems.append(f"unexpected import {dll}!{sym}")
    for dll, sym in sorted(set(want) - got):
        problems.append(f"{EXPECTED_IMPORTS.name} lists {dll}!{sym}, which the image does not import")
    say(f"link: {image} ({image.stat().st_size} bytes), {len(got)} imports: "
        + ", ".join(f"{d}!{s}" for d, s in sorted(got)))
    if not problems:
        say(f"link smoke test PASSED: subsystem NATIVE, imports exactly the {len(want)} routines of "
            f"{EXPECTED_IMPORTS.name} (ntoskrnl.exe, WDFLDR.SYS); WdfDriverEntry.lib is the project's stand-in "
            f"({WDF_DRIVER_ENTRY_STAND_IN.name}): Windows' loader accepting the image is unproven")
    return dict(result, imports=[f"{d}!{s}" for d, s in sorted(got)], passed=not problems, problems=problems)


# ---------------------------------------------------------------- save bindings


def save_bindings(proj, out, kmdf_desc, kmdf_dir, toolchain):
    outs = [p.parent for p in (proj / "target" / TARGET / "debug" / "build").glob("wdk-sys-*/out/types.rs")]
    if not outs:
        raise Setup("no wdk-sys OUT_DIR with types.rs to save")
    src = max(outs, key=lambda p: (p / "types.rs").stat().st_mtime)
    name = f"wdk-sys-{WDK_SYS_VERSION}-bindings"
    locked = lock_versions((proj / "Cargo.lock").read_text())
    heads = hashlib.sha256(b"".join(p.read_bytes() for p in sorted(kmdf_dir.glob("*.h")))).hexdigest()
    manifest = [
        f"wdk-sys {WDK_SYS_VERSION} bindings (bindgen output, KMDF 1.33, {TARGET}, default features)",
        f"made by ci/windows-check.py --mode headers from {kmdf_desc}",
        f"kmdf headers: sha256 of cat *.h = {heads}",
        toolchain,
        *(f'name = "{n}" version = "{locked[n][0]}"' for n in ("bindgen", "clang-sys", "wdk-build", "wdk-sys")),
        *(f"{hashlib.sha256((src / f).read_bytes()).hexdigest()}  {f}" for f in BINDING_FILES),
    ]
    text = "\n".join(manifest) + "\n"
    out.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as t:
        def add(arcname, data):
            info = tarfile.TarInfo(f"{name}/{arcname}")
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            t.addfile(info, io.BytesIO(data))
        for f in BINDING_FILES:
            add(f, (src / f).read_bytes())
        add("MANIFEST", text.encode())
    xz = lzma.compress(buf.getvalue(), preset=9)
    (out / f"{name}.tar.xz").write_bytes(xz)
    (out / f"{name}.MANIFEST").write_text(text)
    say(f"bindings saved: {out / (name + '.tar.xz')} ({len(xz)} bytes) and its .MANIFEST")


# ---------------------------------------------------------------- main


def main(argv):
    a = parse_args(argv)
    steps = Steps()
    try:
        validate(a)
        a.work.mkdir(parents=True, exist_ok=True)
        logs = a.work / "logs"
        (logs / "self-test").mkdir(parents=True, exist_ok=True)
        lock = open(a.work / ".lock", "w")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say(f"another windows-check is using {a.work}; waiting")
            fcntl.flock(lock, fcntl.LOCK_EX)
        say(f"mode {a.mode}; project {a.project}; work {a.work}")
        a.toolchain = pick_toolchain(a)
        if a.install:
            pk = (BASE_PACKAGES + ([] if a.no_clippy else CLIPPY_PACKAGES) if a.toolchain == "debian" else []) \
                + (HEADERS_PACKAGES if a.mode == "headers" else []) + (LINK_PACKAGES if a.link else [])
            pk = list(dict.fromkeys(pk))
            if pk:
                apt_install(pk, logs / "apt.log")
            if a.toolchain == "rustup":
                rustup_install(a, not a.no_clippy, logs / "rustup.log")
            steps.done("install")
        toolchain = check_toolchain(a, not a.no_clippy)
        say(f"toolchain ({a.toolchain}): {toolchain}, {RUSTC}")
        env = cargo_env()

        # inputs
        crates = a.work / "crates"
        crates.mkdir(exist_ok=True)
        if a.mode == "bindings":
            bdir, btext = bindings_dir(a.bindings, a.work)
            check_bindings_versions(btext, a.project)
            identity = "bindings " + hashlib.sha256(btext.encode()).hexdigest()
            patches = [("wdk-build", crates / "wdk-build"), ("wdk-sys", crates / "wdk-sys")]
        else:
            kmdf, kmdf_desc = kmdf_headers(a, a.work)
            say(f"KMDF 1.33 headers from {kmdf_desc}")
            identity = "headers " + hashlib.sha256(
                b"".join(p.read_bytes() for p in sorted(kmdf.glob("*.h")))
                + inspect.getsource(make_kit).encode()).hexdigest()
            patches = [("wdk-build", crates / "wdk-build")]
        steps.done("inputs")

        # work copy and stand-in crates
        proj = a.work / "proj"
        wb_src, ws_src = registry_sources(a.work, a.project, env)
        stand_in_crate(wb_src, crates / "wdk-build", patch_wdk_build)
        if a.mode == "bindings":
            stand_in_crate(ws_src, crates / "wdk-sys", patch_wdk_sys)
        sync_copy(a.project, proj, patches)
        steps.done("work copy + stand-in crates")

        # the WDK stand-in
        if a.mode == "headers":
            kit = a.work / "kit"
            stamp = a.work / "kit.stamp"
            if not stamp.is_file() or stamp.read_text() != identity:
                make_kit(kit, kmdf)
                stamp.write_text(identity)
            res = sorted((LLVM / "lib" / "clang").iterdir())[-1]
            env.update(
                WDKContentRoot=str(kit), Version_Number=SDK_VERSION, LIBCLANG_PATH=str(LLVM / "lib"),
                BINDGEN_EXTRA_CLANG_ARGS=f"-resource-dir={res} -include {kit}/pre.h "
                                         "-Wno-error=implicit-function-declaration",
                CC_x86_64_pc_windows_msvc=str(LLVM / "bin/clang"),
                AR_x86_64_pc_windows_msvc=str(LLVM / "bin/llvm-lib"),
                CFLAGS_x86_64_pc_windows_msvc=f"-include {kit}/pre.h -fms-compatibility -fms-extensions "
                                              "-Wno-error=implicit-function-declaration -w")
            env.pop("WDFKEY_WINCHECK_BINDINGS", None)
        else:
            empty = a.work / "kit-empty"   # wdk-build's Config only needs WDKContentRoot to exist
            empty.mkdir(exist_ok=True)
            env.update(WDKContentRoot=str(empty), WDFKEY_WINCHECK_BINDINGS=str(bdir))
        # wdk-macros caches the WDF function table it parsed from types.rs in its `scratch`
        # build directory; drop it when the bindings change so it never describes other ones.
        seen = proj / "target" / "windows-check" / "bindings.identity"
        if not seen.is_file() or seen.read_text() != identity:
            for d in (proj / "target").glob("debug/build/scratch-*/out/wdk_macros_ast_fragments"):
                shutil.rmtree(d, ignore_errors=True)
            seen.parent.mkdir(parents=True, exist_ok=True)
            seen.write_text(identity)
        steps.done("WDK stand-in")

        # the checks
        results = run_checks(a, proj, env, logs)
        for st in results:
            steps.rows.append((f"cargo {st['step']}", st["seconds"]))
        steps.last = time.monotonic()
        diags = merge(results)
        show(results, diags)
        errors = sum(d["level"] == "error" for d in diags)
        warnings = len(diags) - errors
        broken = incomplete(results)
        report = {
            "tool": "ci/windows-check.py", "target": TARGET, "mode": a.mode, "packages": PACKAGES,
            "toolchain": toolchain, "toolchain_kind": a.toolchain, "project": str(a.project), "work_copy": str(proj),
            "steps": [{k: st[k] for k in ("step", "command", "exit", "seconds", "log")} for st in results],
            "diagnostics": [{k: v for k, v in d.items() if k != "rendered"} for d in diags],
            "outside_project": {st["step"]: {package_label(k): v for k, v in st["outside_project"].items()}
                                for st in results},
            "result": "incomplete" if broken else ("findings" if diags else "clean"),
        }
        if a.save_bindings and not diags and not broken:
            save_bindings(proj, a.save_bindings.resolve(), kmdf_desc, kmdf, toolchain)
            steps.done("save bindings")
        elif a.save_bindings:
            say("not saving bindings: the check was not clean")
        if a.link and (diags or broken):
            say("no link smoke test: the check was not clean")
        elif a.link:
            report["link"] = link_result = link_smoke(a, proj, env, logs)
            steps.done("build + link smoke test")
            if not link_result["passed"]:
                say("link smoke test FAILED: " + "; ".join(link_result["problems"]))
        if a.self_test and not broken:
            report["self_test"] = st_result = self_test(a, proj, env, logs, diags)
            steps.done("self-test")
            if st_result["passed"]:
                say(f"self-test PASSED: the planted E0308 and unused import were reported at "
                    f"{SELF_TEST_FILE}:{st_result['expected']['E0308']} and "
                    f":{st_result['expected']['unused_imports']}, cargo check exited non-zero")
            else:
                say("self-test FAILED: " + "; ".join(st_result["problems"]))
        a.report.parent.mkdir(parents=True, exist_ok=True)
        a.report.write_text(json.dumps(report, indent=2) + "\n")

        print("== windows-check timings (wall clock; "
              f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at the end)")
        for name, secs in steps.rows:
            print(f"  {name:<30} {secs:7.1f} s")
        print(f"  {'total':<30} {steps.total():7.1f} s")
        scope = f"{' and '.join(PACKAGES)} for {TARGET} (cargo check{'' if a.no_clippy else ', clippy -D warnings'}; {a.mode} mode)"
        if broken:
            say(f"INCOMPLETE: {', '.join(st['step'] for st in broken)} did not finish; nothing is claimed about the code")
            return 2
        if diags:
            say(f"FAILED: {errors} error(s), {warnings} warning(s) in the project's code — {scope}; report {a.report}")
            return 1
        say(f"CLEAN: 0 errors, 0 warnings in the project's code — {scope}; report {a.report}")
        if a.self_test and not report["self_test"]["passed"]:
            say("FAILED: the self-test did not see the planted errors where they are (see above)")
            return 1
        if a.link and not report["link"]["passed"]:
            say("FAILED: the link smoke test (see above)")
            return 1
        return 0
    except Setup as e:
        print(f"windows-check: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
